package org.anf.resolver.transport;

import com.google.protobuf.Any;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.ErrorDetail;
import org.jspecify.annotations.Nullable;

/**
 * The one place that maps anf's error catalogue to gRPC status codes and back. Servers call {@link
 * #toStatus}; clients call {@link #fromStatus} to get the catalogue code and the detail.
 */
public final class GrpcErrors {
  private GrpcErrors() {}

  public static Status.Code code(ErrorCode c) {
    return switch (c) {
      case ALIAS_SYNTAX, INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
      case TOO_LARGE -> Status.Code.RESOURCE_EXHAUSTED;
      case MISSING_SIGNATURE -> Status.Code.UNAUTHENTICATED;
      case BAD_SIGNATURE, NOT_AUTHORIZED -> Status.Code.PERMISSION_DENIED;
      case UNKNOWN_SCOPE, NOT_FOUND -> Status.Code.NOT_FOUND;
      case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
      case PRECONDITION_FAILED, LOCKED -> Status.Code.FAILED_PRECONDITION;
      case OUT_OF_RANGE -> Status.Code.OUT_OF_RANGE;
      case UNAVAILABLE -> Status.Code.UNAVAILABLE;
      case TIMEOUT -> Status.Code.DEADLINE_EXCEEDED;
      case INTERNAL, CORRUPTION -> Status.Code.INTERNAL;
    };
  }

  public static StatusRuntimeException toStatus(AnfException e) {
    return toStatus(e, null, 0);
  }

  /** A status with the catalogue code, position and field in an {@link ErrorDetail}. */
  public static StatusRuntimeException toStatus(
      AnfException e, @Nullable String leaderHint, int retryAfterMs) {
    ErrorDetail.Builder d =
        ErrorDetail.newBuilder()
            .setCode(e.code().name())
            .setPosition(e.position())
            .setRetryAfterMs(retryAfterMs);
    if (e.field() != null) {
      d.setField(e.field());
    }
    if (leaderHint != null) {
      d.setLeaderHint(leaderHint);
    }
    com.google.rpc.Status s =
        com.google.rpc.Status.newBuilder()
            .setCode(code(e.code()).value())
            .setMessage(String.valueOf(e.getMessage()))
            .addDetails(Any.pack(d.build()))
            .build();
    return StatusProto.toStatusRuntimeException(s);
  }

  /** The anf error a status carries (its detail when present, else one derived from the code). */
  public static AnfException fromStatus(StatusRuntimeException e) {
    com.google.rpc.Status s = StatusProto.fromThrowable(e);
    String message =
        e.getStatus().getDescription() == null
            ? e.getStatus().getCode().name()
            : e.getStatus().getDescription();
    if (s != null) {
      for (Any any : s.getDetailsList()) {
        if (any.is(ErrorDetail.class)) {
          try {
            ErrorDetail d = any.unpack(ErrorDetail.class);
            ErrorCode code = ErrorCode.valueOf(d.getCode());
            return new AnfException(
                code, message, d.getPosition(), d.getField().isEmpty() ? null : d.getField(), e);
          } catch (com.google.protobuf.InvalidProtocolBufferException
              | IllegalArgumentException ignored) {
            // Fall through to the status code.
          }
        }
      }
    }
    return new AnfException(fromCode(e.getStatus().getCode()), message, e);
  }

  public static ErrorCode fromCode(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT -> ErrorCode.INVALID_ARGUMENT;
      case RESOURCE_EXHAUSTED -> ErrorCode.TOO_LARGE;
      case UNAUTHENTICATED -> ErrorCode.MISSING_SIGNATURE;
      case PERMISSION_DENIED -> ErrorCode.NOT_AUTHORIZED;
      case NOT_FOUND -> ErrorCode.NOT_FOUND;
      case ALREADY_EXISTS -> ErrorCode.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> ErrorCode.PRECONDITION_FAILED;
      case OUT_OF_RANGE -> ErrorCode.OUT_OF_RANGE;
      case UNAVAILABLE -> ErrorCode.UNAVAILABLE;
      case DEADLINE_EXCEEDED -> ErrorCode.TIMEOUT;
      default -> ErrorCode.INTERNAL;
    };
  }
}
