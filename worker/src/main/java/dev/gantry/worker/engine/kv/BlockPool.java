package dev.gantry.worker.engine.kv;

import java.util.HashMap;
import java.util.Map;

/**
 * The KV-cache blocks {@code 0..numBlocks-1}: who references them, which full blocks are cached
 * under a {@link BlockHash}, and in which order unreferenced blocks are reused.
 *
 * <p>Every block with reference count 0 sits in one free queue. Allocation takes the head; a
 * freed block joins the tail, so among cached blocks the least recently freed is evicted first.
 * A prefix hit on a cached-free block pulls it out of the middle of the queue, which is why the
 * queue is a doubly linked list threaded through two int arrays (O(1) unlink) rather than a
 * deque.
 *
 * <p>Not thread-safe: one scheduler thread mutates the pool. The counters may be read from
 * other threads and then reflect some recent state.
 */
public final class BlockPool {
    private static final int NONE = -1;

    // NOTE: each block is in exactly one state:
    //   free        refCount == 0, in the free queue, hash == null
    //   in use      refCount >= 1, not in the queue, hash == null or registered in cached
    //   cached-free refCount == 0, in the free queue, hash registered in cached (evictable)
    // so "in the free queue" <=> refCount == 0, and cached maps each hash to the one block holding it.
    private final int numBlocks;
    private final int[] refCount;
    private final BlockHash[] hashes;
    private final Map<BlockHash, Integer> cached = new HashMap<>();

    // Intrusive free queue: prev/next of each queued block, NONE at the ends.
    private final int[] prev;
    private final int[] next;
    private int head = NONE;
    private int tail = NONE;
    private volatile int freeCount;

    private volatile long allocations;
    private volatile long evictions;

    public BlockPool(int numBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        }
        this.numBlocks = numBlocks;
        this.refCount = new int[numBlocks];
        this.hashes = new BlockHash[numBlocks];
        this.prev = new int[numBlocks];
        this.next = new int[numBlocks];
        for (int b = 0; b < numBlocks; b++) {
            append(b);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Blocks that {@link #allocate} can hand out now: free plus cached-free. */
    public int freeBlocks() {
        return freeCount;
    }

    /** Blocks referenced by at least one request. */
    public int usedBlocks() {
        return numBlocks - freeCount;
    }

    /** Blocks whose hash is registered, in use or cached-free. */
    public int cachedBlocks() {
        return cached.size();
    }

    /** Blocks handed out by {@link #allocate} so far. */
    public long allocations() {
        return allocations;
    }

    /** Cached-free blocks whose hash was dropped because the block was reallocated. */
    public long evictions() {
        return evictions;
    }

    /**
     * Takes the block at the head of the free queue, evicting its cached content if it has any,
     * with reference count 1.
     *
     * @throws IllegalStateException when no block is free; check {@link #freeBlocks} first
     */
    public int allocate() {
        if (head == NONE) {
            throw new IllegalStateException("no free KV block (all " + numBlocks + " are in use)");
        }
        int block = head;
        unlink(block);
        if (hashes[block] != null) {
            cached.remove(hashes[block]);
            hashes[block] = null;
            evictions++;
        }
        refCount[block] = 1;
        allocations++;
        return block;
    }

    /** The block cached under {@code hash} (in use or cached-free), or -1. */
    public int lookup(BlockHash hash) {
        Integer block = cached.get(hash);
        return block == null ? NONE : block;
    }

    /** Adds a reference to a block, taking it out of the free queue if it was cached-free (a prefix hit). */
    public void touch(int block) {
        checkBlock(block);
        if (refCount[block] == 0) {
            if (hashes[block] == null) {
                // A free block has no content anyone may rely on; only allocate() may hand it out.
                throw new IllegalStateException("block " + block + " is free and holds no cached content");
            }
            unlink(block);
        }
        refCount[block]++;
    }

    /**
     * Drops one reference. At zero the block joins the tail of the free queue, keeping its hash,
     * so it can still be hit until it is evicted.
     */
    public void release(int block) {
        checkBlock(block);
        if (refCount[block] == 0) {
            throw new IllegalStateException("block " + block + " is released more often than referenced");
        }
        if (--refCount[block] == 0) {
            append(block);
        }
    }

    /**
     * Caches an in-use, full block under {@code hash}. Returns false and changes nothing when
     * another block already holds that hash; the caller keeps its block uncached rather than
     * swapping, since requests may already point at either copy.
     */
    public boolean register(int block, BlockHash hash) {
        checkBlock(block);
        if (refCount[block] == 0) {
            throw new IllegalStateException("block " + block + " is not in use; only computed blocks can be cached");
        }
        if (hashes[block] != null) {
            throw new IllegalStateException("block " + block + " is already cached");
        }
        if (cached.putIfAbsent(hash, block) != null) {
            return false;
        }
        hashes[block] = hash;
        return true;
    }

    /** How many references the block has. */
    public int refCount(int block) {
        checkBlock(block);
        return refCount[block];
    }

    /** The block's registered hash, or null. */
    public BlockHash hashOf(int block) {
        checkBlock(block);
        return hashes[block];
    }

    /** The free queue from head (next to be allocated) to tail; for tests and debugging. */
    int[] freeQueue() {
        int[] order = new int[freeCount];
        int i = 0;
        for (int b = head; b != NONE; b = next[b]) {
            order[i++] = b;
        }
        return order;
    }

    private void append(int block) {
        prev[block] = tail;
        next[block] = NONE;
        if (tail == NONE) {
            head = block;
        } else {
            next[tail] = block;
        }
        tail = block;
        freeCount++;
    }

    private void unlink(int block) {
        int p = prev[block];
        int n = next[block];
        if (p == NONE) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n == NONE) {
            tail = p;
        } else {
            prev[n] = p;
        }
        prev[block] = NONE;
        next[block] = NONE;
        freeCount--;
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= numBlocks) {
            throw new IllegalArgumentException("block id " + block + " is outside 0.." + (numBlocks - 1));
        }
    }
}
