package org.anf.lineage.error;

/**
 * anf's error catalogue. Caller errors say what the request got wrong and retrying it unchanged
 * will fail again; system errors are about the fabric's condition and a retry may succeed. The
 * mapping to gRPC status codes lives in one place at the edge (resolver's {@code GrpcErrors}).
 */
public enum ErrorCode {
  /** An alias or UID that does not parse; the exception carries the position. */
  ALIAS_SYNTAX(true),
  /** A malformed field, a value out of range, a missing required field. */
  INVALID_ARGUMENT(true),
  /** A request or a mutation above its size limit. */
  TOO_LARGE(true),
  /** A mutation with no signature or no public key. */
  MISSING_SIGNATURE(true),
  /** A signature that does not verify, or a key that is not a valid Ed25519 point. */
  BAD_SIGNATURE(true),
  /** A valid signature by a key that does not hold the right in the scope's policy. */
  NOT_AUTHORIZED(true),
  /** The scope is not hosted here, or not known. */
  UNKNOWN_SCOPE(true),
  /** The alias, UID or mutation asked for does not exist. */
  NOT_FOUND(true),
  /** The thing to create exists already. */
  ALREADY_EXISTS(true),
  /** The scope's state or policy does not allow the mutation now. */
  PRECONDITION_FAILED(true),
  /** The entries are locked by an open cross-scope transaction. */
  LOCKED(true),
  /** History asked for has been compacted away. */
  OUT_OF_RANGE(true),
  /** No quorum, the node is stopping, or the group is not reachable. */
  UNAVAILABLE(false),
  /** The request did not complete in time. */
  TIMEOUT(false),
  /** A bug or a broken invariant. */
  INTERNAL(false),
  /** Stored state fails its own checks. */
  CORRUPTION(false);

  private final boolean callerError;

  ErrorCode(boolean callerError) {
    this.callerError = callerError;
  }

  /** True when the request itself is at fault, false when the fabric is. */
  public boolean isCallerError() {
    return callerError;
  }
}
