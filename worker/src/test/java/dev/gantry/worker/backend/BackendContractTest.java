package dev.gantry.worker.backend;

import static dev.gantry.worker.backend.TestTensors.assertClose;
import static dev.gantry.worker.backend.TestTensors.assertExact;
import static dev.gantry.worker.backend.TestTensors.floats;
import static dev.gantry.worker.backend.TestTensors.relative;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every {@link Backend} op against {@link ReferenceBackend} on fresh random inputs (seeded from
 * the case, so a failure reproduces). A backend's test extends this and names the backend; it
 * touches the backend only through the interface (allocate, upload, download, prepare), so a
 * device backend can reuse it as is. One backend serves all cases of a class, and each case
 * calls {@link Backend#prepare} with its own new weights before using them, so a device backend
 * must accept prepare more than once.
 *
 * <p>Tolerances, stated per op: float accumulation (the fast backends) against double (the
 * reference). Matmul: |got - want| <= 1e-6 + 1e-5 * sum_i |w_i * x_i| (+ |bias|), since the
 * error of a sum scales with the magnitudes summed, not with the result (where a backend
 * declares {@link Backend#matmulOperandRounding}, half operands on tensor cores, against the exact
 * product of the rounded operands); attention: 2e-5 *
 * max|V| + 1e-6 (the output is a convex combination of V rows); rope: 1e-5 * max|x| of the row +
 * 1e-6; rmsNorm and swiglu: 1e-5 * |want| + 1e-6. Embed, storeKv, add and gatherRows involve no
 * rounding and must match bit for bit.
 *
 * <p>The reference takes the backend's {@link Backend#activationPrecision}: under {@link
 * ActivationPrecision#Q8} both must pick the same 8-bit activations (any difference there would
 * be a whole quantization step, far outside the matmul tolerance) and then agree to float rounding.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendContractTest {
    static final double MATMUL_RTOL = 1e-5;
    static final double ATTENTION_RTOL = 2e-5;
    static final double ELEMENTWISE_RTOL = 1e-5;
    static final double ATOL = 1e-6;

    private Backend reference;
    private Backend backend;
    private Arena arena;

    /** The backend under test; closed after the class's tests. */
    protected abstract Backend createBackend();

    @BeforeAll
    public void openBackend() {
        backend = createBackend();
        // The reference computes with the same activation precision as the backend under test.
        reference = new ReferenceBackend(backend.activationPrecision());
        arena = Arena.ofShared();
    }

    @AfterAll
    public void closeBackend() {
        if (backend != null) { // null where createBackend skipped the class (no GPU)
            backend.close();
        }
        if (arena != null) {
            arena.close();
        }
    }

    private static Random rng(Object... caseParams) {
        return new Random(Objects.hash(caseParams));
    }

    private static Buffer put(Backend b, float[] data) {
        Buffer buf = b.allocate(data.length);
        b.upload(data, data.length, buf);
        return buf;
    }

    private static float[] get(Backend b, Buffer buf, int n) {
        float[] out = new float[n];
        b.download(buf, n, out);
        return out;
    }

    static Stream<Arguments> matmulCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
                GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            // Row lengths of one, several and many blocks; for plain floats lengths that leave vector tails.
            int[] cols = switch (t.blockSize) {
                case 1 -> new int[] {13, 40, 100};
                case 32 -> new int[] {32, 96, 320};
                default -> new int[] {256, 512, 768};
            };
            cases.add(Arguments.of(t, 1, 33, cols[0], GgmlType.F32));
            cases.add(Arguments.of(t, 1, 7, cols[1], null));
            cases.add(Arguments.of(t, 1, 301, cols[2], null));
            cases.add(Arguments.of(t, 2, 9, cols[0], null));
            cases.add(Arguments.of(t, 3, 33, cols[2], GgmlType.F16));
            cases.add(Arguments.of(t, 5, 33, cols[1], GgmlType.F32));
            cases.add(Arguments.of(t, 13, 17, cols[2], GgmlType.F32));
            cases.add(Arguments.of(t, 32, 97, cols[1], null));
            // Rows longer than one column chunk of the many-token path, and a partial token block.
            cases.add(Arguments.of(t, 21, 13, t.blockSize == 1 ? 1100 : t.blockSize == 32 ? 1088 : 1280, null));
            // Rows of several column segments (repacked for Q8_0 and Q4_0): alone, fused, decoded.
            for (int rows : new int[] {1, 3, 7}) {
                cases.add(Arguments.of(t, rows, 11, 4096, rows == 3 ? GgmlType.F32 : null));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}: [{1}x{3}] x [{2}x{3}]^T bias {4}")
    @MethodSource("matmulCases")
    public void matmulMatchesReference(GgmlType type, int rows, int outRows, int cols, GgmlType biasType) {
        Random rng = rng(type, rows, outRows, cols, biasType);
        Weight w = TestTensors.weight(arena, rng, type, outRows, cols, "w");
        Weight bias = biasType == null ? null : TestTensors.weight(arena, rng, biasType, 1, outRows, "b");
        float[] x = floats(rng, rows * cols, 1); // [rows][cols]
        List<Weight> weights = bias == null ? List.of(w) : List.of(w, bias);
        reference.prepare(weights);
        backend.prepare(weights);

        float[] want = new float[rows * outRows]; // [rows][outRows]
        float[] got = new float[rows * outRows];
        Buffer out = reference.allocate(want.length);
        reference.matmul(w, bias, put(reference, x), rows, out);
        reference.download(out, want.length, want);
        Buffer out2 = backend.allocate(got.length);
        backend.matmul(w, bias, put(backend, x), rows, out2);
        backend.download(out2, got.length, got);

        float[] wd = TestTensors.dequantize(w); // [outRows][cols]
        float[] bd = bias == null ? new float[outRows] : TestTensors.dequantize(bias);
        float[] xs = x;
        if (backend.matmulOperandRounding(rows) > 0) {
            // A backend that rounds both operands to binary16 first (tensor cores) is held to the
            // exact product of the rounded operands, as the Q8 path is to its 8-bit ones.
            wd = toHalf(wd);
            xs = toHalf(x);
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < outRows; o++) {
                    double acc = 0;
                    for (int i = 0; i < cols; i++) {
                        acc += (double) wd[o * cols + i] * xs[r * cols + i];
                    }
                    want[r * outRows + o] = (float) (acc + bd[o]);
                }
            }
        }
        double[] bound = new double[want.length];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outRows; o++) {
                double magnitude = Math.abs(bd[o]);
                for (int i = 0; i < cols; i++) {
                    magnitude += Math.abs((double) wd[o * cols + i] * xs[r * cols + i]);
                }
                bound[r * outRows + o] = ATOL + MATMUL_RTOL * magnitude;
            }
        }
        assertClose(got, want, bound, want.length, "matmul " + type);
    }

    static Stream<Arguments> matmulsCases() {
        List<Arguments> cases = new ArrayList<>();
        // A Q4_K_M layer's Q, K and V (V in Q6_K); Q, K, V with biases (Qwen); gate and up; weights
        // whose activations are quantized differently, or not at all; a weight of fewer than 16 rows.
        List<List<GgmlType>> sets = List.of(List.of(GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q6_K),
                List.of(GgmlType.Q8_0, GgmlType.Q8_0, GgmlType.Q8_0), List.of(GgmlType.Q4_0, GgmlType.Q4_0),
                List.of(GgmlType.Q5_K, GgmlType.Q6_K), List.of(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0),
                List.of(GgmlType.Q4_1, GgmlType.Q5_1), List.of(GgmlType.F32, GgmlType.Q8_0));
        for (List<GgmlType> types : sets) {
            for (int rows : new int[] {1, 3, 16}) {
                cases.add(Arguments.of(types, rows, types.get(0) == GgmlType.Q8_0));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} over {1} rows, biases {2}")
    @MethodSource("matmulsCases")
    public void matmulsGiveWhatMatmulGivesExactly(List<GgmlType> types, int rows, boolean biases) {
        Random rng = rng(types, rows, biases);
        int cols = 512; // whole blocks of every type
        int[] outRows = {40, 7, 33};
        Weight[] ws = new Weight[types.size()];
        Weight[] bs = new Weight[types.size()];
        List<Weight> all = new ArrayList<>();
        for (int i = 0; i < ws.length; i++) {
            ws[i] = TestTensors.weight(arena, rng, types.get(i), outRows[i], cols, "w" + i);
            all.add(ws[i]);
            if (biases) {
                bs[i] = TestTensors.weight(arena, rng, GgmlType.F32, 1, outRows[i], "b" + i);
                all.add(bs[i]);
            }
        }
        backend.prepare(all);
        Buffer x = put(backend, floats(rng, rows * cols, 1)); // [rows][cols]
        Buffer[] outs = new Buffer[ws.length];
        for (int i = 0; i < ws.length; i++) {
            outs[i] = backend.allocate((long) rows * outRows[i]);
        }
        backend.matmuls(ws, bs, x, rows, outs);
        for (int i = 0; i < ws.length; i++) {
            Buffer alone = backend.allocate((long) rows * outRows[i]);
            backend.matmul(ws[i], bs[i], x, rows, alone);
            assertThat(get(backend, outs[i], rows * outRows[i]))
                    .as("%s, weight %d of %s", types.get(i), i, types)
                    .containsExactly(get(backend, alone, rows * outRows[i]));
        }
    }

    /** Each value rounded to the nearest binary16 (ties to even), back as a float. */
    private static float[] toHalf(float[] a) {
        float[] h = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            h[i] = Float.float16ToFloat(Float.floatToFloat16(a[i]));
        }
        return h;
    }

    static Stream<Arguments> embedCases() {
        return Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K).map(t -> Arguments.of(t, t.blockSize == 1 ? 37 : 2 * t.blockSize));
    }

    @ParameterizedTest(name = "{0} rows of {1}")
    @MethodSource("embedCases")
    public void embedMatchesReferenceExactly(GgmlType type, int cols) {
        Random rng = rng(type, cols);
        Weight table = TestTensors.weight(arena, rng, type, 50, cols, "table");
        int[] tokens = {49, 0, 7, 7, 23, 1, 48};
        reference.prepare(List.of(table));
        backend.prepare(List.of(table));
        Buffer a = reference.allocate((long) tokens.length * cols);
        reference.embed(table, tokens, tokens.length, a);
        Buffer b = backend.allocate((long) tokens.length * cols);
        backend.embed(table, tokens, tokens.length, b);
        assertExact(get(backend, b, tokens.length * cols), get(reference, a, tokens.length * cols),
                tokens.length * cols, "embed " + type);
    }

    static Stream<Arguments> rmsNormCases() {
        return Stream.of(Arguments.of(1, 64, GgmlType.F32, false), Arguments.of(3, 100, GgmlType.F32, true),
                Arguments.of(7, 576, GgmlType.F16, false), Arguments.of(2, 13, GgmlType.BF16, true),
                Arguments.of(40, 96, GgmlType.F32, false));
    }

    @ParameterizedTest(name = "[{0}x{1}] weight {2} in place {3}")
    @MethodSource("rmsNormCases")
    public void rmsNormMatchesReference(int rows, int dim, GgmlType weightType, boolean inPlace) {
        Random rng = rng(rows, dim, weightType, inPlace);
        Weight weight = TestTensors.weight(arena, rng, weightType, 1, dim, "norm");
        float[] x = floats(rng, rows * dim, 3); // [rows][dim]
        reference.prepare(List.of(weight));
        backend.prepare(List.of(weight));
        float[] want = normWith(reference, weight, x, rows, dim, inPlace);
        float[] got = normWith(backend, weight, x, rows, dim, inPlace);
        assertClose(got, want, relative(want, want.length, ELEMENTWISE_RTOL, ATOL), want.length, "rmsNorm");
    }

    private static float[] normWith(Backend b, Weight weight, float[] x, int rows, int dim, boolean inPlace) {
        Buffer in = put(b, x);
        Buffer out = inPlace ? in : b.allocate(x.length);
        b.rmsNorm(in, weight, rows, dim, 1e-5f, out);
        return get(b, out, x.length);
    }

    static Stream<Arguments> ropeCases() {
        return Stream.of(Arguments.of(false, 3, 2, 64, 64), Arguments.of(true, 3, 2, 64, 64),
                Arguments.of(false, 5, 3, 64, 32), Arguments.of(true, 5, 3, 64, 32),
                Arguments.of(true, 1, 4, 20, 12), Arguments.of(false, 2, 1, 20, 12),
                Arguments.of(true, 33, 2, 128, 128));
    }

    @ParameterizedTest(name = "neox {0}: {1} rows of {2} heads of {3}, rotary {4}")
    @MethodSource("ropeCases")
    public void ropeMatchesReference(boolean neox, int rows, int heads, int headDim, int rotaryDim) {
        Random rng = rng(neox, rows, heads, headDim, rotaryDim);
        float[] invFreq = new float[rotaryDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = (float) Math.pow(10000, -2.0 * i / rotaryDim);
        }
        RopeTable table = new RopeTable(rotaryDim, neox, invFreq);
        int[] positions = new int[rows];
        // Three calls: new positions, other positions (a backend that caches angles must notice), the same again.
        for (int call = 0; call < 3; call++) {
            if (call < 2) {
                for (int r = 0; r < rows; r++) {
                    positions[r] = r == 0 ? call : rng.nextInt(call == 0 ? 50 : 9000);
                }
            }
            float[] x = floats(rng, rows * heads * headDim, 2); // [rows][heads * headDim]
            Buffer a = put(reference, x);
            reference.rope(a, rows, heads, headDim, positions, table);
            Buffer b = put(backend, x);
            backend.rope(b, rows, heads, headDim, positions, table);
            double[] bound = new double[x.length];
            int width = heads * headDim;
            for (int r = 0; r < rows; r++) {
                float max = 0;
                for (int i = 0; i < width; i++) {
                    max = Math.max(max, Math.abs(x[r * width + i]));
                }
                Arrays.fill(bound, r * width, (r + 1) * width, ATOL + ELEMENTWISE_RTOL * max);
            }
            assertClose(get(backend, b, x.length), get(reference, a, x.length), bound, x.length, "rope call " + call);
        }
    }

    static Stream<Arguments> attentionCases() {
        Stream<Object[]> shapes = Stream.of(new Object[] {4, 2, 64, 16, 1f}, new Object[] {8, 2, 64, 8, 1f},
                new Object[] {6, 3, 20, 4, 1f}, new Object[] {3, 3, 32, 16, 1f}, new Object[] {4, 1, 64, 16, 6f});
        // Every shape with every KV-cache dtype whose blocks fit its heads (q8_0: 32-value blocks).
        return shapes.flatMap(c -> Stream.of(KvCacheDtype.values())
                .filter(d -> d.unsupportedReason((int) c[2]) == null)
                .map(d -> Arguments.of(c[0], c[1], c[2], c[3], c[4], d)));
    }

    /**
     * Five sequences in one flat batch: a whole prompt (5 of 5), a decode step (1 of 37), a prompt
     * chunk (4 of 20), another (3 of 70) and a long one (40 of 45: more rows than one tile of a
     * tiled prefill kernel); their blocks are shuffled across the cache.
     */
    @ParameterizedTest(name = "{0} heads / {1} kv heads of {2}, block {3}, score scale x{4}, cache {5}")
    @MethodSource("attentionCases")
    public void attentionMatchesReference(int heads, int kvHeads, int headDim, int blockSize, float sharpness,
            KvCacheDtype dtype) {
        org.junit.jupiter.api.Assumptions.assumeTrue(backend.kvCacheDtypes().contains(dtype),
                () -> "this backend stores the KV cache as " + backend.kvCacheDtypes() + " only, not " + dtype);
        Random rng = rng(heads, kvHeads, headDim, blockSize, sharpness, dtype.ordinal());
        int[] queryLen = {5, 1, 4, 3, 40};
        int[] contextLen = {5, 37, 20, 70, 45};
        int seqs = queryLen.length;
        int[] queryStart = new int[seqs + 1];
        int blocksNeeded = 0;
        for (int s = 0; s < seqs; s++) {
            queryStart[s + 1] = queryStart[s] + queryLen[s];
            blocksNeeded += (contextLen[s] + blockSize - 1) / blockSize;
        }
        int numBlocks = blocksNeeded + 3;
        List<Integer> free = new ArrayList<>();
        for (int i = 0; i < numBlocks; i++) {
            free.add(i);
        }
        java.util.Collections.shuffle(free, rng);
        int[][] tables = new int[seqs][];
        int kvDim = kvHeads * headDim;
        int totalCtx = Arrays.stream(contextLen).sum();
        int[] slots = new int[totalCtx]; // cache slot of every context token of every sequence, in order
        int n = 0;
        for (int s = 0; s < seqs; s++) {
            tables[s] = new int[(contextLen[s] + blockSize - 1) / blockSize];
            for (int i = 0; i < tables[s].length; i++) {
                tables[s][i] = free.removeFirst();
            }
            for (int p = 0; p < contextLen[s]; p++) {
                slots[n++] = tables[s][p / blockSize] * blockSize + p % blockSize;
            }
        }
        AttentionBatch batch = new AttentionBatch(queryStart, contextLen, tables);
        float[] k = floats(rng, totalCtx * kvDim, 1); // [totalCtx][kvDim]
        float[] v = floats(rng, totalCtx * kvDim, 1);
        float[] junk = floats(rng, totalCtx * kvDim, 5); // layer 0, which attention of layer 1 must not read
        float[] q = floats(rng, batch.numTokens() * heads * headDim, sharpness); // [numTokens][heads * headDim]
        float scale = (float) (1 / Math.sqrt(headDim));

        // Both store the same rounded cache (the dtype's encoding is the only rounding), so the
        // tolerance is f32's whatever the dtype.
        float[] want = attentionWith(reference, batch, slots, k, v, junk, q, heads, kvHeads, headDim, blockSize,
                numBlocks, scale, dtype);
        float[] got = attentionWith(backend, batch, slots, k, v, junk, q, heads, kvHeads, headDim, blockSize,
                numBlocks, scale, dtype);
        float maxV = 0;
        for (float f : v) {
            maxV = Math.max(maxV, Math.abs(f));
        }
        double[] bound = new double[want.length];
        Arrays.fill(bound, ATOL + ATTENTION_RTOL * maxV);
        assertClose(got, want, bound, want.length, "attention");
    }

    private static float[] attentionWith(Backend b, AttentionBatch batch, int[] slots, float[] k, float[] v,
            float[] junk, float[] q, int heads, int kvHeads, int headDim, int blockSize, int numBlocks, float scale,
            KvCacheDtype dtype) {
        try (KvStorage kv = b.allocateKv(2, numBlocks, blockSize, kvHeads * headDim, dtype)) {
            b.storeKv(kv, 0, put(b, junk), put(b, junk), slots.length, slots);
            b.storeKv(kv, 1, put(b, k), put(b, v), slots.length, slots);
            Buffer out = b.allocate(q.length);
            b.attention(put(b, q), kv, 1, batch, heads, kvHeads, headDim, scale, out);
            return get(b, out, q.length);
        }
    }

    @ParameterizedTest(name = "{0} rows to {1} slots of {2}, cache {3}")
    @MethodSource("storeKvCases")
    public void storeKvFillsTheSameSlots(int rows, int numBlocks, int blockSize, KvCacheDtype dtype) {
        org.junit.jupiter.api.Assumptions.assumeTrue(backend.kvCacheDtypes().contains(dtype),
                () -> "this backend stores the KV cache as " + backend.kvCacheDtypes() + " only, not " + dtype);
        Random rng = rng(rows, numBlocks, blockSize, dtype.ordinal());
        int kvDim = dtype == KvCacheDtype.Q8_0 ? 64 : 24;
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < numBlocks * blockSize; i++) {
            all.add(i);
        }
        java.util.Collections.shuffle(all, rng);
        int[] slots = all.subList(0, rows).stream().mapToInt(Integer::intValue).toArray();
        float[] k = floats(rng, rows * kvDim, 1); // [rows][kvDim]
        float[] v = floats(rng, rows * kvDim, 1);
        try (KvStorage a = reference.allocateKv(2, numBlocks, blockSize, kvDim, dtype);
                KvStorage b = backend.allocateKv(2, numBlocks, blockSize, kvDim, dtype)) {
            reference.storeKv(a, 1, put(reference, k), put(reference, v), rows, slots);
            backend.storeKv(b, 1, put(backend, k), put(backend, v), rows, slots);
            assertThat(b.kvDim()).isEqualTo(kvDim);
            assertThat(b.dtype()).isEqualTo(dtype);
            if (a instanceof HostKvStorage ha && b instanceof HostKvStorage hb) {
                for (int layer = 0; layer < 2; layer++) {
                    assertThat(hb.keys(layer).mismatch(ha.keys(layer))).as("keys of layer " + layer).isEqualTo(-1L);
                    assertThat(hb.values(layer).mismatch(ha.values(layer))).as("values of layer " + layer)
                            .isEqualTo(-1L);
                }
            }
        }
    }

    static Stream<Arguments> storeKvCases() {
        return Stream.of(KvCacheDtype.values()).flatMap(d -> Stream.of(Arguments.of(1, 4, 16, d),
                Arguments.of(13, 4, 8, d), Arguments.of(64, 4, 16, d)));
    }

    static Stream<Arguments> swigluCases() {
        return Stream.of(Arguments.of(1, 7, false), Arguments.of(4, 64, true), Arguments.of(3, 1000, false),
                Arguments.of(9, 1536, true));
    }

    @ParameterizedTest(name = "[{0}x{1}] in place {2}")
    @MethodSource("swigluCases")
    public void swigluMatchesReference(int rows, int dim, boolean inPlace) {
        Random rng = rng(rows, dim, inPlace);
        float[] gate = floats(rng, rows * dim, 4); // [rows][dim]
        float[] up = floats(rng, rows * dim, 1);
        // Where e^-x overflows or underflows float.
        float[] extremes = {-100f, 100f, -88.5f, 89f, -0f, 1e-30f};
        System.arraycopy(extremes, 0, gate, 0, Math.min(extremes.length, gate.length));
        float[] want = swigluWith(reference, gate, up, rows, dim, inPlace);
        float[] got = swigluWith(backend, gate, up, rows, dim, inPlace);
        assertClose(got, want, relative(want, want.length, ELEMENTWISE_RTOL, ATOL), want.length, "swiglu");
    }

    private static float[] swigluWith(Backend b, float[] gate, float[] up, int rows, int dim, boolean inPlace) {
        Buffer g = put(b, gate);
        Buffer out = inPlace ? g : b.allocate(gate.length);
        b.swiglu(g, put(b, up), rows, dim, out);
        return get(b, out, gate.length);
    }

    @ParameterizedTest(name = "{0} values")
    @MethodSource("addCases")
    public void addMatchesReferenceExactly(int n) {
        Random rng = rng(n);
        float[] x = floats(rng, n + 5, 1);
        float[] y = floats(rng, n + 5, 1);
        Buffer a = put(reference, x);
        reference.add(a, put(reference, y), n);
        Buffer b = put(backend, x);
        backend.add(b, put(backend, y), n);
        // Values past n must stay as they were.
        assertExact(get(backend, b, n + 5), get(reference, a, n + 5), n + 5, "add");
    }

    static Stream<Arguments> addCases() {
        // past 16384 the CPU backend splits the run between threads: several pieces, the last one partial
        return Stream.of(Arguments.of(1), Arguments.of(7), Arguments.of(1000), Arguments.of(33 * 576), Arguments.of(128 * 2048 + 3));
    }

    @ParameterizedTest(name = "{0} of 9 rows of {1}")
    @MethodSource("gatherCases")
    public void gatherRowsMatchesReferenceExactly(int n, int dim) {
        Random rng = rng(n, dim);
        float[] x = floats(rng, 9 * dim, 1); // [9][dim]
        int[] rows = rng.ints(n, 0, 9).toArray();
        Buffer a = reference.allocate((long) n * dim);
        reference.gatherRows(put(reference, x), rows, n, dim, a);
        Buffer b = backend.allocate((long) n * dim);
        backend.gatherRows(put(backend, x), rows, n, dim, b);
        assertExact(get(backend, b, n * dim), get(reference, a, n * dim), n * dim, "gatherRows");
    }

    @ParameterizedTest(name = "{0} rows of {1}")
    @MethodSource("argmaxCases")
    public void argmaxMatchesReferenceExactly(int rows, int vocab) {
        Random rng = rng(rows, vocab);
        float[] logits = floats(rng, rows * vocab, 3); // [rows][vocab]
        if (rows >= 4) {
            logits[vocab + 7] = logits[vocab + vocab - 2] = 100f; // row 1: a tie, the lower id wins
            java.util.Arrays.fill(logits, 2 * vocab, 3 * vocab, Float.NaN); // row 2: NaN is above nothing ...
            logits[2 * vocab + 5] = -1f; // ... so its one number wins
            java.util.Arrays.fill(logits, 3 * vocab, 4 * vocab, Float.NEGATIVE_INFINITY); // row 3: none: -1
        }
        int[] want = new int[rows];
        reference.argmax(put(reference, logits), rows, vocab, want);
        int[] got = new int[rows];
        backend.argmax(put(backend, logits), rows, vocab, got);
        assertThat(got).containsExactly(want);
        if (rows >= 4) {
            assertThat(want[1]).isEqualTo(7);
            assertThat(want[2]).isEqualTo(5);
            assertThat(want[3]).isEqualTo(-1);
        }
    }

    /**
     * One logits row drawn from at 200 evenly spaced uniforms, each copy of the row with its own:
     * the draws must follow the reference's kept set and cumulative order, which at most a couple of
     * u's lying within rounding of a boundary may miss. Greedy rows and a row without a finite
     * logit ride along.
     */
    @ParameterizedTest(name = "1/T {0}, top-k {1}, top-p {2}, min-p {3}")
    @MethodSource("samplingCases")
    public void sampleFollowsTheReference(float invTemperature, int topK, float topP, float minP) {
        Random rng = rng(invTemperature, topK, topP, minP);
        int vocab = 3000;
        int draws = 200;
        int rows = draws + 2;
        float[] row = floats(rng, vocab, 2);
        row[17] = row[2999] = 20f; // a tie at the top (10 sigma above the rest)
        float[] logits = new float[rows * vocab];
        SamplingRow[] params = new SamplingRow[rows];
        for (int r = 0; r < draws; r++) {
            System.arraycopy(row, 0, logits, r * vocab, vocab);
            params[r] = new SamplingRow(false, invTemperature, topK, topP, minP, (r + 0.5) / draws);
        }
        System.arraycopy(row, 0, logits, draws * vocab, vocab);
        params[draws] = SamplingRow.argmax();
        java.util.Arrays.fill(logits, (draws + 1) * vocab, rows * vocab, Float.NaN);
        params[draws + 1] = new SamplingRow(false, 1f, 0, 1f, 0f, 0.5);

        int[] want = new int[rows];
        reference.sample(put(reference, logits), rows, vocab, params, want);
        int[] got = new int[rows];
        backend.sample(put(backend, logits), rows, vocab, params, got);
        assertThat(got[draws]).as("greedy").isEqualTo(want[draws]).isEqualTo(17);
        assertThat(got[draws + 1]).as("no finite logit").isEqualTo(want[draws + 1]).isEqualTo(-1);
        int differ = 0;
        for (int r = 0; r < draws; r++) {
            differ += got[r] != want[r] ? 1 : 0;
        }
        assertThat(differ).as("draws that part from the reference's").isLessThanOrEqualTo(2);
        long distinct = java.util.Arrays.stream(want, 0, draws).distinct().count();
        if (topK == 1) { // top-k keeps every weight >= the k-th largest: both of the tie
            assertThat(java.util.Arrays.stream(want, 0, draws).distinct().sorted().toArray()).containsExactly(17, 2999);
        } else {
            assertThat(distinct).as("a real draw, not one token").isGreaterThan(1);
        }
    }

    static Stream<Arguments> samplingCases() {
        return Stream.of(Arguments.of(1f, 0, 1f, 0f), Arguments.of(1.25f, 0, 1f, 0f), Arguments.of(1f, 40, 1f, 0f),
                Arguments.of(1f, 1, 1f, 0f), Arguments.of(0.7f, 0, 0.9f, 0f), Arguments.of(1f, 50, 0.8f, 0f),
                Arguments.of(1f, 0, 1f, 0.05f), Arguments.of(2f, 100, 0.95f, 0.01f));
    }

    static Stream<Arguments> argmaxCases() {
        return Stream.of(Arguments.of(1, 50), Arguments.of(5, 1000), Arguments.of(9, 49152));
    }

    static Stream<Arguments> gatherCases() {
        return Stream.of(Arguments.of(1, 5), Arguments.of(4, 64), Arguments.of(12, 576));
    }
}
