package org.anf.dns.testing;

import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.LookupResult;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;

/**
 * Fault injection around a real resolver: {@code svc@boom} throws as a buggy resolver would, {@code
 * svc@down} fails as an unreachable fabric does; every other name goes to the real one.
 */
public final class FaultyResolver implements NameResolver {
  public static final String BUG = "svc@boom";
  public static final String UNAVAILABLE = "svc@down";

  private final NameResolver real;

  public FaultyResolver(NameResolver real) {
    this.real = real;
  }

  @Override
  public LookupResult resolve(String name, ResolveOptions options) {
    if (name.equals(BUG)) {
      throw new IllegalStateException("injected resolver bug for " + name);
    }
    if (name.equals(UNAVAILABLE)) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "injected: no anchor of svc reachable");
    }
    return real.resolve(name, options);
  }
}
