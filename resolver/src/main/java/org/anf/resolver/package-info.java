@NullMarked
package org.anf.resolver;

import org.jspecify.annotations.NullMarked;
