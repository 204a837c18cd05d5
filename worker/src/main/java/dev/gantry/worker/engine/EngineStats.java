package dev.gantry.worker.engine;

/**
 * A snapshot of the engine's load.
 *
 * @param running     requests scheduled (holding KV blocks)
 * @param waiting     requests queued, including preempted ones
 * @param usedBlocks  KV blocks referenced by at least one request
 * @param totalBlocks KV blocks in the cache
 */
public record EngineStats(int running, int waiting, int usedBlocks, int totalBlocks) {

    /** Fraction of KV blocks in use, 0..1 (vLLM's {@code kv_cache_usage_perc}). */
    public double kvUsage() {
        return totalBlocks == 0 ? 0 : (double) usedBlocks / totalBlocks;
    }
}
