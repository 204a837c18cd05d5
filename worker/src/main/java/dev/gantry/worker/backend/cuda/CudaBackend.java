package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.AttentionBatch;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.RopeAngles;
import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.backend.SamplingRow;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.backend.cuda.Device.Dim3;
import dev.gantry.worker.quant.Dequant;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@link Backend} on an NVIDIA GPU: activations, weights and the KV cache live in device
 * memory, every op is one or a few launches of the kernels in {@code src/main/cuda}. This class
 * is the host side only (what to allocate, which kernel, what launch shape); the {@link Device}
 * under it is a real GPU ({@link DriverDevice}) or the kernels run on the CPU ({@link
 * EmulatedDevice}), and the backend contract tests run against both.
 *
 * <p>Weights are copied to the device once, in {@link #prepare}; vectors (one row: norm weights,
 * biases) are also kept as floats, which is what the kernels read for them. The small integer
 * arrays of a call (tokens, slots, positions, block tables) go through per-purpose staging
 * buffers that only grow.
 */
public final class CudaBackend implements Backend {
    static final int GEMV_MAX_ROWS = 8; // gemv.cu's kGemvMaxRows
    static final int GEMV_WARPS = 4;
    static final int GEMM_TILE = 64; // gemm.cu's kGemmTileRows and kGemmTileOut
    /** binary16's unit roundoff: what gemm.cu's operands are rounded to. */
    static final double HALF_ROUNDING = 0x1p-11;
    static final int ATTENTION_WARPS = 4;
    static final int MAX_HEAD_DIM = 256; // paged_attention.cu's kMaxHeadDim

    /** A weight on the device: its bytes as in the file, and for a vector its values as floats (else 0). */
    record DeviceWeight(long bytes, long floats) {}

    private final Device device;
    private final StepGraphs graphs;
    private final List<Long> allocations = new ArrayList<>();
    private final Map<WeightKey, DeviceWeight> weights = new HashMap<>();
    private final Staging staging;
    /** The rope angles last computed, kept while a step's layers rotate at the same positions. */
    private RopeTable ropeTable;
    private int[] ropePositions = new int[0];
    private RopeAngles ropeAngles;

    private record WeightKey(long address, long bytes) {}

    /** The backend on {@code device}, with CUDA graphs for repeated decode passes. */
    public CudaBackend(Device device) {
        this(device, true);
    }

    /**
     * @param cudaGraphs replay repeated decode passes as CUDA graphs ({@link StepGraphs}); false
     *                   launches every kernel itself (vLLM's {@code --enforce-eager})
     */
    public CudaBackend(Device device, boolean cudaGraphs) {
        this.device = device;
        this.graphs = new StepGraphs(device, cudaGraphs);
        this.staging = new Staging(device, graphs);
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** Products of more than 8 rows run on the tensor cores, with both operands rounded to half. */
    @Override
    public double matmulOperandRounding(int rows) {
        return rows > GEMV_MAX_ROWS ? HALF_ROUNDING : 0;
    }

    @Override
    public java.util.OptionalLong deviceMemoryFree() {
        return java.util.OptionalLong.of(device.memoryInfo()[0]);
    }

    /** The device under this backend. */
    public Device device() {
        return device;
    }

    /**
     * A decode pass ({@code replayable}) is recorded and, once it has repeated, replayed as one
     * CUDA graph; anything else runs launch by launch.
     */
    @Override
    public void forwardPass(boolean replayable, Runnable body) {
        if (!replayable || !graphs.enabled()) {
            body.run();
            return;
        }
        graphs.begin();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            graphs.flush(); // what was asked before the failure still runs, in order
            throw e;
        }
        graphs.end();
    }

    /** Graph replays, captures and eager passes so far (for tests and logs). */
    public StepGraphs.Stats graphStats() {
        return graphs.stats();
    }

    @Override
    public void prepare(List<Weight> list) {
        graphs.flush();
        for (Weight w : list) {
            WeightKey key = new WeightKey(w.data().address(), w.data().byteSize());
            if (weights.containsKey(key)) {
                continue;
            }
            long bytes = track(device.alloc(w.data().byteSize()));
            device.copyToDevice(w.data(), bytes);
            long floats = 0;
            if (w.rows() == 1) {
                float[] values = new float[w.cols()];
                Dequant.values(w.type(), w.data(), 0, w.cols(), values, 0);
                floats = track(device.alloc(4L * values.length));
                device.copyToDevice(MemorySegment.ofArray(values), floats);
            }
            weights.put(key, new DeviceWeight(bytes, floats));
        }
    }

