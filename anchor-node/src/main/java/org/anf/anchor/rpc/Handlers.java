package org.anf.anchor.rpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.resolver.transport.GrpcErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The edge of every RPC: one place that turns outcomes and failures into gRPC replies. */
final class Handlers {
  private static final Logger LOG = LoggerFactory.getLogger(Handlers.class);

  private Handlers() {}

  /** Runs a unary call; any failure becomes a status, never an escaped exception. */
  static <T> void unary(String method, StreamObserver<T> out, Supplier<T> call) {
    T reply;
    try {
      reply = call.get();
    } catch (Throwable t) {
      out.onError(status(method, t));
      return;
    }
    out.onNext(reply);
    out.onCompleted();
  }

  /** Runs an asynchronous unary call. */
  static <T> void async(String method, StreamObserver<T> out, Supplier<CompletableFuture<T>> call) {
    CompletableFuture<T> f;
    try {
      f = call.get();
    } catch (Throwable t) {
      out.onError(status(method, t));
      return;
    }
    var unused =
        f.whenComplete(
            (reply, error) -> {
              if (error != null) {
                out.onError(status(method, error));
              } else {
                out.onNext(reply);
                out.onCompleted();
              }
            });
  }

  static StatusRuntimeException status(String method, Throwable t) {
    Throwable e = unwrap(t);
    if (e instanceof StatusRuntimeException s) {
      return s;
    }
    if (e instanceof AnfException a) {
      if (!a.code().isCallerError()) {
        LOG.warn("{}: {}", method, a.getMessage());
      }
      return GrpcErrors.toStatus(a, null, a.code() == ErrorCode.UNAVAILABLE ? 1000 : 0);
    }
    LOG.error("{}: internal error", method, e);
    return Status.INTERNAL.withDescription(method + ": internal error: " + e).asRuntimeException();
  }

  static Throwable unwrap(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  static <T> T await(CompletableFuture<T> f, long timeoutMs, String what) {
    try {
      return f.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, what + ": interrupted");
    } catch (TimeoutException e) {
      throw new AnfException(ErrorCode.TIMEOUT, what + ": no answer within " + timeoutMs + " ms");
    } catch (ExecutionException e) {
      Throwable c = unwrap(e);
      if (c instanceof AnfException a) {
        throw a;
      }
      throw new AnfException(ErrorCode.UNAVAILABLE, what + ": " + c.getMessage(), c);
    }
  }
}
