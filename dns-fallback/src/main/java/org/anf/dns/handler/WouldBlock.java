package org.anf.dns.handler;

import org.anf.proto.v1.LookupResult;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;

/**
 * Thrown by the gateway's fast-path handlers when a query cannot be answered from memory (a cache
 * miss, a name for legacy DNS): the server then answers it on a thread that may wait. It carries no
 * stack trace, which makes it cheap: it is control flow on the hot path, not an error.
 */
public final class WouldBlock extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private WouldBlock() {
    super("the answer needs the network", null, false, false);
  }

  /** A resolver that answers only from {@code r}'s memory and throws this otherwise. */
  public static NameResolver cacheOnly(NameResolver r) {
    return new NameResolver() {
      @Override
      public LookupResult resolve(String name, ResolveOptions options) {
        LookupResult hit = r.cachedOrNull(name, options);
        if (hit == null) {
          throw new WouldBlock();
        }
        return hit;
      }

      @Override
      public @Nullable LookupResult cachedOrNull(String name, ResolveOptions options) {
        return r.cachedOrNull(name, options);
      }
    };
  }

  /** A forwarder with {@code f}'s zones that throws this instead of sending anything. */
  public static Forwarder deferring(Forwarder f) {
    return new Forwarder() {
      @Override
      public boolean allows(Name name) {
        return f.allows(name);
      }

      @Override
      public Message forward(Message query) {
        throw new WouldBlock();
      }
    };
  }
}
