package dev.gantry.worker.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Which KV blocks each request owns, with automatic prefix caching: full blocks are keyed by a
 * {@link BlockHash} chained over all tokens up to them, so a new request whose prompt starts
 * with an already computed prefix attaches those blocks instead of recomputing them.
 *
 * <p>The scheduler's cycle for one request:
 * <ol>
 *   <li>{@link #acquireCachedPrefix} once at admission: attaches cached prefix blocks and says
 *       how many prompt tokens need no computing;
 *   <li>{@link #allocate} before each step, for all tokens the request will then have;
 *   <li>{@link #cacheFullBlocks} after each step, once the step's K/V are written;
 *   <li>{@link #free} when the request finishes, is cancelled or is preempted.
 * </ol>
 * If {@code allocate} fails right after admission, {@code free} hands the prefix blocks back.
 *
 * <p>Not thread-safe: the scheduler thread calls everything except the {@link KvBlocks}
 * counters, which any thread may read.
 */
public final class KvCacheManager implements KvBlocks {
    private final int blockSize;
    private final boolean prefixCaching;
    private final BlockPool pool;
    private final BlockHash.Hasher hasher = new BlockHash.Hasher();
    private final Map<Long, RequestBlocks> requests = new HashMap<>();

    private volatile long prefixQueryTokens;
    private volatile long prefixHitTokens;

    /** One request's block table, plus the chain keys of its leading full blocks. */
    private static final class RequestBlocks {
        int[] blocks = new int[8];
        int count;
        BlockHash[] keys = new BlockHash[8];
        // Leading blocks whose key is known: prefix hits and blocks passed to cacheFullBlocks.
        int keyed;

        void add(int block) {
            if (count == blocks.length) {
                blocks = Arrays.copyOf(blocks, count * 2);
            }
            blocks[count++] = block;
        }

        void addKey(BlockHash key) {
            if (keyed == keys.length) {
                keys = Arrays.copyOf(keys, keyed * 2);
            }
            keys[keyed++] = key;
        }
    }

    public KvCacheManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        this.pool = new BlockPool(numBlocks);
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int numBlocks() {
        return pool.numBlocks();
    }

    @Override
    public int freeBlocks() {
        return pool.freeBlocks();
    }

    @Override
    public int usedBlocks() {
        return pool.usedBlocks();
    }

    @Override
    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    @Override
    public long prefixHitTokens() {
        return prefixHitTokens;
    }

    public boolean prefixCaching() {
        return prefixCaching;
    }

    /**
     * At admission (the request holds no blocks yet): finds the longest cached prefix of {@code
     * tokens[0, numTokens)} made of full blocks, attaches those blocks to the request and returns
     * how many tokens they cover (a multiple of the block size). Only blocks lying entirely within
     * the first {@code numTokens - 1} tokens count, because the last prompt token must still be
     * computed to get its logits; a prompt of exactly k full blocks reuses at most k - 1. Returns
     * 0 when prefix caching is off.
     *
     * @throws IllegalStateException when the request already holds blocks
     */
    public int acquireCachedPrefix(long requestId, int[] tokens, int numTokens) {
        if (numTokens < 0 || numTokens > tokens.length) {
            throw new IllegalArgumentException("numTokens " + numTokens + " is outside 0.." + tokens.length);
        }
        RequestBlocks held = requests.get(requestId);
        if (held != null && held.count > 0) {
            throw new IllegalStateException("request " + requestId + " already holds " + held.count + " blocks");
        }
        if (!prefixCaching || numTokens == 0) {
            return 0;
        }
        int maxBlocks = (numTokens - 1) / blockSize;
        int[] hits = new int[maxBlocks];
        BlockHash[] keys = new BlockHash[maxBlocks];
        int found = 0;
        BlockHash parent = null;
        while (found < maxBlocks) {
            BlockHash key = hasher.hash(parent, tokens, found * blockSize, (found + 1) * blockSize);
            int block = pool.lookup(key);
            if (block < 0) {
                break;
            }
            hits[found] = block;
            keys[found] = key;
            parent = key;
            found++;
        }
        if (found > 0) {
            RequestBlocks request = requests.computeIfAbsent(requestId, id -> new RequestBlocks());
            for (int i = 0; i < found; i++) {
                pool.touch(hits[i]);
                request.add(hits[i]);
                request.addKey(keys[i]);
            }
        }
        int hitTokens = found * blockSize;
        prefixQueryTokens += numTokens;
        prefixHitTokens += hitTokens;
        return hitTokens;
    }

    /**
     * Makes sure the request owns blocks for positions {@code [0, totalTokens)}, taking new ones
     * from the pool (evicting least recently freed cached blocks as needed). Returns false and
     * changes nothing when too few blocks are allocatable.
     */
    public boolean allocate(long requestId, int totalTokens) {
        int needed = blocksNeeded(requestId, totalTokens);
        if (needed == 0) {
            return true;
        }
        if (needed > pool.freeBlocks()) {
            return false;
        }
        RequestBlocks request = requests.computeIfAbsent(requestId, id -> new RequestBlocks());
        for (int i = 0; i < needed; i++) {
            request.add(pool.allocate());
        }
        return true;
    }

    /**
     * After a step wrote K/V for positions {@code [0, numComputed)} of {@code tokens}: caches
     * every block of the request that is now full and not yet keyed. When another block already
     * holds an equal key (another request computed the same prefix at the same time), this
     * request keeps its own block uncached. No-op when prefix caching is off.
     */
    public void cacheFullBlocks(long requestId, int[] tokens, int numComputed) {
        if (!prefixCaching) {
            return;
        }
        RequestBlocks request = requests.get(requestId);
        int owned = request == null ? 0 : request.count;
        if (numComputed < 0 || numComputed > tokens.length || numComputed > owned * blockSize) {
            throw new IllegalArgumentException("request " + requestId + ": " + numComputed
                    + " computed tokens do not fit its " + tokens.length + " tokens and " + owned + " blocks");
        }
        // NOTE: only full blocks are keyed, and only after their K/V were written (the caller
        // promises numComputed positions are computed), so a hit never reads unwritten memory.
        int full = numComputed / blockSize;
        for (int i = request == null ? full : request.keyed; i < full; i++) {
            BlockHash parent = i == 0 ? null : request.keys[i - 1];
            BlockHash key = hasher.hash(parent, tokens, i * blockSize, (i + 1) * blockSize);
            pool.register(request.blocks[i], key);
            // The key chains on even when registering lost to an equal block: it names content.
            request.addKey(key);
        }
    }

    /** The request's physical block ids in position order, as a fresh copy; empty for an unknown request. */
    public int[] blockTable(long requestId) {
        RequestBlocks request = requests.get(requestId);
        return request == null ? new int[0] : Arrays.copyOf(request.blocks, request.count);
    }

    /** How many blocks the request owns (0 for an unknown request). */
    public int numBlocksOf(long requestId) {
        RequestBlocks request = requests.get(requestId);
        return request == null ? 0 : request.count;
    }

    /** How many more blocks the request needs to hold positions {@code [0, totalTokens)}. */
    public int blocksNeeded(long requestId, int totalTokens) {
        if (totalTokens < 0) {
            throw new IllegalArgumentException("totalTokens must not be negative, got " + totalTokens);
        }
        int blocks = (int) (((long) totalTokens + blockSize - 1) / blockSize);
        return Math.max(0, blocks - numBlocksOf(requestId));
    }

    /**
     * Releases every block of the request. Blocks are released last first so that, once they are
     * cached-free, the tail of a prefix is evicted before its head (a head is shared more often).
     * An unknown request is a no-op, so cancel paths may call this freely.
     */
    public void free(long requestId) {
        RequestBlocks request = requests.remove(requestId);
        if (request == null) {
            return;
        }
        for (int i = request.count - 1; i >= 0; i--) {
            pool.release(request.blocks[i]);
        }
    }

    /** Blocks whose content is cached (in use or cached-free). */
    public int cachedBlocks() {
        return pool.cachedBlocks();
    }

    /** Cached blocks evicted to make room so far. */
    public long evictedBlocks() {
        return pool.evictions();
    }

    BlockPool pool() {
        return pool;
    }
}
