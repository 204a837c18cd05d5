package dev.gantry.worker.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class KvCacheManagerTest {
    private static final int BS = 4;

    /** Tokens start, start+1, ... (count of them). */
    private static int[] run(int start, int count) {
        return IntStream.range(start, start + count).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    /** Admits, allocates and "computes" the whole prompt of a request, as the scheduler would. */
    private static int prefill(KvCacheManager kv, long id, int[] prompt) {
        int hit = kv.acquireCachedPrefix(id, prompt, prompt.length);
        assertThat(kv.allocate(id, prompt.length)).isTrue();
        kv.cacheFullBlocks(id, prompt, prompt.length);
        return hit;
    }

    @Test
    void freshManagerAllocatesBlocksInIdOrder() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        assertThat(kv.blocksNeeded(1, 10)).isEqualTo(3);
        assertThat(kv.allocate(1, 10)).isTrue();
        assertThat(kv.blockTable(1)).containsExactly(0, 1, 2);
        assertThat(kv.allocate(1, 12)).isTrue();
        assertThat(kv.blockTable(1)).containsExactly(0, 1, 2);
        assertThat(kv.allocate(1, 13)).isTrue();
        assertThat(kv.blockTable(1)).containsExactly(0, 1, 2, 3);
        assertThat(kv.allocate(2, 1)).isTrue();
        assertThat(kv.blockTable(2)).containsExactly(4);
        assertThat(kv.numBlocksOf(1)).isEqualTo(4);
        assertThat(kv.blocksNeeded(1, 13)).isZero();
        assertThat(kv.blocksNeeded(1, 17)).isEqualTo(1);
        assertThat(kv.freeBlocks()).isEqualTo(3);
        assertThat(kv.usedBlocks()).isEqualTo(5);
        assertThat(kv.usage()).isEqualTo(5.0 / 8);
    }

    @Test
    void blockTableIsACopy() {
        KvCacheManager kv = new KvCacheManager(4, BS, false);
        kv.allocate(1, 8);
        kv.blockTable(1)[0] = 3;
        assertThat(kv.blockTable(1)).containsExactly(0, 1);
    }

    @Test
    void freeReleasesLastBlockFirst() {
        KvCacheManager kv = new KvCacheManager(8, BS, false);
        kv.allocate(1, 12);
        kv.free(1);
        assertThat(kv.pool().freeQueue()).containsExactly(3, 4, 5, 6, 7, 2, 1, 0);
        assertThat(kv.allocate(2, 32)).isTrue();
        assertThat(kv.blockTable(2)).containsExactly(3, 4, 5, 6, 7, 2, 1, 0);
    }

    @Test
    void sharedPrefixReusesTheSameBlocks() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        int[] a = run(100, 10); // two full blocks and two tokens
        assertThat(prefill(kv, 1, a)).isZero();
        assertThat(kv.blockTable(1)).containsExactly(0, 1, 2);
        assertThat(kv.cachedBlocks()).isEqualTo(2);

        int[] b = concat(run(100, 8), run(500, 5));
        assertThat(kv.acquireCachedPrefix(2, b, b.length)).isEqualTo(2 * BS);
        assertThat(kv.blockTable(2)).containsExactly(0, 1);
        assertThat(kv.allocate(2, b.length)).isTrue();
        assertThat(kv.blockTable(2)).containsExactly(0, 1, 3, 4);
        assertThat(kv.pool().refCount(0)).isEqualTo(2);
        assertThat(kv.pool().refCount(1)).isEqualTo(2);
        assertThat(kv.usedBlocks()).isEqualTo(5);

        kv.free(1);
        assertThat(kv.pool().refCount(0)).isEqualTo(1);
        assertThat(kv.pool().refCount(2)).isZero();
        assertThat(kv.usedBlocks()).isEqualTo(4);
        assertThat(kv.prefixQueryTokens()).isEqualTo(10 + 13);
        assertThat(kv.prefixHitTokens()).isEqualTo(8);
    }

    @Test
    void promptOfExactlyFullBlocksRecomputesItsLastBlock() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        int[] prompt = run(7, 2 * BS);
        prefill(kv, 1, prompt);
        assertThat(kv.blockTable(1)).containsExactly(0, 1);

        assertThat(kv.acquireCachedPrefix(2, prompt, prompt.length)).isEqualTo(BS);
        assertThat(kv.allocate(2, prompt.length)).isTrue();
        assertThat(kv.blockTable(2)).containsExactly(0, 2);
        // Block 2 now holds the same content as block 1; the first one cached stays the cached one.
        kv.cacheFullBlocks(2, prompt, prompt.length);
        assertThat(kv.pool().hashOf(2)).isNull();
        assertThat(kv.cachedBlocks()).isEqualTo(2);

        kv.free(1);
        assertThat(kv.acquireCachedPrefix(3, concat(prompt, run(0, 1)), prompt.length + 1)).isEqualTo(2 * BS);
        assertThat(kv.blockTable(3)).containsExactly(0, 1);
    }

    @Test
    void aPromptShorterThanOneBlockPlusOneTokenNeverHits() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        int[] prompt = run(0, BS);
        prefill(kv, 1, prompt);
        assertThat(kv.acquireCachedPrefix(2, prompt, BS)).isZero();
        assertThat(kv.acquireCachedPrefix(3, prompt, 1)).isZero();
        assertThat(kv.acquireCachedPrefix(4, prompt, 0)).isZero();
        assertThat(kv.numBlocksOf(2)).isZero();
    }

    @Test
    void equalBlockContentAfterADifferentPrefixDoesNotHit() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        prefill(kv, 1, concat(run(0, BS), run(50, BS + 1)));
        int[] other = concat(run(10, BS), run(50, BS + 1));
        assertThat(kv.acquireCachedPrefix(2, other, other.length)).isZero();
    }

    @Test
    void blocksFilledDuringDecodeAreCachedForTheNextTurn() {
        KvCacheManager kv = new KvCacheManager(8, BS, true);
        int[] tokens = run(0, 12);
        // Prompt of 6 tokens, then decode one token per step up to 11 computed.
        prefill(kv, 1, Arrays.copyOf(tokens, 6));
        assertThat(kv.cachedBlocks()).isEqualTo(1);
        for (int computed = 7; computed <= 11; computed++) {
            assertThat(kv.allocate(1, computed)).isTrue();
            kv.cacheFullBlocks(1, tokens, computed);
        }
        assertThat(kv.blockTable(1)).containsExactly(0, 1, 2);
        assertThat(kv.cachedBlocks()).isEqualTo(2);
        kv.free(1);

        int[] nextTurn = concat(tokens, run(900, 3));
        assertThat(kv.acquireCachedPrefix(2, nextTurn, nextTurn.length)).isEqualTo(2 * BS);
        assertThat(kv.blockTable(2)).containsExactly(0, 1);
    }

    @Test
    void cachedFreeBlocksAreEvictedLeastRecentlyFreedFirst() {
        KvCacheManager kv = new KvCacheManager(4, BS, true);
        int[] a = run(0, 2 * BS);
        int[] b = run(100, 2 * BS);
        prefill(kv, 1, a); // blocks 0, 1
        kv.free(1); // queue 2, 3, 1, 0
        prefill(kv, 2, b); // blocks 2, 3
        kv.free(2); // queue 1, 0, 3, 2
        assertThat(kv.freeBlocks()).isEqualTo(4);
        assertThat(kv.cachedBlocks()).isEqualTo(4);

        // A third request evicts a's tail block (freed longest ago), nothing else.
        assertThat(kv.allocate(3, BS)).isTrue();
        assertThat(kv.blockTable(3)).containsExactly(1);
        assertThat(kv.evictedBlocks()).isEqualTo(1);
        assertThat(kv.cachedBlocks()).isEqualTo(3);

        int[] aAgain = concat(a, run(0, 1));
        assertThat(kv.acquireCachedPrefix(4, aAgain, aAgain.length)).isEqualTo(BS);
        assertThat(kv.blockTable(4)).containsExactly(0);
        int[] bAgain = concat(b, run(0, 1));
        assertThat(kv.acquireCachedPrefix(5, bAgain, bAgain.length)).isEqualTo(2 * BS);
        assertThat(kv.blockTable(5)).containsExactly(2, 3);
        assertThat(kv.freeBlocks()).isZero();
    }

    @Test
    void allocateFailsWithoutSideEffectsWhenShort() {
        KvCacheManager kv = new KvCacheManager(4, BS, true);
        prefill(kv, 1, run(0, 2 * BS)); // blocks 0, 1 cached
        kv.free(1);
        assertThat(kv.allocate(2, 2 * BS)).isTrue(); // takes 2, 3
        assertThat(kv.freeBlocks()).isEqualTo(2); // the two cached-free blocks count as allocatable

        int[] queueBefore = kv.pool().freeQueue();
        assertThat(kv.allocate(2, 5 * BS)).isFalse();
        assertThat(kv.blockTable(2)).containsExactly(2, 3);
        assertThat(kv.allocate(3, 3 * BS)).isFalse();
        assertThat(kv.numBlocksOf(3)).isZero();
        assertThat(kv.blockTable(3)).isEmpty();
        assertThat(kv.pool().freeQueue()).containsExactly(queueBefore);
        assertThat(kv.cachedBlocks()).isEqualTo(2);
        assertThat(kv.evictedBlocks()).isZero();

        assertThat(kv.allocate(2, 4 * BS)).isTrue();
        assertThat(kv.blockTable(2)).containsExactly(2, 3, 1, 0);
        assertThat(kv.evictedBlocks()).isEqualTo(2);
    }

    @Test
    void freeingUnknownOrAlreadyFreedRequestsIsANoOp() {
        KvCacheManager kv = new KvCacheManager(4, BS, true);
        kv.free(42);
        kv.allocate(1, 5);
        kv.free(1);
        kv.free(1);
        assertThat(kv.freeBlocks()).isEqualTo(4);
        assertThat(kv.usedBlocks()).isZero();
    }

    @Test
    void everythingFreedLeavesAllBlocksAllocatable() {
        KvCacheManager kv = new KvCacheManager(6, BS, true);
        int[] prompt = run(0, 9);
        prefill(kv, 1, prompt);
        prefill(kv, 2, prompt);
        prefill(kv, 3, concat(prompt, run(20, 3)));
        kv.free(2);
        kv.free(3);
        kv.free(1);
        assertThat(kv.freeBlocks()).isEqualTo(6);
        assertThat(kv.usedBlocks()).isZero();
        assertThat(kv.usage()).isZero();
        for (int b = 0; b < 6; b++) {
            assertThat(kv.pool().refCount(b)).isZero();
        }
    }

    @Test
    void withoutPrefixCachingNothingIsCachedOrHit() {
        KvCacheManager kv = new KvCacheManager(8, BS, false);
        int[] prompt = run(0, 10);
        assertThat(prefill(kv, 1, prompt)).isZero();
        assertThat(prefill(kv, 2, prompt)).isZero();
        assertThat(kv.blockTable(2)).containsExactly(3, 4, 5);
        assertThat(kv.cachedBlocks()).isZero();
        kv.free(1);
        assertThat(kv.acquireCachedPrefix(3, prompt, prompt.length)).isZero();
        assertThat(kv.prefixQueryTokens()).isZero();
        assertThat(kv.prefixHitTokens()).isZero();
    }

    @Test
    void misuseIsReportedClearly() {
        KvCacheManager kv = new KvCacheManager(4, BS, true);
        int[] prompt = run(0, 6);
        kv.allocate(1, 6);
        assertThatThrownBy(() -> kv.acquireCachedPrefix(1, prompt, 6))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already holds 2 blocks");
        assertThatThrownBy(() -> kv.acquireCachedPrefix(2, prompt, 7)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> kv.cacheFullBlocks(1, prompt, 9))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("9 computed tokens");
        assertThatThrownBy(() -> kv.cacheFullBlocks(3, prompt, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> kv.blocksNeeded(1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvCacheManager(4, 0, true)).isInstanceOf(IllegalArgumentException.class);
    }
}
