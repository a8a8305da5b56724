package org.anf.lineage.transition;

import org.anf.lineage.error.AnfException;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.LineageEntry;
import org.jspecify.annotations.Nullable;

/** What applying one signed mutation to a scope's state gives. */
public sealed interface Outcome {
  /** Applied: write {@code writes} atomically; {@code entry} is the new lineage entry. */
  record Applied(WriteSet writes, LineageEntry entry, @Nullable Uid uid) implements Outcome {}

  /** The mutation id was applied before, as {@code entry}; nothing to write. */
  record Duplicate(LineageEntry entry) implements Outcome {}

  /** Refused with a reason; nothing to write, the state is unchanged. */
  record Refused(AnfException error) implements Outcome {}
}
