/** The resolver's answer cache and its file. */
@NullMarked
package org.anf.resolver.cache;

import org.jspecify.annotations.NullMarked;
