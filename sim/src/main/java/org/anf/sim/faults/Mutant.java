package org.anf.sim.faults;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.SubmitResponse;
import org.jspecify.annotations.Nullable;

/**
 * Deliberate bugs planted in the anchors (the code under test), to show that the checkers catch
 * them. Each is a gRPC interceptor on every anchor's own services, installed through {@code
 * AnchorNode.Hooks}; the simulated clients and resolvers stay as they are and observe a faulty
 * fabric.
 */
public enum Mutant {
  NONE("the anchors as they should be"),
  ACK_BEFORE_COMMIT(
      "anchors acknowledge a Submit as soon as it arrives, before the mutation commits"),
  SKIP_REDIRECT("anchors answer a lookup that meets a redirect NOT_FOUND instead of following it"),
  UNMARK_STALE("anchors drop the stale mark from their lookup answers");

  private static final String SUBMIT = MutationServiceGrpc.getSubmitMethod().getFullMethodName();
  private static final String LOOKUP = AnchorServiceGrpc.getLookupMethod().getFullMethodName();
  private static final Metadata.Key<String> FORWARDED =
      Metadata.Key.of("anf-forwarded", Metadata.ASCII_STRING_MARSHALLER);

  private final String description;

  Mutant(String description) {
    this.description = description;
  }

  public String description() {
    return description;
  }

  public String flag() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static Mutant parse(String s) {
    for (Mutant m : values()) {
      if (m.flag().equals(s) || m.name().equalsIgnoreCase(s)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown mutant '" + s + "' (none, ack-before-commit, skip-redirect, unmark-stale)");
  }

  /** The bug as an interceptor on an anchor's services; null for {@link #NONE}. */
  public @Nullable ServerInterceptor interceptor() {
    return switch (this) {
      case NONE -> null;
      case ACK_BEFORE_COMMIT -> new AckBeforeCommit();
      case SKIP_REDIRECT, UNMARK_STALE -> new LookupAnswers(this);
    };
  }

  /**
   * Replies OK to a client's Submit the moment its request is complete, then lets the anchor handle
   * it as usual and swallows the real reply: whatever becomes of the mutation, the client was told
   * it committed. Calls forwarded between anchors are left alone (the bug is at the edge).
   */
  private static final class AckBeforeCommit implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      if (!call.getMethodDescriptor().getFullMethodName().equals(SUBMIT)
          || headers.containsKey(FORWARDED)) {
        return next.startCall(call, headers);
      }
      EarlyReply<Q, R> early = new EarlyReply<>(call);
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
          next.startCall(early, headers)) {
        @Override
        public void onHalfClose() {
          early.ackNow();
          super.onHalfClose();
        }
      };
    }
  }

  /** The client's side of a Submit, answered early; the anchor's own reply goes nowhere. */
  private static final class EarlyReply<Q, R>
      extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private boolean acked;

    EarlyReply(ServerCall<Q, R> call) {
      super(call);
    }

    @SuppressWarnings("unchecked") // R is SubmitResponse: the interceptor only wraps Submit
    synchronized void ackNow() {
      if (acked) {
        return;
      }
      acked = true;
      super.sendHeaders(new Metadata());
      super.sendMessage((R) SubmitResponse.newBuilder().setDuplicate(false).build());
      super.close(Status.OK, new Metadata());
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!acked) {
        super.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (!acked) {
        super.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!acked) {
        super.close(status, trailers);
      }
    }
  }

  /** Rewrites every Lookup answer on its way out: drops redirects, or the stale mark. */
  private static final class LookupAnswers implements ServerInterceptor {
    private final Mutant mutant;

    LookupAnswers(Mutant mutant) {
      this.mutant = mutant;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      if (!call.getMethodDescriptor().getFullMethodName().equals(LOOKUP)) {
        return next.startCall(call, headers);
      }
      return next.startCall(
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            @SuppressWarnings("unchecked") // R is LookupResult: only Lookup is wrapped
            public void sendMessage(R message) {
              super.sendMessage((R) rewrite((LookupResult) message));
            }
          },
          headers);
    }

    private LookupResult rewrite(LookupResult r) {
      if (mutant == UNMARK_STALE) {
        if (!r.getFreshness().getStale()) {
          return r;
        }
        LookupResult.Builder b = r.toBuilder();
        b.getFreshnessBuilder().setStale(false);
        return b.build();
      }
      boolean redirected =
          r.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED
              || (r.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                  && r.getRedirectChainCount() > 0);
      if (!redirected) {
        return r;
      }
      return r.toBuilder()
          .setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
          .clearUid()
          .clearRecord()
          .clearRedirectTo()
          .clearRedirectChain()
          .clearCanonicalAlias()
          .setDetail("mutant skip-redirect: the redirect was not followed")
          .build();
    }
  }
}
