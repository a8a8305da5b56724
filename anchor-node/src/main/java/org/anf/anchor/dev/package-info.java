@NullMarked
package org.anf.anchor.dev;

import org.jspecify.annotations.NullMarked;
