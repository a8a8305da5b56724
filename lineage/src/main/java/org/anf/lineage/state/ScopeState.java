package org.anf.lineage.state;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.KeyValueView;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.OutcomeState;
import org.anf.proto.v1.RedirectState;
import org.anf.proto.v1.RevocationState;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.TxnState;
import org.jspecify.annotations.Nullable;

/** Typed reads over one scope's key-value state (layout in {@link StateKeys}). */
public class ScopeState {
  private static final byte[] ZERO_HASH = new byte[32];

  public static byte[] zeroHash() {
    return ZERO_HASH.clone();
  }

  protected final KeyValueView kv;

  public ScopeState(KeyValueView kv) {
    this.kv = kv;
  }

  public KeyValueView kv() {
    return kv;
  }

  public boolean exists() {
    return kv.get(StateKeys.meta()) != null;
  }

  /** The scope's metadata; UNKNOWN_SCOPE when the scope has no genesis here. */
  public ScopeMeta meta() {
    ScopeMeta m = metaOrNull();
    if (m == null) {
      throw new AnfException(ErrorCode.UNKNOWN_SCOPE, "the scope has no genesis entry here");
    }
    return m;
  }

  public @Nullable ScopeMeta metaOrNull() {
    byte[] v = kv.get(StateKeys.meta());
    if (v == null) {
      return null;
    }
    // Stores hand back the same array until the meta is rewritten: parse each version once.
    synchronized (PARSED_META) {
      ScopeMeta m = PARSED_META.get(v);
      if (m == null) {
        m = parse(v, ScopeMeta.parser());
        PARSED_META.put(v, m);
      }
      return m;
    }
  }

  // Keyed by array identity (arrays use Object.equals); entries go when the array does.
  private static final java.util.WeakHashMap<byte[], ScopeMeta> PARSED_META =
      new java.util.WeakHashMap<>();

  /** The scope's alias (its recorded path). */
  public Alias path() {
    return Alias.fromProto(meta().getPath());
  }

  /** Sequence number of the last lineage entry, 0 before genesis. */
  public long headSeq() {
    byte[] h = kv.get(StateKeys.head());
    return h == null ? 0 : Bytes.toLong(h, 0);
  }

  /** Hash of the last lineage entry, 32 zero bytes before genesis. */
  public byte[] headHash() {
    byte[] h = kv.get(StateKeys.head());
    return h == null ? ZERO_HASH.clone() : java.util.Arrays.copyOfRange(h, 8, 40);
  }

  public @Nullable Uid binding(String path) {
    byte[] v = kv.get(StateKeys.path(StateKeys.BINDING, path));
    return v == null ? null : Uid.fromBytes(v);
  }

  public @Nullable ObjectState object(Uid uid) {
    return read(StateKeys.object(uid), ObjectState.parser());
  }

  public @Nullable Delegation delegation(String path) {
    return read(StateKeys.path(StateKeys.DELEGATION, path), Delegation.parser());
  }

  public @Nullable RedirectState redirect(String path) {
    return read(StateKeys.path(StateKeys.REDIRECT, path), RedirectState.parser());
  }

  public @Nullable RevocationState revocation(byte kind, byte[] value) {
    return read(StateKeys.revocation(kind, value), RevocationState.parser());
  }

  public @Nullable RevocationState uidRevocation(Uid uid) {
    return revocation(StateKeys.REVOKED_UID, uid.toBytes());
  }

  public @Nullable RevocationState deviceRevocation(String hash) {
    return revocation(StateKeys.REVOKED_DEVICE, Bytes.utf8(hash));
  }

  public @Nullable RevocationState keyRevocation(byte[] key) {
    return revocation(StateKeys.REVOKED_KEY, key);
  }

  public @Nullable Uid device(String hash) {
    byte[] v = kv.get(StateKeys.device(hash));
    return v == null ? null : Uid.fromBytes(v);
  }

  /** The next counter the register of {@code tag}'s space will hand out (1 when unused). */
  public long nextCounter(int tag) {
    byte[] v = kv.get(StateKeys.register(tag));
    return v == null ? 1 : Bytes.toLong(v, 0);
  }

  /** The seq at which a mutation id was applied, or 0. */
  public long outcome(byte[] mutationId) {
    OutcomeState o = read(StateKeys.outcome(mutationId), OutcomeState.parser());
    return o == null ? 0 : o.getSeq();
  }

  public @Nullable LineageEntry lineage(long seq) {
    return read(StateKeys.lineage(seq), LineageEntry.parser());
  }

  public @Nullable TxnState txn(byte[] txnId) {
    return read(StateKeys.txn(txnId), TxnState.parser());
  }

  public List<TxnState> openTxns() {
    List<TxnState> out = new ArrayList<>();
    kv.scan(
        StateKeys.column(StateKeys.TXN),
        StateKeys.column((byte) (StateKeys.TXN + 1)),
        (k, v) -> {
          out.add(parse(v, TxnState.parser()));
          return true;
        });
    return out;
  }

  /** The open transaction that locks {@code path} (or something above or below it), if any. */
  public @Nullable TxnState lockOn(String path) {
    for (TxnState t : openTxns()) {
      for (String locked : t.getLockedList()) {
        if (overlaps(locked, path)) {
          return t;
        }
      }
    }
    return null;
  }

  /** True when one path is equal to, above or below the other. */
  public static boolean overlaps(String a, String b) {
    return a.isEmpty()
        || b.isEmpty()
        || a.equals(b)
        || a.startsWith(b + "/")
        || b.startsWith(a + "/");
  }

  /** Visits the keys of one column at {@code path} and under it, in key order. */
  public void scanSubtree(byte column, String path, KeyValueView.Visitor visitor) {
    byte[] exact = StateKeys.path(column, path);
    byte[] v = kv.get(exact);
    if (!path.isEmpty() && v != null && !visitor.visit(exact, v)) {
      return;
    }
    kv.scan(StateKeys.childrenFrom(column, path), StateKeys.childrenTo(column, path), visitor);
  }

  /** True when anything is bound, redirected or delegated at {@code path} or under it. */
  public boolean hasEntriesAtOrUnder(String path) {
    boolean[] found = {false};
    for (byte col : new byte[] {StateKeys.BINDING, StateKeys.REDIRECT, StateKeys.DELEGATION}) {
      scanSubtree(
          col,
          path,
          (k, v) -> {
            found[0] = true;
            return false;
          });
      if (found[0]) {
        return true;
      }
    }
    return false;
  }

  protected <T> @Nullable T read(byte[] key, Parser<T> parser) {
    byte[] v = kv.get(key);
    return v == null ? null : parse(v, parser);
  }

  public static <T> T parse(byte[] v, Parser<T> parser) {
    try {
      return parser.parseFrom(v);
    } catch (InvalidProtocolBufferException e) {
      throw new AnfException(
          ErrorCode.CORRUPTION, "stored record does not parse: " + e.getMessage(), e);
    }
  }
}
