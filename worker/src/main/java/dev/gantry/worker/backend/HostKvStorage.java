package dev.gantry.worker.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * KV cache in native memory (off the Java heap), one K and one V area per layer, each {@code
 * [numBlocks * blockSize][rowBytes]}: slot {@code s} of a layer holds one token's {@code kvDim}
 * values at byte {@code s * rowBytes}, encoded as {@link #dtype()} says. Off the heap, the cache
 * is not bounded by the largest Java array (8 GiB of floats per layer), the garbage collector
 * never copies or scans it, and native kernels can read it where it lies; it lies on huge pages
 * where the system has them ({@link HostMemory}). The memory is zeroed, so
 * resident, when allocated: a worker that cannot have its whole cache fails at start rather than
 * when requests fill it, and its memory stays flat under load. {@link #close} frees it.
 */
public final class HostKvStorage implements KvStorage {
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;
    private final KvCacheDtype dtype;
    private final long rowBytes;
    private final Arena arena = Arena.ofShared();
    /** [layers] of [numBlocks * blockSize][rowBytes] */
    private final MemorySegment[] k;
    /** [layers] of [numBlocks * blockSize][rowBytes] */
    private final MemorySegment[] v;

    public HostKvStorage(int layers, int numBlocks, int blockSize, int kvDim, KvCacheDtype dtype) {
        if (dtype == KvCacheDtype.Q8_0 && kvDim % KvCacheDtype.Q8_BLOCK != 0) {
            throw new IllegalArgumentException("a q8_0 KV cache needs kvDim a multiple of 32, not " + kvDim);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.dtype = dtype;
        this.rowBytes = dtype.rowBytes(kvDim);
        long perLayer = (long) numBlocks * blockSize * rowBytes;
        long stride = HostMemory.roundUp(perLayer, 64);
        this.k = new MemorySegment[layers];
        this.v = new MemorySegment[layers];
        try {
            // One buffer for all (on huge pages where the system has them; HostMemory), so that
            // no layer's area ends in a huge page of its own mostly unused.
            MemorySegment all = HostMemory.allocate(2 * layers * stride, true, arena);
            for (int l = 0; l < layers; l++) {
                k[l] = all.asSlice(2 * l * stride, perLayer);
                v[l] = all.asSlice((2 * l + 1) * stride, perLayer);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** The K rows of one layer: [numBlocks * blockSize][rowBytes()]. */
    public MemorySegment keys(int layer) {
        return k[layer];
    }

    /** The V rows of one layer: [numBlocks * blockSize][rowBytes()]. */
    public MemorySegment values(int layer) {
        return v[layer];
    }

    /** Bytes of one slot's row (kvDim values encoded as {@link #dtype()}). */
    public long rowBytes() {
        return rowBytes;
    }

    @Override
    public KvCacheDtype dtype() {
        return dtype;
    }

    /** Encodes one token's K and V rows, {@code kvDim} values each from the given offsets, into {@code slot}. */
    public void store(int layer, int slot, float[] keys, int keyOff, float[] values, int valueOff) {
        dtype.encode(keys, keyOff, kvDim, k[layer], slot * rowBytes);
        dtype.encode(values, valueOff, kvDim, v[layer], slot * rowBytes);
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
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
