package org.anf.lineage.mutation;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.TxnPhase;

/**
 * Drives the structural mutations that span scopes (move across scopes, split, merge) as a recorded
 * protocol: an intent in each scope's lineage, then commit on every side, or abort on every side.
 * Pure logic over a {@link Gateway}: the anchor node gives it real groups, tests give it in-memory
 * ones. A {@link StepHook} runs before each step so tests can stop the coordinator between any two
 * of them.
 */
public final class StructureCoordinator {
  /** How the coordinator reaches scopes. */
  public interface Gateway {
    /** Submits a signed mutation to a scope's group; throws {@link AnfException} if refused. */
    LineageEntry submit(long scopeId, SignedMutation mutation);

    /** The entries at and under {@code relativePath} of a scope, for carrying elsewhere. */
    List<ExportedEntry> export(long scopeId, String relativePath);

    ScopeMeta meta(long scopeId);

    /** Lineage head (seq) of a scope. */
    long headSeq(long scopeId);

    ByteString headHash(long scopeId);

    /** Starts an (empty) anchor group for a new scope, before its genesis is submitted. */
    void createGroup(long scopeId, AnchorMap anchors);

    /** Stops and deletes a scope's group (after a merge, or an aborted split). */
    void dissolveGroup(long scopeId);
  }

  /** Called before each named step; a test hook may throw to stop the protocol there. */
  @FunctionalInterface
  public interface StepHook {
    void before(String step);
  }

  private final Gateway gateway;
  private final MutationFactory factory;
  private final Function<Mutation, SignedMutation> signer;
  private final StepHook hook;

  public StructureCoordinator(
      Gateway gateway,
      MutationFactory factory,
      Function<Mutation, SignedMutation> signer,
      StepHook hook) {
    this.gateway = gateway;
    this.factory = factory;
    this.signer = signer;
    this.hook = hook;
  }

  private LineageEntry step(String name, long scopeId, Mutation m) {
    hook.before(name);
    return gateway.submit(scopeId, signer.apply(m));
  }

  /**
   * Moves the subtree at {@code from} (in scope {@code source}) to {@code to} (in {@code dest}).
   */
  public ByteString move(long source, Alias from, long dest, Alias to) {
    ByteString txn = factory.randomBytes(16);
    step(
        "move.prepare-source",
        source,
        factory.movePrepare(source, MoveRole.MOVE_ROLE_SOURCE, from, to, txn, dest));
    try {
      step(
          "move.prepare-destination",
          dest,
          factory.movePrepare(dest, MoveRole.MOVE_ROLE_DESTINATION, from, to, txn, source));
    } catch (AnfException refused) {
      step("move.abort-source", source, factory.moveAbort(source, txn));
      throw refused;
    }
    hook.before("move.export");
    Alias sourcePath = Alias.fromProto(gateway.meta(source).getPath());
    List<ExportedEntry> entries =
        gateway.export(source, Alias.joinPath(from.relativeTo(sourcePath)));
    step("move.commit-destination", dest, factory.moveCommit(dest, txn, entries));
    step("move.commit-source", source, factory.moveCommit(source, txn, List.of()));
    return txn;
  }

  /** A child of a split: its label, anchors and policy. */
  public record ChildSpec(String label, AnchorMap anchors, Policy policy) {}

  /**
   * Splits the entries under each child label of {@code scope} into a new child scope with its own
   * group. Returns the children's scope ids.
   */
  public List<Long> split(long scope, List<ChildSpec> specs) {
    ScopeMeta meta = gateway.meta(scope);
    Alias path = Alias.fromProto(meta.getPath());
    List<SplitChild> children = new ArrayList<>();
    for (ChildSpec s : specs) {
      children.add(factory.splitChild(scope, path, s.label(), s.anchors(), s.policy()));
    }
    ByteString txn = factory.randomBytes(16);
    step("split.prepare", scope, factory.split(scope, TxnPhase.TXN_PHASE_PREPARE, txn, children));
    List<Long> created = new ArrayList<>();
    try {
      for (SplitChild c : children) {
        hook.before("split.create-child");
        gateway.createGroup(c.getChildScopeId(), c.getAnchors());
        created.add(c.getChildScopeId());
        List<ExportedEntry> imports = gateway.export(scope, c.getLabel());
        Mutation genesis =
            factory.genesisWithNonce(
                scope,
                path.concat(List.of(c.getLabel())),
                c.getNonce(),
                c.getPolicy(),
                c.getAnchors(),
                meta.getDepth() + 1,
                imports,
                txn);
        step("split.genesis-child", c.getChildScopeId(), genesis);
      }
    } catch (AnfException refused) {
      step("split.abort", scope, factory.split(scope, TxnPhase.TXN_PHASE_ABORT, txn, List.of()));
      for (long id : created) {
        gateway.dissolveGroup(id);
      }
      throw refused;
    }
    step("split.commit", scope, factory.split(scope, TxnPhase.TXN_PHASE_COMMIT, txn, List.of()));
    List<Long> ids = new ArrayList<>();
    children.forEach(c -> ids.add(c.getChildScopeId()));
    return ids;
  }

  /**
   * Folds child scope {@code child}, delegated at {@code childAlias} in {@code parent}, back into
   * the parent and dissolves the child's group.
   */
  public void merge(long parent, long child, Alias childAlias) {
    ByteString txn = factory.randomBytes(16);
    step(
        "merge.prepare-child",
        child,
        factory.merge(
            child,
            MergeRole.MERGE_ROLE_CHILD,
            TxnPhase.TXN_PHASE_PREPARE,
            txn,
            child,
            childAlias,
            List.of(),
            0,
            ByteString.EMPTY));
    try {
      step(
          "merge.prepare-parent",
          parent,
          factory.merge(
              parent,
              MergeRole.MERGE_ROLE_PARENT,
              TxnPhase.TXN_PHASE_PREPARE,
              txn,
              child,
              childAlias,
              List.of(),
              0,
              ByteString.EMPTY));
    } catch (AnfException refused) {
      step(
          "merge.abort-child",
          child,
          factory.merge(
              child,
              MergeRole.MERGE_ROLE_CHILD,
              TxnPhase.TXN_PHASE_ABORT,
              txn,
              child,
              childAlias,
              List.of(),
              0,
              ByteString.EMPTY));
      throw refused;
    }
    hook.before("merge.export");
    List<ExportedEntry> entries = gateway.export(child, "");
    long seq = gateway.headSeq(child);
    ByteString head = gateway.headHash(child);
    step(
        "merge.commit-parent",
        parent,
        factory.merge(
            parent,
            MergeRole.MERGE_ROLE_PARENT,
            TxnPhase.TXN_PHASE_COMMIT,
            txn,
            child,
            childAlias,
            entries,
            seq,
            head));
    step(
        "merge.commit-child",
        child,
        factory.merge(
            child,
            MergeRole.MERGE_ROLE_CHILD,
            TxnPhase.TXN_PHASE_COMMIT,
            txn,
            child,
            childAlias,
            List.of(),
            0,
            ByteString.EMPTY));
    hook.before("merge.dissolve");
    gateway.dissolveGroup(child);
  }
}
