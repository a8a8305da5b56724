package org.anf.anchor.statemachine;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.anf.anchor.metrics.AnchorMetrics;
import org.anf.anchor.store.NodeStore;
import org.anf.proto.v1.LineageEntry;
import org.jspecify.annotations.Nullable;

/**
 * What every scope state machine on a node shares: the node's RocksDB, its meters, the settings,
 * the live state machines by scope id (lookups find their state here) and the watchers of lineage.
 */
public final class ScopeRegistry {
  /** Told of each lineage entry a scope applies, on the scope's apply thread: must not block. */
  public interface EntryListener {
    void onEntry(long scopeId, LineageEntry entry);
  }

  private final NodeStore store;
  private final AnchorMetrics metrics;
  private final long lineageRetainEntries;
  private final Map<Long, ScopeStateMachine> live = new ConcurrentHashMap<>();
  private final List<EntryListener> listeners = new CopyOnWriteArrayList<>();

  public ScopeRegistry(NodeStore store, AnchorMetrics metrics, long lineageRetainEntries) {
    this.store = store;
    this.metrics = metrics;
    this.lineageRetainEntries = lineageRetainEntries;
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
    live.remove(scopeId, sm);
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