    private DeviceWeight weight(Weight w) {
        DeviceWeight d = weights.get(new WeightKey(w.data().address(), w.data().byteSize()));
        if (d == null) {
            throw new IllegalStateException("weight " + w.name() + " was not given to prepare()");
        }
        return d;
    }

    private long vector(Weight w) {
        DeviceWeight d = weight(w);
        if (d.floats() == 0) {
            throw new IllegalArgumentException("weight " + w.name() + " is not a vector: " + w.rows() + " rows");
        }
        return d.floats();
    }

    @Override
    public Buffer allocate(long floats) {
        graphs.flush();
        long address = track(device.alloc(4 * Math.max(1, floats)));
        device.zero(address, 4 * Math.max(1, floats));
        return new DeviceBuffer(address, floats);
    }

    @Override
    public void upload(float[] src, int n, Buffer dst) {
        graphs.flush();
        device.copyToDevice(MemorySegment.ofArray(src).asSlice(0, 4L * n), DeviceBuffer.of(dst));
    }

    @Override
    public void download(Buffer src, int n, float[] dst) {
        graphs.flush();
        device.copyToHost(DeviceBuffer.of(src), MemorySegment.ofArray(dst).asSlice(0, 4L * n));
    }

    @Override
    public KvStorage allocateKv(int layers, int numBlocks, int blockSize, int kvDim, KvCacheDtype dtype) {
        if (dtype != KvCacheDtype.F32) {
            throw new IllegalArgumentException("the CUDA backend stores the KV cache as f32 only, not " + dtype.label());
        }
        graphs.flush();
        return DeviceKvStorage.allocate(device, layers, numBlocks, blockSize, kvDim);
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, Buffer out) {
        int pieces = table.cols() / piece(table);
        launch("embed_" + suffix(table), Dim3.of(ceil(pieces, 128), n), Dim3.of(128), 0,
                KernelArgs.of().ptr(weight(table).bytes()).ptr(staging.ints(Staging.TOKENS, tokens, n))
                        .ptr(DeviceBuffer.of(out)).i32(table.cols()).i64(table.rowBytes()));
    }

    @Override
    public void rmsNorm(Buffer x, Weight weight, int rows, int dim, float eps, Buffer out) {
        launch("rms_norm", Dim3.of(rows), Dim3.of(256), 0, KernelArgs.of().ptr(DeviceBuffer.of(x))
                .ptr(vector(weight)).ptr(DeviceBuffer.of(out)).i32(dim).f32(eps));
    }

    @Override
    public void matmul(Weight w, Weight bias, Buffer x, int rows, Buffer out) {
        if (w.cols() % piece(w) != 0) {
            throw new IllegalArgumentException("weight " + w.name() + ": " + w.cols() + " columns is not a whole number of blocks");
        }
        long wBytes = weight(w).bytes();
        long biasFloats = bias == null ? 0 : vector(bias);
        long xa = DeviceBuffer.of(x);
        long oa = DeviceBuffer.of(out);
        if (rows > GEMV_MAX_ROWS) { // prefill, large batches: the tensor cores, each weight read once per 64 rows
            launch("gemm_" + suffix(w), Dim3.of(ceil(w.rows(), GEMM_TILE), ceil(rows, GEMM_TILE)), Dim3.of(128), 0,
                    KernelArgs.of().ptr(wBytes).ptr(xa).ptr(biasFloats).ptr(oa).i32(rows).i32(w.rows()).i32(w.cols())
                            .i64(w.rowBytes()));
            return;
        }
        String kernel = "gemv_" + suffix(w);
        Dim3 grid = Dim3.of(ceil(w.rows(), GEMV_WARPS));
        for (int r = 0; r < rows; r += GEMV_MAX_ROWS) {
            int chunk = Math.min(GEMV_MAX_ROWS, rows - r);
            launch(kernel, grid, Dim3.of(32 * GEMV_WARPS), 0, KernelArgs.of().ptr(wBytes)
                    .ptr(xa + 4L * r * w.cols()).ptr(biasFloats).ptr(oa + 4L * r * w.rows())
                    .i32(chunk).i32(w.rows()).i32(w.cols()).i64(w.rowBytes()));
        }
    }

