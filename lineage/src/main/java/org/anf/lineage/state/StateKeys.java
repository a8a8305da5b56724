package org.anf.lineage.state;

import org.anf.lineage.kv.Bytes;
import org.anf.lineage.uid.Uid;

/**
 * Key layout of a scope's state, relative to the scope (the anchor node prefixes each key with the
 * scope id and maps the first byte to a RocksDB column family). Paths are labels relative to the
 * scope, joined by '/'.
 *
 * <pre>
 * M                 ScopeMeta: id, path, parent, lifecycle, anchors, policy
 * N                 lineage head: seq (u64) + hash (32 bytes)
 * B path            binding: the UID (16 bytes)
 * O uid             ObjectState
 * D path            Delegation to a child scope
 * R path            RedirectState: an old alias or subtree
 * V kind value      RevocationState (kind 'h' device hash, 'u' UID, 'k' key)
 * H hash            current device hash: the UID (16 bytes)
 * U tag             UID register: next counter (u64) of the tag's space (2 bytes)
 * X mutation-id     OutcomeState: the seq that applied it
 * L seq             LineageEntry (seq as u64)
 * T txn-id          TxnState: an open cross-scope transaction
 * </pre>
 */
public final class StateKeys {
  public static final byte META = 'M';
  public static final byte HEAD = 'N';
  public static final byte BINDING = 'B';
  public static final byte OBJECT = 'O';
  public static final byte DELEGATION = 'D';
  public static final byte REDIRECT = 'R';
  public static final byte REVOCATION = 'V';
  public static final byte DEVICE = 'H';
  public static final byte REGISTER = 'U';
  public static final byte OUTCOME = 'X';
  public static final byte LINEAGE = 'L';
  public static final byte TXN = 'T';

  public static final byte REVOKED_DEVICE = 'h';
  public static final byte REVOKED_UID = 'u';
  public static final byte REVOKED_KEY = 'k';

  /**
   * The columns read by range: subtrees of bindings, delegations and redirects, open transactions,
   * lineage. Every other column is read by key only (and by the whole-state digest).
   */
  public static byte[] rangeScanned() {
    return new byte[] {BINDING, DELEGATION, REDIRECT, TXN, LINEAGE};
  }

  private StateKeys() {}

  public static byte[] meta() {
    return new byte[] {META};
  }

  public static byte[] head() {
    return new byte[] {HEAD};
  }

  public static byte[] path(byte column, String path) {
    return Bytes.concat(new byte[] {column}, Bytes.utf8(path));
  }

  /** First key strictly under {@code path} (its children), for range scans. */
  public static byte[] childrenFrom(byte column, String path) {
    return path.isEmpty() ? new byte[] {column} : path(column, path + "/");
  }

  public static byte[] childrenTo(byte column, String path) {
    return Bytes.prefixEnd(childrenFrom(column, path));
  }

  public static String pathOf(byte[] key) {
    return new String(key, 1, key.length - 1, java.nio.charset.StandardCharsets.UTF_8);
  }

  public static byte[] object(Uid uid) {
    return Bytes.concat(new byte[] {OBJECT}, uid.toBytes());
  }

  public static byte[] revocation(byte kind, byte[] value) {
    return Bytes.concat(new byte[] {REVOCATION, kind}, value);
  }

  public static byte[] device(String hash) {
    return path(DEVICE, hash);
  }

  public static byte[] register(int tag) {
    return new byte[] {REGISTER, (byte) (tag >>> 8), (byte) tag};
  }

  public static byte[] outcome(byte[] mutationId) {
    return Bytes.concat(new byte[] {OUTCOME}, mutationId);
  }

  public static byte[] lineage(long seq) {
    return Bytes.concat(new byte[] {LINEAGE}, Bytes.longBytes(seq));
  }

  public static byte[] txn(byte[] txnId) {
    return Bytes.concat(new byte[] {TXN}, txnId);
  }

  public static byte[] column(byte column) {
    return new byte[] {column};
  }
}
