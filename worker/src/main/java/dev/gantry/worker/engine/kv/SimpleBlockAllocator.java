package dev.gantry.worker.engine.kv;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The plainest KV-block allocator: a free list of block ids, no sharing, no prefix cache. Enough
 * for offline generation; the serving engine uses a block pool with reference counts and hashes.
 */
public final class SimpleBlockAllocator {
    private final int blockSize;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();

    public SimpleBlockAllocator(int numBlocks, int blockSize) {
        this.blockSize = blockSize;
        for (int i = 0; i < numBlocks; i++) {
            free.add(i);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int freeBlocks() {
        return free.size();
    }

    /** A block table for one sequence, grown on demand from this allocator. */
    public final class Table {
        private int[] blocks = new int[4];
        private int count;

        /** Makes sure positions 0..tokens-1 have blocks; false (and nothing taken) when too few are free. */
        public boolean ensureCapacity(int tokens) {
            int needed = (tokens + blockSize - 1) / blockSize - count;
            if (needed > free.size()) {
                return false;
            }
            for (int i = 0; i < needed; i++) {
                if (count == blocks.length) {
                    blocks = Arrays.copyOf(blocks, count * 2);
                }
                blocks[count++] = free.poll();
            }
            return true;
        }

        /** The physical block ids, one per {@code blockSize} positions. */
        public int[] blocks() {
            return Arrays.copyOf(blocks, count);
        }

        /** Returns every block to the allocator. */
        public void release() {
            for (int i = 0; i < count; i++) {
                free.add(blocks[i]);
            }
            count = 0;
        }
    }

    public Table newTable() {
        return new Table();
    }
}