    @Override
    public void rope(Buffer x, int rows, int heads, int headDim, int[] positions, RopeTable rope) {
        int half = rope.rotaryDim() / 2;
        if (half == 0 || rows == 0) {
            return;
        }
        if (rope != ropeTable || ropePositions.length != rows || !Arrays.equals(ropePositions, 0, rows, positions, 0, rows)) {
            ropeAngles = RopeAngles.of(rope, positions, rows);
            ropeTable = rope;
            ropePositions = Arrays.copyOf(positions, rows);
        }
        // Asked of the staging on every call (it skips the copy when the values are there already),
        // so that a recorded pass knows these buffers are in use.
        long ropeCos = staging.floats(Staging.ROPE_COS, ropeAngles.cos());
        long ropeSin = staging.floats(Staging.ROPE_SIN, ropeAngles.sin());
        launch("rope", Dim3.of(rows), Dim3.of(128), 0, KernelArgs.of().ptr(DeviceBuffer.of(x)).ptr(ropeCos)
                .ptr(ropeSin).i32(heads).i32(headDim).i32(half).i32(rope.neox() ? 1 : 0));
    }

    @Override
    public void storeKv(KvStorage kv, int layer, Buffer k, Buffer v, int rows, int[] slots) {
        DeviceKvStorage s = (DeviceKvStorage) kv;
        launch("store_kv", Dim3.of(rows), Dim3.of(128), 0, KernelArgs.of().ptr(DeviceBuffer.of(k))
                .ptr(DeviceBuffer.of(v)).ptr(s.keys(layer)).ptr(s.values(layer))
                .ptr(staging.ints(Staging.SLOTS, slots, rows)).i32(kv.kvDim()));
    }

    @Override
    public void attention(Buffer q, KvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads,
            int headDim, float scale, Buffer out) {
        if (headDim > MAX_HEAD_DIM) {
            throw new IllegalArgumentException("head dimension " + headDim + " is above the kernel's " + MAX_HEAD_DIM);
        }
        DeviceKvStorage s = (DeviceKvStorage) kv;
        AttentionRows rows = AttentionRows.of(batch);
        long tables = staging.ints(Staging.BLOCK_TABLES, rows.tables(), rows.tables().length);
        if (rows.decodeRows().length > 0) { // one new token per sequence: a block per (head, row)
            int shared = 4 * (headDim + ATTENTION_WARPS * (headDim + 2));
            launch("paged_attention", Dim3.of(heads, rows.decodeRows().length), Dim3.of(32 * ATTENTION_WARPS),
                    shared, KernelArgs.of().ptr(DeviceBuffer.of(q)).ptr(s.keys(layer)).ptr(s.values(layer))
                            .ptr(DeviceBuffer.of(out))
                            .ptr(staging.ints(Staging.DECODE_ROWS, rows.decodeRows(), rows.decodeRows().length))
                            .ptr(staging.ints(Staging.ROW_SEQ, rows.rowSeq(), rows.rows()))
                            .ptr(staging.ints(Staging.ROW_POS, rows.rowPos(), rows.rows()))
                            .ptr(tables).i32(rows.maxBlocks()).i32(heads).i32(kvHeads).i32(headDim).i32(kv.blockSize())
                            .f32(scale));
        }
        int tiles = rows.tileSeq().length;
        if (tiles > 0) { // prompt chunks: a block per (tile of 16 rows, head), K/V staged once per tile
            int shared = 4 * ((AttentionRows.TILE_ROWS + 2 * 32) * headDim + 4 * 32);
            launch("flash_prefill", Dim3.of(tiles, heads), Dim3.of(128), shared, KernelArgs.of()
                    .ptr(DeviceBuffer.of(q)).ptr(s.keys(layer)).ptr(s.values(layer)).ptr(DeviceBuffer.of(out))
                    .ptr(staging.ints(Staging.TILE_SEQ, rows.tileSeq(), tiles))
                    .ptr(staging.ints(Staging.TILE_ROW, rows.tileRow(), tiles))
                    .ptr(staging.ints(Staging.TILE_LEN, rows.tileLen(), tiles))
                    .ptr(staging.ints(Staging.TILE_POS, rows.tilePos(), tiles))
                    .ptr(tables).i32(rows.maxBlocks()).i32(heads).i32(kvHeads).i32(headDim).i32(kv.blockSize())
                    .f32(scale));
        }
    }

