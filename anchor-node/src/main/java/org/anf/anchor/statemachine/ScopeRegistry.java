package org.anf.anchor.statemachine;

import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.anf.anchor.metrics.AnchorMetrics;
import org.anf.anchor.store.NodeStore;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.LineageEntry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every scope state machine on a node shares: the node's RocksDB, its meters, the settings,
 * the live state machines by scope id (lookups find their state here) and the watchers of lineage.
 */
public final class ScopeRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(ScopeRegistry.class);

  /** Told of each lineage entry a scope applies, on the scope's apply thread: must not block. */
  public interface EntryListener {
    void onEntry(long scopeId, LineageEntry entry);
  }

  /**
   * Called on a scope's apply thread before each committed entry is applied: a fault-injection seam
   * (tests hold a replica back to make it lag its leader). It may block.
   */
  public interface ApplyHook {
    void beforeApply(long scopeId, long index);

    /**
     * Called on an automatic snapshot's own thread before it flushes RocksDB, which makes the
     * snapshot durable.
     */
    default void beforeSnapshotFlush(long scopeId, long index) {}
  }

  private final NodeStore store;
  private final AnchorMetrics metrics;
  private final long lineageRetainEntries;
  private final @Nullable ApplyHook applyHook;
  private final Map<Long, ScopeStateMachine> live = new ConcurrentHashMap<>();
  private final List<EntryListener> listeners = new CopyOnWriteArrayList<>();
  // Root scopes (no parent) whose genesis is applied here, in unsigned order of their ids.
  private final NavigableSet<Long> roots = new ConcurrentSkipListSet<>(Long::compareUnsigned);

  public ScopeRegistry(NodeStore store, AnchorMetrics metrics, long lineageRetainEntries) {
    this(store, metrics, lineageRetainEntries, null);
  }

  public ScopeRegistry(
      NodeStore store,
      AnchorMetrics metrics,
      long lineageRetainEntries,
      @Nullable ApplyHook applyHook) {
    this.store = store;
    this.metrics = metrics;
    this.lineageRetainEntries = lineageRetainEntries;
    this.applyHook = applyHook;
  }

  @Nullable ApplyHook applyHook() {
    return applyHook;
  }

  /**
   * The root scope requests for scope 0 reach. A node hosts one root (a second is refused where it
   * is created); should several be hosted all the same (data from before that check), the lowest id
   * wins, so every restart and every request picks the same one.
   */
  public @Nullable Long root() {
    return roots.isEmpty() ? null : roots.first();
  }

  void rootApplied(long scopeId) {
    if (roots.add(scopeId) && roots.size() > 1) {
      LOG.warn(
          "this node hosts {} root scopes; scope 0 means {}",
          roots.size(),
          ScopeIds.text(roots.first()));
    }
  }

  public NodeStore store() {
    return store;
  }

  public AnchorMetrics metrics() {
    return metrics;
  }

  public long lineageRetainEntries() {
    return lineageRetainEntries;
  }

  void register(long scopeId, ScopeStateMachine sm) {
    live.put(scopeId, sm);
  }

  void unregister(long scopeId, ScopeStateMachine sm) {
    if (live.remove(scopeId, sm)) {
      roots.remove(scopeId);
    }
  }

  public @Nullable ScopeStateMachine get(long scopeId) {
    return live.get(scopeId);
  }

  public Map<Long, ScopeStateMachine> all() {
    return Map.copyOf(live);
  }

  public int size() {
    return live.size();
  }

  public void addListener(EntryListener l) {
    listeners.add(l);
  }

  public void removeListener(EntryListener l) {
    listeners.remove(l);
  }

  void applied(long scopeId, LineageEntry entry) {
    for (EntryListener l : listeners) {
      l.onEntry(scopeId, entry);
    }
  }
}
