package dev.gantry.worker.engine;

import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.model.llama.LlamaConfig;

/**
 * The engine's limits, fixed at start.
 *
 * @param maxNumSeqs          the most requests running (holding KV blocks) at once
 * @param maxNumBatchedTokens the token budget of one step, shared by prefill chunks and decode tokens
 * @param blockSize           KV-cache block size in tokens
 * @param numBlocks           KV-cache blocks
 * @param maxModelLen         the most tokens (prompt + output) of one request
 * @param maxWaiting          the most requests queued before new ones are refused with QUEUE_FULL
 * @param prefixCaching       reuse the K/V of cached full blocks of a shared prefix
 * @param kvCacheDtype        how the KV cache stores values
 */
public record EngineConfig(int maxNumSeqs, int maxNumBatchedTokens, int blockSize, int numBlocks, int maxModelLen,
        int maxWaiting, boolean prefixCaching, KvCacheDtype kvCacheDtype) {

    /** A cache of floats as computed ({@link KvCacheDtype#F32}). */
    public EngineConfig(int maxNumSeqs, int maxNumBatchedTokens, int blockSize, int numBlocks, int maxModelLen,
            int maxWaiting, boolean prefixCaching) {
        this(maxNumSeqs, maxNumBatchedTokens, blockSize, numBlocks, maxModelLen, maxWaiting, prefixCaching,
                KvCacheDtype.F32);
    }

    public EngineConfig {
        require(maxNumSeqs >= 1, "max-num-seqs must be at least 1, not " + maxNumSeqs);
        require(maxNumBatchedTokens >= 1, "max-num-batched-tokens must be at least 1, not " + maxNumBatchedTokens);
        require(blockSize >= 1 && blockSize <= 1024, "the KV block size must be 1..1024, not " + blockSize);
        require(numBlocks >= 1, "the KV cache needs at least one block, not " + numBlocks);
        require(maxModelLen >= 2, "max-model-len must be at least 2, not " + maxModelLen);
        require(maxWaiting >= 0, "the waiting-queue bound must not be negative, not " + maxWaiting);
        require(kvCacheDtype != null, "the KV-cache dtype must be given");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Bytes of KV cache one block takes for {@code model} (K and V, every layer, float32). */
    public static long bytesPerBlock(LlamaConfig model, int blockSize) {
        return bytesPerBlock(model, blockSize, KvCacheDtype.F32);
    }

    /** Bytes of KV cache one block takes for {@code model} (K and V, every layer) stored as {@code dtype}. */
    public static long bytesPerBlock(LlamaConfig model, int blockSize, KvCacheDtype dtype) {
        return 2L * model.layers() * dtype.rowBytes(model.kvDim()) * blockSize;
    }

    /** How many blocks fit in {@code bytes} of KV-cache memory (float32). */
    public static int blocksFor(long bytes, LlamaConfig model, int blockSize) {
        return blocksFor(bytes, model, blockSize, KvCacheDtype.F32);
    }

    /** How many blocks fit in {@code bytes} of KV-cache memory stored as {@code dtype}. */
    public static int blocksFor(long bytes, LlamaConfig model, int blockSize, KvCacheDtype dtype) {
        return (int) Math.min(Integer.MAX_VALUE, bytes / bytesPerBlock(model, blockSize, dtype));
    }
}
