package org.anf.anchor.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.Refusal;
import org.anf.proto.v1.SignedMutation;
import org.junit.jupiter.api.Test;

/** When a batch leaves, what it holds, and who gets which reply. */
class MutationBatcherTest {
  private final List<List<SignedMutation>> sent = new ArrayList<>();
  private final List<CompletableFuture<List<MutationReply>>> pending = new ArrayList<>();
  private final List<CompletableFuture<MutationReply>> replies = new ArrayList<>();

  private MutationBatcher batcher(int maxInFlight) {
    return new MutationBatcher(
        ms -> {
          sent.add(ms);
          CompletableFuture<List<MutationReply>> f = new CompletableFuture<>();
          pending.add(f);
          return f;
        },
        maxInFlight);
  }

  private void enqueue(MutationBatcher b, int i) {
    replies.add(b.submit(m(i)));
  }

  private static SignedMutation m(int i) {
    return SignedMutation.newBuilder().setSignature(ByteString.copyFromUtf8("m" + i)).build();
  }

  /** Answers batch {@code i} with one reply per mutation, naming it. */
  private void answer(int i) {
    List<MutationReply> out = new ArrayList<>();
    for (SignedMutation s : sent.get(i)) {
      out.add(
          MutationReply.newBuilder()
              .setRefused(Refusal.newBuilder().setMessage(s.getSignature().toStringUtf8()))
              .build());
    }
    pending.get(i).complete(out);
  }

  private static String text(CompletableFuture<MutationReply> f)
      throws InterruptedException, ExecutionException {
    return f.get().getRefused().getMessage();
  }

  @Test
  void aLoneMutationLeavesAtOnceAndGetsItsOwnReply() throws Exception {
    MutationBatcher b = batcher(1);
    enqueue(b, 1);
    assertEquals(List.of(List.of(m(1))), sent);
    answer(0);
    assertEquals("m1", text(replies.get(0)));
  }

  @Test
  void whatQueuesDuringABatchLeavesTogetherInOrder() throws Exception {
    MutationBatcher b = batcher(1);
    for (int i = 1; i <= 4; i++) {
      enqueue(b, i);
    }
    assertEquals(1, sent.size());
    answer(0);
    assertEquals(List.of(m(2), m(3), m(4)), sent.get(1));
    answer(1);
    for (int i = 0; i < 4; i++) {
      assertEquals("m" + (i + 1), text(replies.get(i)));
    }
  }

  @Test
  void theNextBatchLeavesBeforeThisOnesRepliesGoOut() {
    MutationBatcher b = batcher(1);
    enqueue(b, 1);
    enqueue(b, 2);
    int[] sentWhenAnswered = {-1};
    var unused = replies.get(0).thenRun(() -> sentWhenAnswered[0] = sent.size());
    answer(0);
    assertEquals(2, sentWhenAnswered[0], "batch [m2] was already sent when m1's reply came");
  }

  @Test
  void aShortAnswerFailsTheMutationsItLeavesOut() {
    MutationBatcher b = batcher(1);
    enqueue(b, 1);
    enqueue(b, 2);
    enqueue(b, 3);
    answer(0);
    pending
        .get(1)
        .complete(List.of(MutationReply.newBuilder().setRefused(Refusal.newBuilder()).build()));
    assertFalse(replies.get(1).isCompletedExceptionally());
    assertTrue(replies.get(2).isCompletedExceptionally());
  }

  @Test
  void aFailedBatchFailsEachOfItsMutationsAndTheNextStillLeaves() {
    MutationBatcher b = batcher(1);
    enqueue(b, 1);
    enqueue(b, 2);
    enqueue(b, 3);
    answer(0);
    enqueue(b, 4);
    pending.get(1).completeExceptionally(new IllegalStateException("no leader"));
    assertTrue(replies.get(1).isCompletedExceptionally());
    assertTrue(replies.get(2).isCompletedExceptionally());
    assertEquals(List.of(m(4)), sent.get(2));
  }

  @Test
  void aSenderThatThrowsFailsItsBatchOnly() {
    boolean[] fail = {true};
    MutationBatcher b =
        new MutationBatcher(
            ms -> {
              if (fail[0]) {
                fail[0] = false;
                throw new IllegalStateException("boom");
              }
              sent.add(ms);
              return CompletableFuture.completedFuture(List.of(MutationReply.getDefaultInstance()));
            },
            1);
    CompletableFuture<MutationReply> first = b.submit(m(1));
    CompletableFuture<MutationReply> second = b.submit(m(2));
    assertTrue(first.isCompletedExceptionally());
    assertTrue(second.isDone());
    assertFalse(second.isCompletedExceptionally());
  }

  @Test
  void twoInFlightFillTheSecondSlotAtOnce() {
    MutationBatcher b = batcher(2);
    enqueue(b, 1);
    enqueue(b, 2);
    assertEquals(2, sent.size());
    enqueue(b, 3);
    assertEquals(2, sent.size());
    assertFalse(replies.get(2).isDone());
    answer(0);
    assertEquals(List.of(m(3)), sent.get(2));
  }
}
