package org.anf.dns.testing;

import java.util.Objects;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;

/**
 * A fabric for gateway tests: root, {@code svc} and {@code user} scopes created through the real
 * delegate and genesis mutations, and helpers that apply signed mutations or fail loudly.
 */
public final class TestFabric {
  public final FabricModel model;
  public final long svc;
  public final long user;
  public final FabricResolver resolver;

  public TestFabric(long seed) {
    model = new FabricModel(seed);
    svc = model.createChild(model.root, Alias.parse("svc"));
    user = model.createChild(model.root, Alias.parse("user"));
    resolver = new FabricResolver(model.fabric);
  }

  public static Endpoint ep(String host, int port) {
    return Endpoint.newBuilder().setHost(host).setPort(port).build();
  }

  public static ObjectRecord record(Endpoint... endpoints) {
    ObjectRecord.Builder r = ObjectRecord.newBuilder();
    for (Endpoint e : endpoints) {
      r.addEndpoints(e);
    }
    return r.build();
  }

  public Uid bind(long scope, String alias, Endpoint... endpoints) {
    return bind(scope, alias, record(endpoints));
  }

  public Uid bind(long scope, String alias, ObjectRecord record) {
    return uid(apply(model.factory.bind(scope, Alias.parse(alias), record)));
  }

  public void rename(long scope, String from, String to) {
    apply(model.factory.rename(scope, Alias.parse(from), Alias.parse(to)));
  }

  public void revoke(long scope, Uid uid, String reason) {
    apply(model.factory.revokeUid(scope, uid, reason));
  }

  public Uid registerDevice(long scope, String alias, String hash, Endpoint... endpoints) {
    KeyPair device = TestKeys.key("device-" + hash);
    return uid(
        apply(
            model.factory.registerDevice(
                scope, Alias.parse(alias), hash, device.publicKey(), record(endpoints))));
  }

  public Outcome.Applied apply(Mutation m) {
    synchronized (resolver) {
      Outcome o = model.apply(m);
      if (o instanceof Outcome.Refused r) {
        throw new AssertionError("mutation refused: " + r.error().getMessage(), r.error());
      }
      return (Outcome.Applied) o;
    }
  }

  private static Uid uid(Outcome.Applied a) {
    return Objects.requireNonNull(a.uid(), "the mutation allocated no UID");
  }
}
