package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.Attribute;
import org.anf.proto.v1.ErrorDetail;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bad input gets a clear gRPC status and message, the node keeps serving, and nothing changes: a
 * malformed alias, an unknown scope, oversized requests, bad and missing signatures, a key without
 * the right, garbage, and a mutation the state refuses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {
  TestCluster c;
  long svc;
  List<ScopeStatus> before = new ArrayList<>();

  @BeforeAll
  void setUp() throws Exception {
    c = new TestCluster(3);
    long root = c.createRoot(c.all());
    svc = c.createScope(root, "svc", c.all());
    c.submit(0, c.factory.bind(svc, Alias.parse("svc@taken"), ObjectRecord.getDefaultInstance()));
    AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
    for (int n = 0; n < 3; n++) {
      before.add(c.status(n, svc));
    }
  }

  @AfterAll
  void tearDown() throws Exception {
    // Every node kept serving, and the scope is exactly as it was on every anchor.
    for (int n = 0; n < 3; n++) {
      var r =
          c.anchors(n)
              .lookup(
                  LookupRequest.newBuilder()
                      .setScopeId(svc)
                      .setAlias(Alias.parse("svc@taken").toProto())
                      .build());
      assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      ScopeStatus s = c.status(n, svc);
      assertThat(s.getStateDigest()).isEqualTo(before.get(n).getStateDigest());
      assertThat(s.getLineageSeq()).isEqualTo(before.get(n).getLineageSeq());
    }
    c.close();
  }

  static ErrorDetail detail(StatusRuntimeException e) {
    com.google.rpc.Status s =
        java.util.Objects.requireNonNull(StatusProto.fromThrowable(e), "status carries details");
    for (var any : s.getDetailsList()) {
      if (any.is(ErrorDetail.class)) {
        try {
          return any.unpack(ErrorDetail.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException x) {
          throw new AssertionError(x);
        }
      }
    }
    throw new AssertionError("no ErrorDetail in " + e);
  }

  void assertStatus(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(message);
            });
  }

  void submit(SignedMutation m) {
    c.mutations(1).submit(SubmitRequest.newBuilder().setMutation(m).build());
  }

  @Test
  void malformedAliasNamesThePosition() {
    org.anf.proto.v1.Alias bad = org.anf.proto.v1.Alias.newBuilder().setText("svc@de!mo").build();
    assertStatus(
        () -> c.anchors(0).lookup(LookupRequest.newBuilder().setScopeId(svc).setAlias(bad).build()),
        Status.Code.INVALID_ARGUMENT,
        "at position 6");
    assertThatThrownBy(
            () ->
                c.anchors(0)
                    .lookup(LookupRequest.newBuilder().setScopeId(svc).setAlias(bad).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              ErrorDetail d = detail(e);
              assertThat(d.getCode()).isEqualTo("ALIAS_SYNTAX");
              assertThat(d.getPosition()).isEqualTo(6);
            });
    // The same alias in a bind: refused with the position, on a follower and on the leader.
    Mutation ok = c.factory.bind(svc, Alias.parse("svc@fine"), ObjectRecord.getDefaultInstance());
    Mutation bind = ok.toBuilder().setBind(ok.getBind().toBuilder().setAlias(bad)).build();
    for (int n = 0; n < 3; n++) {
      int node = n;
      assertThatThrownBy(
              () ->
                  c.mutations(node)
                      .submit(SubmitRequest.newBuilder().setMutation(c.sign(bind)).build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription()).contains("'svc@de!mo' at position 6");
                ErrorDetail d = detail(e);
                assertThat(d.getCode()).isEqualTo("ALIAS_SYNTAX");
                assertThat(d.getPosition()).isEqualTo(6);
              });
    }
  }

  @Test
  void unknownScope() {
    assertStatus(
        () ->
            c.anchors(0)
                .lookup(
                    LookupRequest.newBuilder()
                        .setScopeId(0x1234)
                        .setAlias(Alias.parse("x").toProto())
                        .build()),
        Status.Code.NOT_FOUND,
        "is not hosted on anchor a1");
    Mutation m = c.factory.bind(0x1234, Alias.parse("svc@x"), ObjectRecord.getDefaultInstance());
    assertStatus(() -> submit(c.sign(m)), Status.Code.NOT_FOUND, "is not hosted");
  }

  @Test
  void oversizedMutationAndOversizedMessage() {
    ObjectRecord big =
        ObjectRecord.newBuilder()
            .addAttributes(Attribute.newBuilder().setKey("blob").setValue("x".repeat(1_200_000)))
            .build();
    assertStatus(
        () -> submit(c.sign(c.factory.bind(svc, Alias.parse("svc@big"), big))),
        Status.Code.RESOURCE_EXHAUSTED,
        "this anchor accepts at most 1048576");
    SignedMutation huge =
        SignedMutation.newBuilder().setMutation(ByteString.copyFrom(new byte[5 << 20])).build();
    // The transport refuses it before any anchor code runs; its message still says why.
    assertStatus(() -> submit(huge), Status.Code.RESOURCE_EXHAUSTED, "exceeds maximum size");
  }

  @Test
  void badSignatureMissingSignatureAndKeyWithoutTheRight() {
    Mutation bind = c.factory.bind(svc, Alias.parse("svc@x"), ObjectRecord.getDefaultInstance());
    SignedMutation good = c.sign(bind);
    SignedMutation other =
        c.sign(c.factory.bind(svc, Alias.parse("svc@y"), ObjectRecord.getDefaultInstance()));
    assertStatus(
        () -> submit(good.toBuilder().setSignature(other.getSignature()).build()),
        Status.Code.PERMISSION_DENIED,
        "signature does not verify");
    assertStatus(
        () -> submit(good.toBuilder().clearSignature().build()),
        Status.Code.UNAUTHENTICATED,
        "no signature");
    assertStatus(
        () -> submit(Signing.sign(bind, TestKeys.key("stranger"))),
        Status.Code.PERMISSION_DENIED,
        "does not hold BIND in scope 'svc'");
  }

  @Test
  void garbageAndWhatTheStateRefuses() {
    SignedMutation junk =
        Signing.sign(
                c.factory.bind(svc, Alias.parse("svc@z"), ObjectRecord.getDefaultInstance()),
                c.admin)
            .toBuilder()
            .setMutation(ByteString.copyFrom(new byte[] {(byte) 0xff, 1, 2}))
            .build();
    assertStatus(() -> submit(junk), Status.Code.INVALID_ARGUMENT, "does not parse");
    SignedMutation signedJunk = signRaw(new byte[] {(byte) 0xff, 1, 2});
    assertStatus(() -> submit(signedJunk), Status.Code.INVALID_ARGUMENT, "does not parse");
    assertStatus(
        () ->
            submit(
                c.sign(
                    c.factory.bind(
                        svc, Alias.parse("svc@taken"), ObjectRecord.getDefaultInstance()))),
        Status.Code.ALREADY_EXISTS,
        "'svc@taken' is already bound to uid:");
    assertStatus(
        () -> submit(c.sign(c.factory.unbind(svc, Alias.parse("svc@nothing")))),
        Status.Code.NOT_FOUND,
        "'svc@nothing' is not bound");
  }

  private SignedMutation signRaw(byte[] bytes) {
    byte[] domain = "anf.v1.mutation\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] msg = new byte[domain.length + bytes.length];
    System.arraycopy(domain, 0, msg, 0, domain.length);
    System.arraycopy(bytes, 0, msg, domain.length, bytes.length);
    return SignedMutation.newBuilder()
        .setMutation(ByteString.copyFrom(bytes))
        .setPublicKey(ByteString.copyFrom(c.admin.publicKey()))
        .setSignature(ByteString.copyFrom(org.anf.lineage.crypto.Ed25519.sign(c.admin, msg)))
        .build();
  }
}
