package org.anf.lineage.testing;

import com.google.protobuf.ByteString;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;

/**
 * A {@link MemoryFabric} with owners: bootstraps a root, creates child scopes through the real
 * delegate + genesis mutations, and signs each mutation with its scope's current owner key.
 */
public final class FabricModel {
  public static final long CLOCK_MS = 1_764_000_000_000L;

  public final MemoryFabric fabric = new MemoryFabric();
  public final MutationFactory factory;
  public final Random random;
  public final KeyPair admin = TestKeys.key("admin");
  private final Map<Long, KeyPair> owners = new HashMap<>();
  public final long root;

  public FabricModel(long seed) {
    this.random = new Random(seed);
    this.factory = new MutationFactory(random, () -> CLOCK_MS);
    Mutation genesis =
        factory.genesis(
            0,
            Alias.ROOT,
            Policies.ownedBy(admin.publicKey()),
            anchors("a1", "a2", "a3"),
            0,
            List.of(),
            ByteString.EMPTY);
    root = genesis.getScopeId();
    fabric.createGroup(root, anchors("a1", "a2", "a3"));
    fabric.setRoot(root);
    fabric.submit(root, Signing.sign(genesis, admin));
    owners.put(root, admin);
  }

  public static AnchorInfo anchor(String id) {
    return AnchorInfo.newBuilder()
        .setId(id)
        .setAddress("127.0.0.1:" + (7400 + Math.abs(id.hashCode() % 500)))
        .setPublicKey(ByteString.copyFrom(TestKeys.key("anchor-" + id).publicKey()))
        .build();
  }

  public static AnchorMap anchors(String... ids) {
    AnchorMap.Builder m = AnchorMap.newBuilder();
    for (String id : ids) {
      m.addAnchors(anchor(id));
    }
    return m.build();
  }

  public KeyPair owner(long scopeId) {
    KeyPair k = owners.get(scopeId);
    if (k == null) {
      throw new IllegalStateException("no owner recorded for scope " + scopeId);
    }
    return k;
  }

  public void setOwner(long scopeId, KeyPair key) {
    owners.put(scopeId, key);
  }

  /** Signs with the scope's owner; a genesis is signed by its parent's owner, who owns it too. */
  public SignedMutation sign(Mutation m) {
    KeyPair k = owners.get(m.getScopeId());
    if (k == null && m.hasCreateScope()) {
      k = owner(m.getCreateScope().getParentScopeId());
      owners.put(m.getScopeId(), k);
    }
    if (k == null) {
      throw new IllegalStateException("no owner for scope " + m.getScopeId());
    }
    return Signing.sign(m, k);
  }

  public Outcome apply(Mutation m) {
    return fabric.apply(m.getScopeId(), sign(m));
  }

  public Outcome apply(Mutation m, KeyPair key) {
    return fabric.apply(m.getScopeId(), Signing.sign(m, key));
  }

  /** Creates a child scope: the parent's Delegate, then the child's genesis. */
  public long createChild(long parent, Alias path) {
    return createChild(parent, path, Policies.ownedBy(owner(parent).publicKey()));
  }

  /**
   * Creates a child scope under {@code policy}, owned by the parent's owner in this model: the
   * parent's Delegate (carrying the policy, so the parent records its fuse), then the genesis.
   */
  public long createChild(long parent, Alias path, Policy policy) {
    KeyPair owner = owner(parent);
    AnchorMap anchors = anchors("a1", "a2", "a3");
    ScopeMeta parentMeta = fabric.meta(parent);
    Mutation genesis =
        factory.genesis(
            parent, path, policy, anchors, parentMeta.getDepth() + 1, List.of(), ByteString.EMPTY);
    long child = genesis.getScopeId();
    Delegation d =
        Delegation.newBuilder()
            .setChild(path.toProto())
            .setChildScopeId(child)
            .setAnchors(anchors.toBuilder().setVersion(1))
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(policy)))
            .build();
    fabric.submit(parent, Signing.sign(factory.delegate(parent, d, policy), owner));
    fabric.createGroup(child, anchors);
    owners.put(child, owner);
    fabric.submit(child, Signing.sign(genesis, owner));
    return child;
  }

  public StructureCoordinator coordinator(StructureCoordinator.StepHook hook) {
    return new StructureCoordinator(fabric, factory, this::sign, hook);
  }

  public StructureCoordinator coordinator() {
    return coordinator(step -> {});
  }
}
