package dev.gantry.worker.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BlockPoolTest {
    private final BlockHash.Hasher hasher = new BlockHash.Hasher();

    private BlockHash key(int... tokens) {
        return hasher.hash(null, tokens, 0, tokens.length);
    }

    @Test
    void freshPoolHandsOutBlocksInIdOrder() {
        BlockPool pool = new BlockPool(4);
        assertThat(pool.freeQueue()).containsExactly(0, 1, 2, 3);
        assertThat(pool.allocate()).isEqualTo(0);
        assertThat(pool.allocate()).isEqualTo(1);
        assertThat(pool.allocate()).isEqualTo(2);
        assertThat(pool.freeBlocks()).isEqualTo(1);
        assertThat(pool.usedBlocks()).isEqualTo(3);
        assertThat(pool.refCount(1)).isEqualTo(1);
        assertThat(pool.allocations()).isEqualTo(3);
    }

    @Test
    void releasedBlocksJoinTheTailAndAreReusedInReleaseOrder() {
        BlockPool pool = new BlockPool(5);
        for (int i = 0; i < 4; i++) {
            pool.allocate();
        }
        pool.release(2);
        pool.release(0);
        assertThat(pool.freeQueue()).containsExactly(4, 2, 0);
        assertThat(pool.allocate()).isEqualTo(4);
        assertThat(pool.allocate()).isEqualTo(2);
        assertThat(pool.allocate()).isEqualTo(0);
    }

    @Test
    void emptyPoolRefusesToAllocate() {
        BlockPool pool = new BlockPool(1);
        pool.allocate();
        assertThatThrownBy(pool::allocate).isInstanceOf(IllegalStateException.class).hasMessageContaining("no free KV block");
    }

    @Test
    void cachedFreeBlockStaysFindableUntilEvictedLeastRecentlyFreedFirst() {
        BlockPool pool = new BlockPool(3);
        int a = pool.allocate();
        int b = pool.allocate();
        BlockHash ka = key(1, 2);
        BlockHash kb = key(3, 4);
        assertThat(pool.register(a, ka)).isTrue();
        assertThat(pool.register(b, kb)).isTrue();
        pool.release(b);
        pool.release(a);
        // queue: 2 (never used), then b (freed first), then a
        assertThat(pool.freeQueue()).containsExactly(2, b, a);
        assertThat(pool.lookup(ka)).isEqualTo(a);
        assertThat(pool.lookup(kb)).isEqualTo(b);
        assertThat(pool.cachedBlocks()).isEqualTo(2);

        assertThat(pool.allocate()).isEqualTo(2);
        assertThat(pool.evictions()).isZero();
        assertThat(pool.allocate()).isEqualTo(b);
        assertThat(pool.evictions()).isEqualTo(1);
        assertThat(pool.lookup(kb)).isEqualTo(-1);
        assertThat(pool.hashOf(b)).isNull();
        assertThat(pool.lookup(ka)).isEqualTo(a);
        assertThat(pool.cachedBlocks()).isEqualTo(1);
    }

    @Test
    void touchingACachedFreeBlockTakesItOutOfTheMiddleOfTheQueue() {
        BlockPool pool = new BlockPool(4);
        for (int i = 0; i < 4; i++) {
            pool.allocate();
        }
        pool.register(1, key(7));
        for (int i = 0; i < 4; i++) {
            pool.release(i);
        }
        assertThat(pool.freeQueue()).containsExactly(0, 1, 2, 3);
        pool.touch(1);
        assertThat(pool.freeQueue()).containsExactly(0, 2, 3);
        assertThat(pool.refCount(1)).isEqualTo(1);
        assertThat(pool.usedBlocks()).isEqualTo(1);
        pool.touch(1);
        assertThat(pool.refCount(1)).isEqualTo(2);
        pool.release(1);
        assertThat(pool.freeQueue()).containsExactly(0, 2, 3);
        pool.release(1);
        assertThat(pool.freeQueue()).containsExactly(0, 2, 3, 1);
        assertThat(pool.hashOf(1)).isEqualTo(key(7));
    }

    @Test
    void headAndTailCanBeTouchedToo() {
        BlockPool pool = new BlockPool(3);
        for (int i = 0; i < 3; i++) {
            pool.register(pool.allocate(), key(i));
        }
        for (int i = 0; i < 3; i++) {
            pool.release(i);
        }
        pool.touch(0);
        pool.touch(2);
        assertThat(pool.freeQueue()).containsExactly(1);
        pool.touch(1);
        assertThat(pool.freeQueue()).isEmpty();
        assertThat(pool.freeBlocks()).isZero();
        pool.release(2);
        pool.release(0);
        assertThat(pool.freeQueue()).containsExactly(2, 0);
    }

    @Test
    void registeringAnExistingKeyIsRefusedAndLeavesTheBlockUncached() {
        BlockPool pool = new BlockPool(2);
        int first = pool.allocate();
        int second = pool.allocate();
        assertThat(pool.register(first, key(5, 6))).isTrue();
        assertThat(pool.register(second, key(5, 6))).isFalse();
        assertThat(pool.hashOf(second)).isNull();
        assertThat(pool.lookup(key(5, 6))).isEqualTo(first);
    }

    @Test
    void misuseIsReportedClearly() {
        BlockPool pool = new BlockPool(2);
        assertThatThrownBy(() -> new BlockPool(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pool.release(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        assertThatThrownBy(() -> pool.touch(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("free");
        assertThatThrownBy(() -> pool.register(0, key(1))).isInstanceOf(IllegalStateException.class).hasMessageContaining("not in use");
        assertThatThrownBy(() -> pool.refCount(2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 0..1");
        int b = pool.allocate();
        pool.register(b, key(1));
        assertThatThrownBy(() -> pool.register(b, key(2))).isInstanceOf(IllegalStateException.class).hasMessageContaining("already cached");
    }
}
