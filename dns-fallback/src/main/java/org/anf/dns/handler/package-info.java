/** The DNS handler chain (CoreDNS model): one handler per concern, order fixed in HandlerChain. */
@NullMarked
package org.anf.dns.handler;

import org.jspecify.annotations.NullMarked;
