package dev.gantry.worker.backend;

/**
 * What every backend computing in Java heap arrays shares: buffers are {@link HostBuffer}s, the
 * KV cache is a {@link HostKvStorage}, and the ops that only move memory are plain copies.
 */
public abstract class HostMemoryBackend implements Backend {

    @Override
    public Buffer allocate(long floats) {
        return new HostBuffer(floats);
    }

    @Override
    public void upload(float[] src, int n, Buffer dst) {
        System.arraycopy(src, 0, HostBuffer.of(dst), 0, n);
    }

    @Override
    public void download(Buffer src, int n, float[] dst) {
        System.arraycopy(HostBuffer.of(src), 0, dst, 0, n);
    }

    @Override
    public KvStorage allocateKv(int layers, int numBlocks, int blockSize, int kvDim, KvCacheDtype dtype) {
        return new HostKvStorage(layers, numBlocks, blockSize, kvDim, dtype);
    }

    /** Every dtype: the cache is native memory these backends encode and decode themselves. */
    @Override
    public java.util.Set<KvCacheDtype> kvCacheDtypes() {
        return java.util.EnumSet.allOf(KvCacheDtype.class);
    }

    @Override
    public void storeKv(KvStorage kv, int layer, Buffer k, Buffer v, int rows, int[] slots) {
        // k, v: [rows][kvDim]; cache: [numBlocks * blockSize][rowBytes], encoded
        HostKvStorage s = (HostKvStorage) kv;
        int d = kv.kvDim();
        for (int r = 0; r < rows; r++) {
            s.store(layer, slots[r], HostBuffer.of(k), r * d, HostBuffer.of(v), r * d);
        }
    }

    @Override
    public void gatherRows(Buffer x, int[] rows, int n, int dim, Buffer out) {
        // x: [*][dim]; out: [n][dim]
        for (int i = 0; i < n; i++) {
            System.arraycopy(HostBuffer.of(x), rows[i] * dim, HostBuffer.of(out), i * dim, dim);
        }
    }
}
