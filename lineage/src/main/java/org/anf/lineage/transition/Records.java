package org.anf.lineage.transition;

import java.util.HashSet;
import java.util.Set;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.proto.v1.Attribute;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.PublicKey;

/** Validation of object records: limits keep one binding from bloating every replica. */
public final class Records {
  public static final int MAX_ENDPOINTS = 64;
  public static final int MAX_ATTRIBUTES = 64;
  public static final int MAX_ATTRIBUTE_VALUE_BYTES = 1024;
  public static final int MAX_PUBLIC_KEYS = 16;
  public static final int MAX_TTL_SECONDS = 7 * 24 * 3600;

  private Records() {}

  public static void validate(ObjectRecord r) {
    if (r.getEndpointsCount() > MAX_ENDPOINTS) {
      throw AnfException.invalid("record.endpoints", "more than " + MAX_ENDPOINTS + " endpoints");
    }
    for (Endpoint e : r.getEndpointsList()) {
      validateHost(e.getHost());
      if (e.getPort() > 65535) {
        throw AnfException.invalid("record.endpoints", "port " + e.getPort() + " is above 65535");
      }
      String p = e.getProtocol();
      if (!p.isEmpty() && !p.equals("tcp") && !p.equals("udp")) {
        throw AnfException.invalid(
            "record.endpoints", "protocol '" + p + "' is not 'tcp' or 'udp'");
      }
    }
    if (r.getAttributesCount() > MAX_ATTRIBUTES) {
      throw AnfException.invalid(
          "record.attributes", "more than " + MAX_ATTRIBUTES + " attributes");
    }
    Set<String> keys = new HashSet<>();
    for (Attribute a : r.getAttributesList()) {
      String k = a.getKey();
      if (k.isEmpty() || k.length() > 63 || !k.chars().allMatch(Records::isKeyChar)) {
        throw AnfException.invalid(
            "record.attributes",
            "attribute key '" + k + "' must be 1 to 63 characters of a-z, 0-9, '.', '-', '_'");
      }
      if (!keys.add(k)) {
        throw AnfException.invalid("record.attributes", "attribute key '" + k + "' repeats");
      }
      if (a.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
          > MAX_ATTRIBUTE_VALUE_BYTES) {
        throw AnfException.invalid(
            "record.attributes",
            "attribute '" + k + "' value is longer than " + MAX_ATTRIBUTE_VALUE_BYTES + " bytes");
      }
    }
    if (r.getPublicKeysCount() > MAX_PUBLIC_KEYS) {
      throw AnfException.invalid("record.public_keys", "more than " + MAX_PUBLIC_KEYS + " keys");
    }
    for (PublicKey k : r.getPublicKeysList()) {
      if (!k.getAlgorithm().equals("ed25519")) {
        throw AnfException.invalid(
            "record.public_keys", "algorithm '" + k.getAlgorithm() + "' is not 'ed25519'");
      }
      if (!Ed25519.isValidPublicKey(k.getKey().toByteArray())) {
        throw AnfException.invalid("record.public_keys", "not a valid Ed25519 public key");
      }
    }
    if (r.getTtlSeconds() > MAX_TTL_SECONDS) {
      throw AnfException.invalid(
          "record.ttl_seconds", r.getTtlSeconds() + " is above " + MAX_TTL_SECONDS + " (7 days)");
    }
  }

  private static void validateHost(String host) {
    if (host.isEmpty() || host.length() > 253) {
      throw AnfException.invalid("record.endpoints", "a host is 1 to 253 characters");
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '-'
              || c == ':'
              || c == '_'
              || c == '%';
      if (!ok) {
        throw AnfException.invalid(
            "record.endpoints", "host '" + host + "' has '" + c + "' at " + i);
      }
    }
  }

  private static boolean isKeyChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  }
}
