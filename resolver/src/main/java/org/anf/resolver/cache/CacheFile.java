package org.anf.resolver.cache;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.anf.proto.v1.ResolverCacheFile;
import org.jspecify.annotations.Nullable;

/** The resolver's cache on disk: one protobuf file, replaced atomically on every write. */
public final class CacheFile {
  public static final String NAME = "resolver-cache.pb";
  public static final int FORMAT_VERSION = 1;

  private final Path file;

  public CacheFile(Path dir) throws IOException {
    Files.createDirectories(dir);
    this.file = dir.resolve(NAME);
  }

  public Path path() {
    return file;
  }

  /** The persisted cache, or null when there is none (or it is unreadable, which is logged). */
  public @Nullable ResolverCacheFile read() throws IOException {
    if (!Files.exists(file)) {
      return null;
    }
    try (InputStream in = Files.newInputStream(file)) {
      ResolverCacheFile f = ResolverCacheFile.parseFrom(in);
      if (f.getFormatVersion() != FORMAT_VERSION) {
        throw new IOException(
            file + ": cache format " + f.getFormatVersion() + ", expected " + FORMAT_VERSION);
      }
      return f;
    }
  }

  public void write(ResolverCacheFile f) throws IOException {
    Path tmp = file.resolveSibling(NAME + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      f.writeTo(out);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
