package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.anf.anchor.cli.Anf;
import org.anf.anchor.config.AnchorConfig;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** anchor.yaml: defaults, every setting read, and a one-line error naming what is wrong. */
class AnchorConfigTest {
  static final String MINIMAL =
      "node_id: a1\ndata_dir: data\nlisten: 127.0.0.1:7400\nraft_listen: 127.0.0.1:7500\n";

  static AnchorConfig parse(String yaml) {
    return AnchorConfig.parse(yaml, Path.of("/srv/anf"), "anchor.yaml");
  }

  static void refused(String yaml, String... parts) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOfSatisfying(
            AnfException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
              assertThat(e.getMessage()).startsWith("anchor.yaml: ").doesNotContain("\n");
              for (String p : parts) {
                assertThat(e.getMessage()).contains(p);
              }
            });
  }

  @Test
  void defaults() {
    AnchorConfig c = parse(MINIMAL);
    assertThat(c.nodeId()).isEqualTo("a1");
    assertThat(c.dataDir()).isEqualTo(Path.of("/srv/anf/data"));
    assertThat(c.metricsPort()).isEqualTo(9400);
    assertThat(c.peers()).extracting(AnchorConfig.Peer::id).containsExactly("a1");
    assertThat(c.tls()).isNull();
    assertThat(c.electionTimeoutMin()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.electionTimeoutMax()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.snapshotEveryEntries()).isEqualTo(10_000);
    assertThat(c.segmentSizeBytes()).isEqualTo(8L << 20);
    assertThat(c.purgeGap()).isEqualTo(1024);
    assertThat(c.purgeUpToSnapshotIndex()).isTrue();
    assertThat(c.lineageRetainEntries()).isZero();
    assertThat(c.boundedStalenessDefault()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void everySettingIsRead() {
    AnchorConfig c =
        parse(
            MINIMAL
                + "metrics_port: 0\n"
                + "peers:\n"
                + "  - {id: a1, address: 127.0.0.1:7400, raft_address: 127.0.0.1:7500}\n"
                + "  - {id: a2, address: '[::1]:7401', raft_address: 127.0.0.1:7501}\n"
                + "tls: {cert: a1.pem, key: a1.key.pem, ca: ca.pem}\n"
                + "raft:\n"
                + "  election_timeout_min_ms: 300\n"
                + "  election_timeout_max_ms: 600\n"
                + "  snapshot_every_entries: 0\n"
                + "  segment_size_bytes: 65536\n"
                + "  purge_gap: 16\n"
                + "  purge_up_to_snapshot_index: false\n"
                + "lineage_retain_entries: 100\n"
                + "bounded_staleness_default_ms: 250\n");
    assertThat(c.metricsPort()).isZero();
    assertThat(c.peers()).hasSize(2);
    assertThat(c.peers().get(1).address()).isEqualTo(new AnchorConfig.HostPort("::1", 7401));
    assertThat(c.tls())
        .isEqualTo(
            new AnchorConfig.Tls(
                Path.of("/srv/anf/a1.pem"),
                Path.of("/srv/anf/a1.key.pem"),
                Path.of("/srv/anf/ca.pem")));
    assertThat(c.electionTimeoutMin()).isEqualTo(Duration.ofMillis(300));
    assertThat(c.snapshotEveryEntries()).isZero();
    assertThat(c.segmentSizeBytes()).isEqualTo(65536);
    assertThat(c.purgeGap()).isEqualTo(16);
    assertThat(c.purgeUpToSnapshotIndex()).isFalse();
    assertThat(c.lineageRetainEntries()).isEqualTo(100);
    assertThat(c.boundedStalenessDefault()).isEqualTo(Duration.ofMillis(250));
    // Ratis gets them.
    var p = AnchorNode.raftProperties(c);
    assertThat(org.apache.ratis.server.RaftServerConfigKeys.Log.purgeGap(p)).isEqualTo(16);
    assertThat(org.apache.ratis.server.RaftServerConfigKeys.Log.purgeUptoSnapshotIndex(p))
        .isFalse();
  }

  @Test
  void unknownKeysAreRefusedByNameWithTheKnownOnes() {
    refused(
        MINIMAL + "metric_port: 9401\n",
        "anchor.yaml: metric_port: unknown key (known: node_id, data_dir,",
        "metrics_port");
    refused(
        MINIMAL + "raft:\n  purge_gapp: 16\n",
        "raft.purge_gapp: unknown key",
        "purge_gap, purge_up_to_snapshot_index");
    refused(MINIMAL + "tls: {cert: a, key: b, ca: c, crl: d}\n", "tls.crl: unknown key");
    refused(
        MINIMAL + "peers:\n  - {id: a2, address: h:1, raft_adress: h:2}\n",
        "peers[0].raft_adress: unknown key",
        "(known: id, address, raft_address)");
  }

  @Test
  void badValuesNameTheKey() {
    refused("node_id: a1\n", "data_dir: required");
    refused(MINIMAL.replace("127.0.0.1:7400", "localhost"), "listen: expected host:port");
    refused(MINIMAL.replace("7500", "70000"), "raft_listen: port 70000 is outside 0..65535");
    refused(MINIMAL + "metrics_port: http\n", "metrics_port: expected a number");
    refused(MINIMAL + "raft: fast\n", "raft: expected a mapping");
    refused(MINIMAL + "raft:\n  purge_gap: 0\n", "raft.purge_gap: 1 to");
    refused(
        MINIMAL + "raft:\n  purge_up_to_snapshot_index: sometimes\n",
        "raft.purge_up_to_snapshot_index: expected true or false");
    refused(
        MINIMAL + "raft:\n  election_timeout_min_ms: 500\n  election_timeout_max_ms: 500\n",
        "election_timeout_max_ms must be above");
    refused(MINIMAL + "raft:\n  segment_size_bytes: 1024\n", "at least 65536");
    refused(MINIMAL + "lineage_retain_entries: -1\n", "lineage_retain_entries: 0 (keep all)");
    refused(MINIMAL + "bounded_staleness_default_ms: 0\n", "at least 1");
    refused(MINIMAL + "peers: a2\n", "peers: expected a list");
    refused("- a\n- b\n", "expected a mapping at the top");
    refused(MINIMAL + "listen: [\n", "not valid YAML at line 6, column 1: expected the node");
  }

  @Test
  void anfAnchorPrintsOneLineAndExitsTwo(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("anchor.yaml");
    Files.writeString(file, MINIMAL + "raft:\n  snapshot_evry_entries: 5\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        Anf.run(
            new String[] {"anchor", "--config", file.toString()},
            new PrintWriter(out, true),
            new PrintWriter(err, true));
    assertThat(status).isEqualTo(Anf.USAGE);
    assertThat(err.toString().strip().lines()).hasSize(1);
    assertThat(err.toString())
        .startsWith("anf: anchor.yaml: raft.snapshot_evry_entries: unknown key (known: ");
    assertThat(out.toString()).isEmpty();
  }
}
