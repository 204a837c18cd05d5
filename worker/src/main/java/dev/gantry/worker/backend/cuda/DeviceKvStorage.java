package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.KvStorage;

/**
 * The paged KV cache in device memory: for every layer one K and one V allocation, each {@code
 * [numBlocks][blockSize][kvDim]} floats (vLLM's layout, the one {@code paged_attention.cu} reads).
 */
final class DeviceKvStorage implements KvStorage {
    private final Device device;
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;
    /** [layers] device addresses */
    private final long[] keys;
    /** [layers] device addresses */
    private final long[] values;
    private boolean closed;

    private DeviceKvStorage(Device device, int layers, int numBlocks, int blockSize, int kvDim) {
        this.device = device;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.keys = new long[layers];
        this.values = new long[layers];
    }

    /** Zeroed K and V memory for every layer; what was allocated is freed again if the device runs out. */
    static DeviceKvStorage allocate(Device device, int layers, int numBlocks, int blockSize, int kvDim) {
        DeviceKvStorage kv = new DeviceKvStorage(device, layers, numBlocks, blockSize, kvDim);
        long bytes = bytesPerLayer(numBlocks, blockSize, kvDim);
        try {
            for (int l = 0; l < layers; l++) {
                kv.keys[l] = device.alloc(bytes);
                device.zero(kv.keys[l], bytes);
                kv.values[l] = device.alloc(bytes);
                device.zero(kv.values[l], bytes);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            kv.close();
            throw e;
        }
        return kv;
    }

    /** Bytes of K (or of V) of one layer. */
    static long bytesPerLayer(int numBlocks, int blockSize, int kvDim) {
        return 4L * numBlocks * blockSize * kvDim;
    }

    long keys(int layer) {
        return keys[layer];
    }

    long values(int layer) {
        return values[layer];
    }

    @Override
    public int layers() {
        return keys.length;
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
        if (closed) {
            return;
        }
        closed = true;
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != 0) {
                device.free(keys[l]);
            }
            if (values[l] != 0) {
                device.free(values[l]);
            }
        }
    }
}
