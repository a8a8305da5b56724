package org.anf.resolver.testing;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Freshness;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.WatchEvent;
import org.anf.proto.v1.WatchRequest;

/**
 * A real gRPC server on a loopback port implementing AnchorService for one scope, for fault
 * injection the real fabric cannot be made to do on cue: lookups that fail while the Watch stream
 * stays up, a Watch stream that is connected but silent, entries sent when the test says.
 */
public final class ScriptedAnchor implements AutoCloseable {
  /** The scope every lookup lands in. */
  public final long scope;

  public final AtomicInteger lookups = new AtomicInteger();
  public final AtomicInteger watches = new AtomicInteger();

  /** Lookups answer UNAVAILABLE while set. */
  public volatile boolean failLookups;

  /** The lineage position lookups report. */
  public volatile long head = 1;

  private final List<StreamObserver<WatchEvent>> streams = new CopyOnWriteArrayList<>();
  private final Server server;

  public ScriptedAnchor(long scope) throws IOException {
    this.scope = scope;
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .addService(new Service())
            .build()
            .start();
  }

  public String address() {
    return "127.0.0.1:" + server.getPort();
  }

  /** Sends a lineage entry at {@code seq} on every open Watch stream. */
  public void commit(long seq) {
    head = Math.max(head, seq);
    for (StreamObserver<WatchEvent> s : streams) {
      synchronized (s) {
        s.onNext(
            WatchEvent.newBuilder()
                .setEntry(LineageEntry.newBuilder().setScopeId(scope).setSeq(seq))
                .build());
      }
    }
  }

  private final class Service extends AnchorServiceGrpc.AnchorServiceImplBase {
    @Override
    public void lookup(LookupRequest req, StreamObserver<LookupResult> out) {
      lookups.incrementAndGet();
      if (failLookups) {
        out.onError(Status.UNAVAILABLE.withDescription("injected: no leader").asRuntimeException());
        return;
      }
      out.onNext(
          LookupResult.newBuilder()
              .setStatus(LookupStatus.LOOKUP_STATUS_EXACT)
              .setScopeId(scope)
              .setAlias(req.getAlias())
              .setCanonicalAlias(req.getAlias())
              .setAnchorId("scripted")
              .setTtlSeconds(60)
              .setFreshness(Freshness.newBuilder().setLineageSeq(head))
              .build());
      out.onCompleted();
    }

    @Override
    public void watch(WatchRequest req, StreamObserver<WatchEvent> out) {
      watches.incrementAndGet();
      streams.add(out);
      if (req.getFromSeq() > 0) {
        // As an anchor does: the entry asked for first, then each new one.
        synchronized (out) {
          out.onNext(
              WatchEvent.newBuilder()
                  .setEntry(LineageEntry.newBuilder().setScopeId(scope).setSeq(req.getFromSeq()))
                  .build());
        }
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
