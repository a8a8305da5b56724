@NullMarked
package org.anf.anchor.group;

import org.jspecify.annotations.NullMarked;
