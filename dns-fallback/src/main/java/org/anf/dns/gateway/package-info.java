/** The DNS gateway: UDP and TCP listeners that answer through the handler chain. */
@NullMarked
package org.anf.dns.gateway;

import org.jspecify.annotations.NullMarked;
