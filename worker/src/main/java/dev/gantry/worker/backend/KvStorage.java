package dev.gantry.worker.backend;

/**
 * The paged key/value cache memory of one model, owned by a backend. For every layer there is a
 * K and a V area of shape {@code [numBlocks][blockSize][kvHeads * headDim]} (vLLM's layout): the
 * token at position {@code p} of a sequence lives in block {@code blockTable[p / blockSize]} at
 * offset {@code p % blockSize}, its "slot" being {@code block * blockSize + p % blockSize}.
 */
public interface KvStorage extends AutoCloseable {
    int layers();

    int numBlocks();

    int blockSize();

    /** kvHeads * headDim: values per token per layer, in K and in V each. */
    int kvDim();

    /** How each K and V value is stored. */
    default KvCacheDtype dtype() {
        return KvCacheDtype.F32;
    }

    /** Bytes the cache takes: K and V of every slot of every layer. */
    default long bytes() {
        return 2L * layers() * numBlocks() * blockSize() * dtype().rowBytes(kvDim());
    }

    @Override
    void close();
}
