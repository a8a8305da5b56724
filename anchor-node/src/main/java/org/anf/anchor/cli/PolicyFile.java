package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A scope policy in YAML, for {@code anf scope create --policy FILE}. Every key is optional; the
 * defaults are those of a new scope owned by the signing key.
 *
 * <pre>
 * owners: [ed25519:...]              # default: the signing key
 * grants:
 *   - key: ed25519:...
 *     rights: [bind, unbind, rename]  # any mutation kind, lower case
 * min_anchors: 1
 * cache_ttl_seconds: 60
 * negative_ttl_seconds: 5
 * allow_provisional: false
 * parent_may_reclaim: true
 * fallback_zones: [example.org.]
 * require_dnssec: false
 * max_depth: 0
 * </pre>
 */
final class PolicyFile {
  private PolicyFile() {}

  static Policy load(Path file, byte[] signer) {
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "cannot read " + file + ": " + e.getMessage());
    } catch (RuntimeException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, file + ": not valid YAML: " + e.getMessage());
    }
    Policy.Builder p = Policies.ownedBy(signer).toBuilder();
    if (root == null) {
      return p.build();
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw bad(file, "", "expected a mapping");
    }
    for (Map.Entry<?, ?> e : m.entrySet()) {
      String key = String.valueOf(e.getKey());
      Object v = e.getValue();
      switch (key) {
        case "owners" -> {
          p.clearOwnerKeys();
          for (Object o : list(file, key, v)) {
            p.addOwnerKeys(ByteString.copyFrom(Ed25519.parsePublicKey(String.valueOf(o))));
          }
        }
        case "grants" -> {
          for (Object g : list(file, key, v)) {
            if (!(g instanceof Map<?, ?> gm)) {
              throw bad(file, key, "each grant is a mapping with key and rights");
            }
            KeyGrant.Builder kg =
                KeyGrant.newBuilder()
                    .setPublicKey(
                        ByteString.copyFrom(Ed25519.parsePublicKey(String.valueOf(gm.get("key")))));
            Object rights = gm.get("rights");
            for (Object r : list(file, "grants.rights", rights == null ? List.of() : rights)) {
              try {
                kg.addRights(Right.valueOf("RIGHT_" + String.valueOf(r).toUpperCase(Locale.ROOT)));
              } catch (IllegalArgumentException x) {
                throw bad(file, "grants.rights", "unknown right '" + r + "'");
              }
            }
            p.addGrants(kg);
          }
        }
        case "min_anchors" -> p.setMinAnchors(integer(file, key, v));
        case "cache_ttl_seconds" -> p.setCacheTtlSeconds(integer(file, key, v));
        case "negative_ttl_seconds" -> p.setNegativeTtlSeconds(integer(file, key, v));
        case "allow_provisional" -> p.setAllowProvisional(bool(file, key, v));
        case "parent_may_reclaim" -> p.setParentMayReclaim(bool(file, key, v));
        case "require_dnssec" -> p.setRequireDnssec(bool(file, key, v));
        case "max_depth" -> p.setMaxDepth(integer(file, key, v));
        case "fallback_zones" -> {
          p.clearFallbackZones();
          for (Object z : list(file, key, v)) {
            String zone = String.valueOf(z).toLowerCase(Locale.ROOT);
            p.addFallbackZones(zone.endsWith(".") ? zone : zone + ".");
          }
        }
        default -> throw bad(file, key, "unknown key");
      }
    }
    Policy policy = p.build();
    Policies.validate(policy);
    return policy;
  }

  private static List<?> list(Path f, String key, Object v) {
    if (v instanceof List<?> l) {
      return l;
    }
    throw bad(f, key, "expected a list");
  }

  private static int integer(Path f, String key, Object v) {
    if (v instanceof Number n && n.longValue() >= 0 && n.longValue() <= Integer.MAX_VALUE) {
      return n.intValue();
    }
    throw bad(f, key, "expected a non-negative number");
  }

  private static boolean bool(Path f, String key, Object v) {
    if (v instanceof Boolean b) {
      return b;
    }
    throw bad(f, key, "expected true or false");
  }

  private static AnfException bad(Path f, String key, String what) {
    return new AnfException(
        ErrorCode.INVALID_ARGUMENT, f + ": " + (key.isEmpty() ? "" : key + ": ") + what);
  }
}
