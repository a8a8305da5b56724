@NullMarked
package org.anf.anchor.store;

import org.jspecify.annotations.NullMarked;