    @Override
    public void swiglu(Buffer gate, Buffer up, int rows, int dim, Buffer out) {
        long n = (long) rows * dim;
        launch("swiglu", Dim3.of(gridFor(n)), Dim3.of(256), 0, KernelArgs.of().ptr(DeviceBuffer.of(gate))
                .ptr(DeviceBuffer.of(up)).ptr(DeviceBuffer.of(out)).i64(n));
    }

    @Override
    public void add(Buffer x, Buffer y, long n) {
        launch("add", Dim3.of(gridFor(n)), Dim3.of(256), 0,
                KernelArgs.of().ptr(DeviceBuffer.of(x)).ptr(DeviceBuffer.of(y)).i64(n));
    }

    @Override
    public void gatherRows(Buffer x, int[] rows, int n, int dim, Buffer out) {
        launch("gather_rows", Dim3.of(ceil(dim, 128), n), Dim3.of(128), 0, KernelArgs.of()
                .ptr(DeviceBuffer.of(x)).ptr(staging.ints(Staging.GATHER, rows, n)).ptr(DeviceBuffer.of(out)).i32(dim));
    }

    @Override
    public void argmax(Buffer logits, int rows, int vocab, int[] out) {
        if (rows == 0) {
            return;
        }
        graphs.flush();
        long ids = staging.reserve(Staging.ARGMAX, 4L * rows);
        launch("argmax_rows", Dim3.of(rows), Dim3.of(256), 0,
                KernelArgs.of().ptr(DeviceBuffer.of(logits)).ptr(ids).i32(vocab));
        device.copyToHost(ids, MemorySegment.ofArray(out).asSlice(0, 4L * rows));
    }

    @Override
    public boolean samplesOnDevice() {
        return true;
    }

    @Override
    public void sample(Buffer logits, int rows, int vocab, SamplingRow[] params, int[] out) {
        if (rows == 0) {
            return;
        }
        graphs.flush();
        int[] greedy = new int[rows];
        float[] invT = new float[rows];
        int[] topK = new int[rows];
        float[] topP = new float[rows];
        float[] minP = new float[rows];
        double[] u = new double[rows];
        for (int r = 0; r < rows; r++) {
            SamplingRow p = params[r];
            greedy[r] = p.greedy() ? 1 : 0;
            invT[r] = p.invTemperature();
            topK[r] = p.topK();
            topP[r] = p.topP();
            minP[r] = p.minP();
            u[r] = p.uniform();
        }
        long ids = staging.reserve(Staging.ARGMAX, 4L * rows);
        launch("sample_rows", Dim3.of(rows), Dim3.of(256), 0, KernelArgs.of().ptr(DeviceBuffer.of(logits))
                .ptr(staging.ints(Staging.SAMPLE_GREEDY, greedy, rows))
                .ptr(staging.floats(Staging.SAMPLE_INV_TEMPERATURE, invT))
                .ptr(staging.ints(Staging.SAMPLE_TOP_K, topK, rows))
                .ptr(staging.floats(Staging.SAMPLE_TOP_P, topP))
                .ptr(staging.floats(Staging.SAMPLE_MIN_P, minP))
                .ptr(staging.doubles(Staging.SAMPLE_UNIFORM, u)).ptr(ids).i32(vocab));
        device.copyToHost(ids, MemorySegment.ofArray(out).asSlice(0, 4L * rows));
    }

    @Override
    public void close() {
        graphs.flush();
        graphs.close();
        staging.close();
        for (long a : allocations) {
            device.free(a);
        }
        allocations.clear();
        weights.clear();
        device.close();
    }

    private void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        graphs.launch(new Device.Launch(kernel, grid, block, sharedBytes, args));
    }

    private long track(long address) {
        allocations.add(address);
        return address;
    }

    /** Values per piece the kernels dequantize at once: 32 for the block quants, 1 for float types. */
    private static int piece(Weight w) {
        return w.type().blockSize == 1 ? 1 : 32;
    }

    /** The kernel-name suffix of a weight type (embed_q4_k ...). */
    static String suffix(Weight w) {
        if (!w.type().isSupported()) {
            throw new IllegalArgumentException("weight " + w.name() + " has type " + w.type() + ", which has no kernels");
        }
        return w.type().name().toLowerCase(Locale.ROOT);
    }

    private static int ceil(long n, int d) {
        return Math.toIntExact((n + d - 1) / d);
    }

    /** Blocks of 256 for a grid-stride loop over n values: one value per thread up to a cap. */
    private static int gridFor(long n) {
        return (int) Math.max(1, Math.min((n + 255) / 256, 1 << 16));
    }
}
