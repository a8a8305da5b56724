package org.anf.anchor.statemachine;

import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.Refusal;

/**
 * A mutation refused before it entered the Raft log. Ratis carries only an exception's class name
 * and message to the client and rebuilds it through a public (String) constructor, so the refusal
 * travels inside the message: the catalogue code, the position, the field and the text, separated
 * by a unit separator.
 */
public final class RefusedException extends Exception {
  private static final long serialVersionUID = 1L;
  private static final char SEP = '\u001f';

  public RefusedException(String encoded) {
    super(encoded);
  }

  public static RefusedException of(AnfException e) {
    return new RefusedException(
        e.code().name()
            + SEP
            + e.position()
            + SEP
            + (e.field() == null ? "" : e.field())
            + SEP
            + e.getMessage());
  }

  /** Decodes a message written by {@link #of}; anything else is an INTERNAL refusal. */
  public static Refusal decode(String message) {
    String[] parts = message.split(String.valueOf(SEP), 4);
    if (parts.length == 4) {
      try {
        ErrorCode.valueOf(parts[0]);
        return Refusal.newBuilder()
            .setCode(parts[0])
            .setPosition(Integer.parseInt(parts[1]))
            .setField(parts[2])
            .setMessage(parts[3])
            .build();
      } catch (IllegalArgumentException e) {
        // Not ours: fall through.
      }
    }
    return Refusal.newBuilder()
        .setCode(ErrorCode.INTERNAL.name())
        .setPosition(-1)
        .setMessage(message)
        .build();
  }

  public static Refusal refusal(AnfException e) {
    return Refusal.newBuilder()
        .setCode(e.code().name())
        .setPosition(e.position())
        .setField(e.field() == null ? "" : e.field())
        .setMessage(String.valueOf(e.getMessage()))
        .build();
  }

  public static AnfException toException(Refusal r) {
    ErrorCode code;
    try {
      code = ErrorCode.valueOf(r.getCode());
    } catch (IllegalArgumentException e) {
      code = ErrorCode.INTERNAL;
    }
    return new AnfException(
        code, r.getMessage(), r.getPosition(), r.getField().isEmpty() ? null : r.getField(), null);
  }
}
