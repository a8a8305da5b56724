package org.anf.anchor.rpc;

import io.grpc.stub.StreamObserver;
import org.anf.anchor.structure.Coordinator;
import org.anf.proto.v1.OpenTransactionsRequest;
import org.anf.proto.v1.OpenTransactionsResponse;
import org.anf.proto.v1.StructureRequest;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.StructureServiceGrpc;

/** Move, split and merge across anchor groups, coordinated by this node. */
public final class StructureServiceImpl extends StructureServiceGrpc.StructureServiceImplBase {
  private final Coordinator coordinator;

  public StructureServiceImpl(Coordinator coordinator) {
    this.coordinator = coordinator;
  }

  @Override
  public void move(StructureRequest req, StreamObserver<StructureResponse> out) {
    Handlers.unary("Move", out, () -> coordinator.move(req.getRequest()));
  }

  @Override
  public void split(StructureRequest req, StreamObserver<StructureResponse> out) {
    Handlers.unary("Split", out, () -> coordinator.split(req.getRequest()));
  }

  @Override
  public void merge(StructureRequest req, StreamObserver<StructureResponse> out) {
    Handlers.unary("Merge", out, () -> coordinator.merge(req.getRequest()));
  }

  @Override
  public void openTransactions(
      OpenTransactionsRequest req, StreamObserver<OpenTransactionsResponse> out) {
    Handlers.unary(
        "OpenTransactions",
        out,
        () -> OpenTransactionsResponse.newBuilder().addAllTransactions(coordinator.open()).build());
  }
}
