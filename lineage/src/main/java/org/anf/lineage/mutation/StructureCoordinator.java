package org.anf.lineage.mutation;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Sha256;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.kv.Bytes;
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

  /**
   * Submits one step. Its mutation id is derived from the transaction, the step and the scope, so
   * running a transaction again (after a crash) re-submits each step it already took as a
   * duplicate, answered with the first entry, and takes the rest: every step is idempotent.
   */
  private LineageEntry step(String name, ByteString txn, long scopeId, Mutation m) {
    hook.before(name);
    Mutation withId = m.toBuilder().setMutationId(stepId(txn, name, scopeId)).build();
    return gateway.submit(scopeId, signer.apply(withId));
  }

  /** The mutation id of step {@code step} of transaction {@code txn} in scope {@code scopeId}. */
  public static ByteString stepId(ByteString txn, String step, long scopeId) {
    byte[] h =
        Sha256.hash(
            Bytes.utf8("anf.v1.step\n"),
            txn.toByteArray(),
            Bytes.utf8(step),
            Bytes.longBytes(scopeId));
    return ByteString.copyFrom(h, 0, 16);
  }

  /**
   * Moves the subtree at {@code from} (in scope {@code source}) to {@code to} (in {@code dest}).
   */
  public ByteString move(long source, Alias from, long dest, Alias to) {
    return move(factory.randomBytes(16), source, from, dest, to);
  }

  /**
   * {@link #move(long, Alias, long, Alias)} as transaction {@code txn} (new, or being resumed).
   *
   * <p>Intents first: the source (locks the subtree), the destination, then every child scope
   * delegated inside the subtree and every scope below those (each locks itself: its path, parent
   * and depth change). Then the commits: the destination, every child, the source last.
   *
   * <p>The source holds the decision. Once every intent is recorded the transaction commits: a
   * commit step cannot be refused, and a run resumed from there re-submits the intents as
   * duplicates and goes on committing. If an intent is refused first, the source aborts before any
   * other side, so its abort is the recorded decision: a side found open later whose source is
   * closed without its commit was aborted, and aborts its own side ({@code Coordinator.recover} in
   * the anchor node). A failure that is not a refusal (no quorum, a timeout) leaves every intent
   * open for a retry or for recovery to finish.
   */
  public ByteString move(ByteString txn, long source, Alias from, long dest, Alias to) {
    step(
        "move.prepare-source",
        txn,
        source,
        factory.movePrepare(source, MoveRole.MOVE_ROLE_SOURCE, from, to, txn, dest));
    List<Long> children = new ArrayList<>();
    boolean destPrepared = false;
    List<ExportedEntry> entries;
    try {
      step(
          "move.prepare-destination",
          txn,
          dest,
          factory.movePrepare(dest, MoveRole.MOVE_ROLE_DESTINATION, from, to, txn, source));
      destPrepared = true;
      Alias sourcePath = Alias.fromProto(gateway.meta(source).getPath());
      // The subtree is locked from the first intent on: what is read now is what the destination
      // takes in, on a first run and on a resumed one alike.
      entries = gateway.export(source, Alias.joinPath(from.relativeTo(sourcePath)));
      int depth = gateway.meta(dest).getDepth() + 1;
      for (ExportedEntry e : entries) {
        if (e.hasDelegation()) {
          Alias childTo = to.concat(Alias.splitPath(e.getRelativePath()));
          prepareChild(txn, e.getDelegation().getChildScopeId(), childTo, dest, depth, children);
        }
      }
    } catch (AnfException refused) {
      if (!refused.code().isCallerError()) {
        throw refused;
      }
      step("move.abort-source", txn, source, factory.moveAbort(source, txn));
      if (destPrepared) {
        step("move.abort-destination", txn, dest, factory.moveAbort(dest, txn));
      }
      for (long child : children) {
        step("move.abort-child", txn, child, factory.moveAbort(child, txn));
      }
      throw refused;
    }
    hook.before("move.export");
    step("move.commit-destination", txn, dest, factory.moveCommit(dest, txn, entries));
    for (long child : children) {
      step("move.commit-child", txn, child, factory.moveCommit(child, txn, List.of()));
    }
    step("move.commit-source", txn, source, factory.moveCommit(source, txn, List.of()));
    return txn;
  }

  /**
   * Records the re-parent intent of {@code child} (to live at {@code to} under {@code parent}, at
   * {@code depth}), then of every scope it delegates to, each read once its parent is locked so the
   * set cannot change between a first run and a resumed one. Each scope prepared is added to {@code
   * prepared} before its children, in the order the steps were taken.
   */
  private void prepareChild(
      ByteString txn, long child, Alias to, long parent, int depth, List<Long> prepared) {
    Alias from = Alias.fromProto(gateway.meta(child).getPath());
    Mutation m = factory.movePrepare(child, MoveRole.MOVE_ROLE_CHILD, from, to, txn, parent);
    m = m.toBuilder().setMove(m.getMove().toBuilder().setChildDepth(depth)).build();
    step("move.prepare-child", txn, child, m);
    prepared.add(child);
    for (ExportedEntry e : gateway.export(child, "")) {
      if (e.hasDelegation()) {
        prepareChild(
            txn,
            e.getDelegation().getChildScopeId(),
            to.concat(Alias.splitPath(e.getRelativePath())),
            child,
            depth + 1,
            prepared);
      }
    }
  }

  /** A child of a split: its label, anchors and policy. */
  public record ChildSpec(String label, AnchorMap anchors, Policy policy) {}

  /**
   * Splits the entries under each child label of {@code scope} into a new child scope with its own
   * group. Returns the children's scope ids.
   */
  public List<Long> split(long scope, List<ChildSpec> specs) {
    Alias path = Alias.fromProto(gateway.meta(scope).getPath());
    List<SplitChild> children = new ArrayList<>();
    for (ChildSpec s : specs) {
      children.add(factory.splitChild(scope, path, s.label(), s.anchors(), s.policy()));
    }
    return split(factory.randomBytes(16), scope, children);
  }

  /** Splits as transaction {@code txn} (new, or being resumed) into the given children. */
  public List<Long> split(ByteString txn, long scope, List<SplitChild> children) {
    ScopeMeta meta = gateway.meta(scope);
    Alias path = Alias.fromProto(meta.getPath());
    step(
        "split.prepare",
        txn,
        scope,
        factory.split(scope, TxnPhase.TXN_PHASE_PREPARE, txn, children));
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
        step("split.genesis-child", txn, c.getChildScopeId(), genesis);
      }
    } catch (AnfException refused) {
      step(
          "split.abort",
          txn,
          scope,
          factory.split(scope, TxnPhase.TXN_PHASE_ABORT, txn, List.of()));
      for (long id : created) {
        gateway.dissolveGroup(id);
      }
      throw refused;
    }
    step(
        "split.commit",
        txn,
        scope,
        factory.split(scope, TxnPhase.TXN_PHASE_COMMIT, txn, List.of()));
    List<Long> ids = new ArrayList<>();
    children.forEach(c -> ids.add(c.getChildScopeId()));
    return ids;
  }

  /**
   * Folds child scope {@code child}, delegated at {@code childAlias} in {@code parent}, back into
   * the parent and dissolves the child's group.
   */
  public void merge(long parent, long child, Alias childAlias) {
    merge(factory.randomBytes(16), parent, child, childAlias);
  }

  /** {@link #merge(long, long, Alias)} as transaction {@code txn} (new, or being resumed). */
  public void merge(ByteString txn, long parent, long child, Alias childAlias) {
    step(
        "merge.prepare-child",
        txn,
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
          txn,
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
          txn,
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
        txn,
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
        txn,
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
