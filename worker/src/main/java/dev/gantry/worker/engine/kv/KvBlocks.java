package dev.gantry.worker.engine.kv;

/**
 * A read-only view of the KV cache's block accounting, for the scheduler's admission checks and
 * for metrics. Values may be read from any thread and then reflect some recent state.
 */
public interface KvBlocks {

    /** Blocks in the cache. */
    int numBlocks();

    /** Token positions per block. */
    int blockSize();

    /** Blocks that can be allocated now: free plus cached-free (evictable). */
    int freeBlocks();

    /** Blocks referenced by at least one request. */
    int usedBlocks();

    /** Prompt tokens looked up in the prefix cache so far. */
    long prefixQueryTokens();

    /** Prompt tokens whose K/V were found in the prefix cache so far. */
    long prefixHitTokens();

    /** Fraction of blocks in use, 0..1 (vLLM's {@code kv_cache_usage_perc}). */
    default double usage() {
        return (double) usedBlocks() / numBlocks();
    }
}
