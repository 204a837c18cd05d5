package dev.gantry.worker.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Device buffers for the small host arrays a call passes (token ids, cache slots, positions,
 * block tables, rope angles), one per purpose so that the arrays of one step never overwrite
 * each other before their kernels run. Each only grows, so its address stays the same from step
 * to step (what lets {@link StepGraphs} replay a step), and a copy is skipped when the buffer
 * already holds the same values.
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
    private final StepGraphs graphs;
    private final long[] address = new long[PURPOSES];
    private final long[] capacity = new long[PURPOSES];
    /** What each buffer holds now, as last copied there (null: unknown, e.g. a kernel writes it). */
    private final MemorySegment[] held = new MemorySegment[PURPOSES];
    /** The forward pass that last asked for each buffer ({@link StepGraphs#pass}). */
    private final long[] usedInPass = new long[PURPOSES];

    Staging(Device device, StepGraphs graphs) {
        this.device = device;
        this.graphs = graphs;
    }

    /** The first n values of {@code values} on the device, in the buffer of {@code purpose}. */
    long ints(int purpose, int[] values, int n) {
        return put(purpose, MemorySegment.ofArray(values).asSlice(0, 4L * n));
    }

    long floats(int purpose, float[] values) {
        return put(purpose, MemorySegment.ofArray(values));
    }

    long doubles(int purpose, double[] values) {
        return put(purpose, MemorySegment.ofArray(values));
    }

    /**
     * Copies {@code data} into the buffer of {@code purpose}, unless it already holds exactly that
     * (the block tables, slots and angles of one step are asked for once per layer). When a
     * recorded pass has launches waiting that read this buffer, and the data differ, they are
     * issued first ({@link StepGraphs#flush}): they must see what the buffer held when they were
     * asked for.
     */
    private long put(int purpose, MemorySegment data) {
        boolean askedThisPass = usedInPass[purpose] == graphs.pass();
        long at = reserve(purpose, data.byteSize());
        MemorySegment now = held[purpose];
        if (now != null && now.byteSize() == data.byteSize() && now.mismatch(data) == -1) {
            return at;
        }
        if (askedThisPass) {
            graphs.flush();
        }
        if (data.byteSize() > 0) {
            device.copyToDevice(data, at);
        }
        held[purpose] = copy(data);
        usedInPass[purpose] = graphs.pass();
        return at;
    }

    /** A device buffer of at least {@code bytes} for {@code purpose}, contents undefined. */
    long reserve(int purpose, long bytes) {
        if (capacity[purpose] < bytes) {
            if (address[purpose] != 0) {
                graphs.flush(); // waiting launches may read the buffer about to be freed
                device.free(address[purpose]);
            }
            long size = Math.max(1024, Long.highestOneBit(bytes - 1) << 1);
            address[purpose] = device.alloc(size);
            capacity[purpose] = size;
            held[purpose] = null;
        }
        usedInPass[purpose] = graphs.pass();
        return address[purpose];
    }

    private static MemorySegment copy(MemorySegment data) {
        byte[] bytes = new byte[(int) data.byteSize()];
        MemorySegment c = MemorySegment.ofArray(bytes);
        c.copyFrom(data);
        return c;
    }

    @Override
    public void close() {
        for (int i = 0; i < PURPOSES; i++) {
            if (address[i] != 0) {
                device.free(address[i]);
                address[i] = 0;
                capacity[i] = 0;
                held[i] = null;
            }
        }
    }
}
