package dev.gantry.worker.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Device buffers for the small host arrays a call passes (token ids, cache slots, positions,
 * block tables, rope angles), one per purpose so that the arrays of one step never overwrite
 * each other before their kernels run. Each only grows.
 */
final class Staging implements AutoCloseable {
    static final int TOKENS = 0;
    static final int SLOTS = 1;
    static final int ROW_SEQ = 2;
    static final int ROW_POS = 3;
    static final int BLOCK_TABLES = 4;
    static final int GATHER = 5;
    static final int ROPE_COS = 6;
    static final int ROPE_SIN = 7;
    static final int DECODE_ROWS = 8;
    static final int TILE_SEQ = 9;
    static final int TILE_ROW = 10;
    static final int TILE_LEN = 11;
    static final int TILE_POS = 12;
    static final int ARGMAX = 13;
    static final int SAMPLE_GREEDY = 14;
    static final int SAMPLE_INV_TEMPERATURE = 15;
    static final int SAMPLE_TOP_K = 16;
    static final int SAMPLE_TOP_P = 17;
    static final int SAMPLE_MIN_P = 18;
    static final int SAMPLE_UNIFORM = 19;
    private static final int PURPOSES = 20;

    private final Device device;
    private final long[] address = new long[PURPOSES];
    private final long[] capacity = new long[PURPOSES];

    Staging(Device device) {
        this.device = device;
    }

    /** The first n values of {@code values} on the device, in the buffer of {@code purpose}. */
    long ints(int purpose, int[] values, int n) {
        long at = reserve(purpose, 4L * n);
        if (n > 0) {
            device.copyToDevice(MemorySegment.ofArray(values).asSlice(0, 4L * n), at);
        }
        return at;
    }

    long floats(int purpose, float[] values) {
        long at = reserve(purpose, 4L * values.length);
        if (values.length > 0) {
            device.copyToDevice(MemorySegment.ofArray(values), at);
        }
        return at;
    }

    long doubles(int purpose, double[] values) {
        long at = reserve(purpose, 8L * values.length);
        if (values.length > 0) {
            device.copyToDevice(MemorySegment.ofArray(values), at);
        }
        return at;
    }

    /** A device buffer of at least {@code bytes} for {@code purpose}, contents undefined. */
    long reserve(int purpose, long bytes) {
        if (capacity[purpose] < bytes) {
            if (address[purpose] != 0) {
                device.free(address[purpose]);
            }
            long size = Math.max(1024, Long.highestOneBit(bytes - 1) << 1);
            address[purpose] = device.alloc(size);
            capacity[purpose] = size;
        }
        return address[purpose];
    }

    @Override
    public void close() {
        for (int i = 0; i < PURPOSES; i++) {
            if (address[i] != 0) {
                device.free(address[i]);
                address[i] = 0;
                capacity[i] = 0;
            }
        }
    }
}
