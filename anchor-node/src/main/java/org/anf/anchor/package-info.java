@NullMarked
package org.anf.anchor;

import org.jspecify.annotations.NullMarked;
