package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.GetLineageResponse;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SnapshotRequest;
import org.anf.proto.v1.WatchEvent;
import org.anf.proto.v1.WatchRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every anchor serves besides its own API: gRPC health and reflection, a Prometheus endpoint
 * with the node's five metric families, and lineage reads once history was compacted (Watch from a
 * compacted position is OUT_OF_RANGE; GetLineage without a position returns what is kept).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServicesIT {
  static final int RETAIN = 5;
  static final int BINDS = 20;
  TestCluster c;
  long root;
  long svc;

  @BeforeAll
  void setUp() throws Exception {
    c = new TestCluster(3, TestCluster.Options.DEFAULT.withLineageRetained(RETAIN).withMetrics());
    root = c.createRoot(c.all());
    svc = c.createScope(root, "svc", c.all());
    AnchorClusterIT.bind(c, 0, svc, "svc@item", BINDS);
    AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
  }

  @AfterAll
  void tearDown() throws Exception {
    c.close();
  }

  @Test
  void healthSaysServing() {
    for (int n = 0; n < 3; n++) {
      HealthCheckResponse r =
          HealthGrpc.newBlockingStub(c.channel(n))
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance());
      assertThat(r.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }
  }

  @Test
  void reflectionListsAndDescribesTheServices() throws Exception {
    List<ServerReflectionResponse> got = new ArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(c.channel(1))
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse r) {
                    synchronized (got) {
                      got.add(r);
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(null);
                  }
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
    requests.onNext(
        ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("anf.v1.AnchorService")
            .build());
    requests.onCompleted();
    done.get(10, TimeUnit.SECONDS);
    assertThat(got).hasSize(2);
    assertThat(got.get(0).getListServicesResponse().getServiceList())
        .extracting(ServiceResponse::getName)
        .contains(
            "anf.v1.AnchorService",
            "anf.v1.MutationService",
            "anf.v1.AdminService",
            "grpc.health.v1.Health");
    assertThat(got.get(1).getFileDescriptorResponse().getFileDescriptorProtoCount()).isPositive();
  }

  @Test
  void prometheusEndpointServesTheFiveFamilies() throws Exception {
    c.anchors(2)
        .lookup(
            LookupRequest.newBuilder()
                .setScopeId(svc)
                .setAlias(Alias.parse("svc@item/n1").toProto())
                .build());
    String address = c.node(2).metricsAddress();
    assertThat(address).isNotEmpty().doesNotEndWith(":0");
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://" + address + "/metrics"))
                    .timeout(java.time.Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    String body = r.body();
    // Each family with its node tag and a value that says it measured something.
    assertThat(value(body, "anf_commits_total")).isGreaterThanOrEqualTo(BINDS);
    assertThat(value(body, "anf_apply_latency_seconds_count")).isGreaterThanOrEqualTo(BINDS);
    assertThat(value(body, "anf_lookup_latency_seconds_count")).isGreaterThanOrEqualTo(1);
    assertThat(value(body, "anf_leader_changes_total")).isGreaterThanOrEqualTo(2);
    assertThat(value(body, "anf_groups_hosted")).isEqualTo(2);
  }

  /** The value of a series of this family tagged with node a3. */
  private static double value(String scrape, String series) {
    Matcher m =
        Pattern.compile("^" + series + "\\{[^}]*node=\"a3\"[^}]*\\} (\\S+)$", Pattern.MULTILINE)
            .matcher(scrape);
    assertThat(m.find()).as(series + " in\n" + scrape).isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void compactedLineageIsOutOfRangeForWatchAndSkippedByGetLineage() throws Exception {
    // A snapshot compacts lineage on the anchor that takes it.
    c.admin(0).snapshot(SnapshotRequest.newBuilder().setScopeId(svc).build());
    long head = 1 + BINDS;
    long first = head - RETAIN + 1;

    assertThatThrownBy(
            () ->
                c.anchors(0)
                    .watch(WatchRequest.newBuilder().setScopeId(svc).setFromSeq(1).build())
                    .hasNext())
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
              assertThat(e.getStatus().getDescription())
                  .contains("below seq " + first + " were compacted on anchor a1")
                  .contains("watch from seq " + first);
            });
    assertThatThrownBy(
            () ->
                c.anchors(0)
                    .getLineage(
                        GetLineageRequest.newBuilder().setScopeId(svc).setFromSeq(2).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE));

    // Without a position: the entries still kept, up to the head, hash-linked.
    GetLineageResponse kept =
        c.anchors(0).getLineage(GetLineageRequest.newBuilder().setScopeId(svc).build());
    assertThat(kept.getHeadSeq()).isEqualTo(head);
    assertThat(kept.getEntriesList()).extracting(LineageEntry::getSeq).first().isEqualTo(first);
    assertThat(kept.getEntriesList()).hasSize(RETAIN);
    var report =
        ChainVerifier.verify(
            kept.getEntriesList(),
            new ChainVerifier.Options()
                .startSeq(first)
                .head(new ChainVerifier.Head(kept.getHeadSeq(), kept.getHeadHash())));
    assertThat(report.ok()).as(report.toString()).isTrue();

    // Watch from the first kept position: the backfill, then what commits next.
    Context.CancellableContext call = Context.current().withCancellation();
    try {
      List<Long> seen =
          call.call(
              () -> {
                Iterator<WatchEvent> it =
                    c.anchors(0)
                        .watch(WatchRequest.newBuilder().setScopeId(svc).setFromSeq(first).build());
                List<Long> seqs = new ArrayList<>();
                WatchEvent ev;
                while (seqs.size() < RETAIN) {
                  ev = it.next();
                  assertThat(ev.hasFreshness()).as("every event carries freshness").isTrue();
                  if (ev.hasEntry()) {
                    seqs.add(ev.getEntry().getSeq());
                  }
                }
                // After the backfill, a heartbeat: no entry, the anchor's head and freshness.
                ev = it.next();
                assertThat(ev.hasEntry()).isFalse();
                assertThat(ev.getFreshness().getLineageSeq()).isEqualTo(head);
                c.submit(
                    1,
                    c.factory.bind(
                        svc, Alias.parse("svc@watched"), ObjectRecord.getDefaultInstance()));
                do {
                  ev = it.next();
                } while (!ev.hasEntry());
                seqs.add(ev.getEntry().getSeq());
                return seqs;
              });
      assertThat(seen).containsExactly(first, first + 1, first + 2, first + 3, head, head + 1);
    } finally {
      call.cancel(null);
    }
    // Anchors that took no snapshot keep their whole history.
    assertThat(
            c.anchors(1)
                .getLineage(GetLineageRequest.newBuilder().setScopeId(svc).build())
                .getEntries(0)
                .getSeq())
        .isEqualTo(1);
  }
}
