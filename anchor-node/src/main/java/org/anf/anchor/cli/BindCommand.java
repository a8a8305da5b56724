package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Attribute;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectKind;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "bind",
    mixinStandardHelpOptions = true,
    description = {
      "Bind an alias to a new UID in the scope that governs it, and print the UID.",
      "Aliases are never reissued: an alias bound once keeps resolving to its UID or successor."
    })
public final class BindCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "ALIAS", description = "e.g. svc@demo/hello")
  String alias;

  @Option(
      names = "--endpoint",
      paramLabel = "HOST[:PORT][/udp]",
      description =
          "Where the object is reached (repeatable); an IP host gives A/AAAA over DNS, a port gives SRV.")
  List<String> endpoints = new ArrayList<>();

  @Option(names = "--attr", paramLabel = "KEY=VALUE", description = "An attribute (repeatable).")
  List<String> attrs = new ArrayList<>();

  @Option(
      names = "--kind",
      paramLabel = "KIND",
      description = "service, device, user, document or other (default: ${DEFAULT-VALUE}).",
      defaultValue = "service")
  String kind = "service";

  @Option(
      names = "--ttl",
      paramLabel = "SECONDS",
      description = "Cache lifetime of answers (default: the scope policy's).")
  int ttl;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias a = Alias.parse(alias);
    ObjectRecord record = record(endpoints, attrs, kind, ttl);
    try (AnfClient c = new AnfClient(opts)) {
      AnfClient.Located at = c.locate(a);
      Mutation m =
          c.factory.bind(at.scopeId(), a, record).toBuilder()
              .setJustification(justification)
              .build();
      SubmitResponse r = c.submit(at.anchors(), m);
      PrintWriter out = spec.commandLine().getOut();
      Uid uid = Uid.fromProto(r.getUid());
      if (opts.json) {
        out.println(
            Json.obj()
                .put("alias", a.text())
                .put("uid", uid.text())
                .put("scope", at.scope().isRoot() ? "" : at.scope().text())
                .put("scopeId", ScopeIds.text(at.scopeId()))
                .put("lineageSeq", r.getEntry().getSeq())
                .put("lineageHash", Bytes.hex(r.getEntry().getHash().toByteArray()))
                .put("duplicate", r.getDuplicate()));
      } else {
        out.println(uid.text());
      }
      return Anf.OK;
    }
  }

  static ObjectRecord record(List<String> endpoints, List<String> attrs, String kind, int ttl) {
    ObjectRecord.Builder r = ObjectRecord.newBuilder();
    try {
      r.setKind(ObjectKind.valueOf("OBJECT_KIND_" + kind.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw AnfException.invalid(
          "--kind", "'" + kind + "' is not service, device, user, document or other");
    }
    for (String e : endpoints) {
      r.addEndpoints(endpoint(e));
    }
    for (String kv : attrs) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw AnfException.invalid("--attr", "'" + kv + "' is not KEY=VALUE");
      }
      r.addAttributes(
          Attribute.newBuilder().setKey(kv.substring(0, eq)).setValue(kv.substring(eq + 1)));
    }
    if (ttl < 0) {
      throw AnfException.invalid("--ttl", "must not be negative");
    }
    return r.setTtlSeconds(ttl).build();
  }

  /** HOST, HOST:PORT, [IPv6]:PORT, each optionally followed by /udp or /tcp. */
  static Endpoint endpoint(String s) {
    String proto = "";
    String hp = s;
    int slash = s.lastIndexOf('/');
    if (slash > 0) {
      proto = s.substring(slash + 1).toLowerCase(Locale.ROOT);
      hp = s.substring(0, slash);
      if (!proto.equals("udp") && !proto.equals("tcp")) {
        throw AnfException.invalid("--endpoint", "'" + s + "': protocol must be udp or tcp");
      }
    }
    String host = hp;
    int port = 0;
    if (hp.startsWith("[")) {
      int close = hp.indexOf(']');
      if (close < 0) {
        throw AnfException.invalid("--endpoint", "'" + s + "': unclosed '['");
      }
      host = hp.substring(1, close);
      if (close + 1 < hp.length()) {
        port = port(hp.substring(close + 2), s);
      }
    } else if (hp.indexOf(':') == hp.lastIndexOf(':') && hp.indexOf(':') > 0) {
      host = hp.substring(0, hp.indexOf(':'));
      port = port(hp.substring(hp.indexOf(':') + 1), s);
    }
    if (host.isEmpty()) {
      throw AnfException.invalid("--endpoint", "'" + s + "' has no host");
    }
    return Endpoint.newBuilder().setHost(host).setPort(port).setProtocol(proto).build();
  }

  private static int port(String p, String whole) {
    try {
      int n = Integer.parseInt(p);
      if (n < 1 || n > 65535) {
        throw AnfException.invalid("--endpoint", "'" + whole + "': port outside 1..65535");
      }
      return n;
    } catch (NumberFormatException e) {
      throw AnfException.invalid("--endpoint", "'" + whole + "': port '" + p + "' is not a number");
    }
  }
}
