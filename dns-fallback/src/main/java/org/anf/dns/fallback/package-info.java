/** Legacy DNS: the {@link org.anf.resolver.Fallback} implementation and the forwarder. */
@NullMarked
package org.anf.dns.fallback;

import org.jspecify.annotations.NullMarked;
