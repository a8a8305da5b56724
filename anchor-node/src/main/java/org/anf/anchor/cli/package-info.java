@NullMarked
package org.anf.anchor.cli;

import org.jspecify.annotations.NullMarked;
