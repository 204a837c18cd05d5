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

    /** kvHeads * headDim: floats per token per layer, in K and in V each. */
    int kvDim();

    @Override
    void close();
}
