package org.anf.anchor.faults;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.anf.anchor.AnchorNode;
import org.apache.ratis.grpc.server.GrpcServices;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.jspecify.annotations.Nullable;

/**
 * Link faults on one anchor's Ratis server, installed through Ratis's own {@link
 * GrpcServices.Customizer} so that Ratis runs unchanged: every call another anchor makes to it
 * (append entries, votes, snapshot installs, and the writes its Ratis client sends) crosses the
 * directed links between the two. The caller is told by the certificate it presented: anchors talk
 * mutual TLS, and each certificate's CN is its anchor id.
 */
public final class RaftLinkInterceptor implements ServerInterceptor {
  private final String self;
  private final LinkFaults links;

  private RaftLinkInterceptor(String self, LinkFaults links) {
    this.self = self;
    this.links = links;
  }

  /**
   * Hooks for anchor {@code self}: link faults on its Ratis server, and {@code anchorServices} (if
   * any) on its anchor services. The caller needs no Ratis type to build them.
   */
  public static AnchorNode.Hooks hooks(
      String self, LinkFaults links, io.grpc.@Nullable ServerInterceptor anchorServices) {
    RaftLinkInterceptor i = new RaftLinkInterceptor(self, links);
    GrpcServices.Customizer customizer = (builder, types) -> builder.intercept(i);
    return new AnchorNode.Hooks(customizer, anchorServices);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String from = caller(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (from == null) {
      links.unidentified();
      return next.startCall(call, headers);
    }
    if (from.equals(self)) {
      return next.startCall(call, headers);
    }
    return RaftGate.start(call, headers, next, links, from, self);
  }

  /** The anchor id in the peer certificate's CN, or null without TLS. */
  static @Nullable String caller(@Nullable SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate x)) {
        return null;
      }
      for (String part : x.getSubjectX500Principal().getName().split(",")) {
        String p = part.trim();
        if (p.startsWith("CN=")) {
          return p.substring(3);
        }
      }
      return null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }
}
