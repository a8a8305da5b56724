package org.anf.dns.handler;

import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;
import org.jspecify.annotations.Nullable;

/**
 * The gateway's handler order, fixed here and only here (CoreDNS's {@code plugin.cfg}):
 *
 * <ol>
 *   <li>{@link AnfZoneHandler}: names under the anf zone, answered from the fabric;
 *   <li>{@link ForwardHandler} (when a forwarder is configured): names in its allowed zones;
 *   <li>{@link RefuseHandler}: everything else is REFUSED.
 * </ol>
 */
public final class HandlerChain {
  private HandlerChain() {}

  public static DnsHandler standard(
      AnfZone zone, NameResolver resolver, ResolveOptions options, @Nullable Forwarder forwarder) {
    DnsHandler tail = new RefuseHandler();
    if (forwarder != null) {
      tail = new ForwardHandler(forwarder, tail);
    }
    return new AnfZoneHandler(zone, resolver, options, tail);
  }
}
