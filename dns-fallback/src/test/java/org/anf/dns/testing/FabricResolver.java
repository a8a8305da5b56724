package org.anf.dns.testing;

import org.anf.lineage.alias.Name;
import org.anf.lineage.testing.MemoryFabric;
import org.anf.proto.v1.LookupResult;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;

/**
 * A {@link NameResolver} over an in-memory fabric: the lineage core's real lookup and walk, with no
 * network in between. {@link MemoryFabric} is not thread-safe and the gateway resolves from many
 * threads, so every call (and every mutation, through {@link TestFabric}) holds this lock.
 */
public final class FabricResolver implements NameResolver {
  private final MemoryFabric fabric;

  public FabricResolver(MemoryFabric fabric) {
    this.fabric = fabric;
  }

  @Override
  public synchronized LookupResult resolve(String name, ResolveOptions options) {
    Name n = Name.parse(name);
    if (n instanceof Name.UidName u) {
      return fabric.resolve(u.uid());
    }
    return fabric.resolve(((Name.AliasName) n).alias());
  }
}
