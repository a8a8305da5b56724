package org.anf.resolver;

import org.anf.proto.v1.LookupResult;
import org.jspecify.annotations.Nullable;

/**
 * Resolves a name (an alias, or a UID in its {@code uid:} form) to a typed result: EXACT,
 * REDIRECTED, PARTIAL, NOT_FOUND, REVOKED or DNS_FALLBACK, with its freshness and the path walked.
 * Implementations never throw for an answer the fabric gives (not found is a result); they throw
 * {@link org.anf.lineage.error.AnfException} for bad input (ALIAS_SYNTAX, INVALID_ARGUMENT) and
 * when nothing can be answered at all (UNAVAILABLE, with nothing cached).
 */
public interface NameResolver {
  LookupResult resolve(String name, ResolveOptions options);

  /**
   * The answer if it can be given from memory alone (never waits on the network), else null. A
   * server answers hits on its I/O thread and hands only the rest to threads that may wait.
   */
  default @Nullable LookupResult cachedOrNull(String name, ResolveOptions options) {
    return null;
  }

  /**
   * A number that moves whenever an answer from memory may change before it expires (an
   * invalidation, a revocation), or -1 when this resolver cannot say. What is built from answers
   * given under one generation (a rendered DNS reply) may be kept, for at most its TTL, only until
   * the generation moves.
   */
  default long generation() {
    return -1;
  }
}
