package org.anf.lineage.error;

import org.jspecify.annotations.Nullable;

/** An error from the catalogue, with a message that says what was wrong. */
public class AnfException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final int position;
  private final @Nullable String field;

  public AnfException(ErrorCode code, String message) {
    this(code, message, -1, null, null);
  }

  public AnfException(ErrorCode code, String message, @Nullable Throwable cause) {
    this(code, message, -1, null, cause);
  }

  public AnfException(
      ErrorCode code,
      String message,
      int position,
      @Nullable String field,
      @Nullable Throwable cause) {
    super(message, cause);
    this.code = code;
    this.position = position;
    this.field = field;
  }

  public ErrorCode code() {
    return code;
  }

  /** 0-based character position of a syntax error in its input, or -1. */
  public int position() {
    return position;
  }

  /** The field or argument at fault, if one is named. */
  public @Nullable String field() {
    return field;
  }

  public static AnfException syntax(String input, int position, String message) {
    return new AnfException(
        ErrorCode.ALIAS_SYNTAX,
        "'" + abbreviate(input) + "' at position " + position + ": " + message,
        position,
        null,
        null);
  }

  public static AnfException invalid(String field, String message) {
    return new AnfException(ErrorCode.INVALID_ARGUMENT, field + ": " + message, -1, field, null);
  }

  public static AnfException precondition(String message) {
    return new AnfException(ErrorCode.PRECONDITION_FAILED, message);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
