package dev.gantry.worker.backend;

/**
 * KV cache in Java float arrays, one K and one V array per layer, each {@code [numBlocks][blockSize][kvDim]}.
 */
public final class HostKvStorage implements KvStorage {
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;
    /** [layers][numBlocks * blockSize * kvDim] */
    final float[][] k;
    /** [layers][numBlocks * blockSize * kvDim] */
    final float[][] v;

    public HostKvStorage(int layers, int numBlocks, int blockSize, int kvDim) {
        long perLayer = (long) numBlocks * blockSize * kvDim;
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks is too large for one layer array");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.k = new float[layers][(int) perLayer];
        this.v = new float[layers][(int) perLayer];
    }

    public float[] keys(int layer) {
        return k[layer];
    }

    public float[] values(int layer) {
        return v[layer];
    }

    @Override
    public int layers() {
        return k.length;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int kvDim() {
        return kvDim;
    }

    @Override
    public void close() {}
}
