package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gantry.worker.backend.Q8Activations;
import dev.gantry.worker.backend.Q8KActivations;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.quant.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The native int8 kernels against the reference on fresh random inputs, on every SIMD variant this
 * CPU runs: the activations are quantized to the very integers and scales of {@link
 * Q8Activations}, each product is llama.cpp's integer dot product ({@link Q8Activations#dot}) to
 * float rounding, and a token's result has the same bits alone as in a batch; the same for the
 * K-quants against {@link Q8KActivations}.
 */
class NativeCpuTest {
    private final NativeCpu cpu = NativeCpu.library().orElse(null);
    private final int chosen = cpu == null ? -1 : cpu.variant();

    @AfterEach
    void restore() {
        if (cpu != null) {
            cpu.select(chosen);
        }
    }

    private List<Integer> variants() {
        assumeTrue(cpu != null, "the native CPU kernels are not built for this machine");
        List<Integer> runnable = new ArrayList<>();
        for (int v = 0; v < NativeCpu.VARIANT_COUNT; v++) {
            if (cpu.select(v)) {
                runnable.add(v);
            }
        }
        cpu.select(chosen);
        return runnable;
    }

    /**
     * Native attention (gantry_cpu_attn.c) on every variant against the reference, over each
     * KV-cache dtype: a decode row at position 69 with and without a 5-token prompt chunk beside
     * it, blocks shuffled; GQA groups of 3, 4 and 5 (the AVX-512 kernel takes 4 heads of 64 values
     * or 2 of 128 together, the rest one by one); head dimension 64 and 128 (copies of the kernel
     * for each) and, where q8_0's blocks allow, 72 (a tail past the last 16 values). The decode
     * row has the same bits alone (a call per head) as beside the prompt chunk (a call per group).
     */
    @ParameterizedTest
    @EnumSource(dev.gantry.worker.backend.KvCacheDtype.class)
    void attentionMatchesTheReferenceOnEveryVariant(dev.gantry.worker.backend.KvCacheDtype dtype) {
        for (int v : variants()) {
            cpu.select(v);
            int[] headDims = dtype == dev.gantry.worker.backend.KvCacheDtype.Q8_0 ? new int[] {64, 128} : new int[] {64, 72, 128};
            for (int headDim : headDims) {
                for (int group : new int[] {3, 4, 5}) {
                    long seed = v * 1000L + headDim * 10L + group;
                    float[] alone = attentionAgainstReference(v, dtype, headDim, group, true, seed);
                    float[] beside = attentionAgainstReference(v, dtype, headDim, group, false, seed);
                    assertThat(alone).as("variant %d, %s, head dim %d, group %d: the decode row alone and beside a prompt",
                            v, dtype, headDim, group).containsExactly(java.util.Arrays.copyOf(beside, alone.length));
                }
            }
        }
    }

    /** The native backend's output, checked against the reference's. */
    private float[] attentionAgainstReference(int v, dev.gantry.worker.backend.KvCacheDtype dtype, int headDim, int group,
            boolean alone, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int kvHeads = 2;
        int heads = group * kvHeads;
        int bs = 8;
        // Six rows: (row, KV head) items for every thread, the query heads of a group taken
        // together; one row alone on 3 threads: a call per (row, head), a group of one.
        int[] queryStart = alone ? new int[] {0, 1} : new int[] {0, 1, 6};
        int[] contextLen = alone ? new int[] {70} : new int[] {70, 5};
        int[][] tables = alone ? new int[][] {{9, 2, 7, 0, 5, 11, 3, 1, 10}}
                : new int[][] {{9, 2, 7, 0, 5, 11, 3, 1, 10}, {4}};
        var batch = new dev.gantry.worker.backend.AttentionBatch(queryStart, contextLen, tables);
        float[] kv = new float[12 * bs * kvHeads * headDim]; // [slots][kvDim], K and V alike
        for (int i = 0; i < kv.length; i++) {
            kv[i] = (float) rnd.nextGaussian();
        }
        float[] q = new float[queryStart[queryStart.length - 1] * heads * headDim]; // [rows][heads * headDim]
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        int[] slots = new int[12 * bs];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = i;
        }
        float[][] outs = new float[2][];
        dev.gantry.worker.backend.Backend[] backends = {new dev.gantry.worker.backend.ReferenceBackend(),
            // alone: 2 (row, KV head) items for 3 threads, so a call per (row, head)
            new VectorBackend(alone ? 3 : 2, dev.gantry.worker.backend.ActivationPrecision.F32, cpu)};
        for (int b = 0; b < 2; b++) {
            var be = backends[b];
            try (var cache = be.allocateKv(1, 12, bs, kvHeads * headDim, dtype)) {
                var k = be.allocate(kv.length);
                be.upload(kv, kv.length, k);
                be.storeKv(cache, 0, k, k, slots.length, slots);
                var qb = be.allocate(q.length);
                be.upload(q, q.length, qb);
                var out = be.allocate(q.length);
                be.attention(qb, cache, 0, batch, heads, kvHeads, headDim, 0.125f, out);
                outs[b] = new float[q.length];
                be.download(out, q.length, outs[b]);
            } finally {
                be.close();
            }
        }
        for (int i = 0; i < q.length; i++) {
            assertThat(Math.abs(outs[1][i] - outs[0][i])).as("variant %d, %s, head dim %d, group %d, alone %s, value %d", v,
                    dtype, headDim, group, alone, i).isLessThan(2e-5f * 4);
        }
        return outs[1];
    }

    @Test
    void theLibraryLoadsWithTheBestVariantThisCpuRuns() {
        List<Integer> runnable = variants();
        assertThat(runnable).contains(0);
        assertThat(chosen).isEqualTo(runnable.getLast());
        System.out.println("native CPU kernels: " + cpu.variantName() + "; runnable variants " + runnable);
    }

    @Test
    void quantizationPicksTheIntegersOfQ8Activations() {
        assumeTrue(cpu != null, "no native CPU kernels");
        SplittableRandom rnd = new SplittableRandom(1);
        int rows = 3;
        int cols = 256;
        float[] x = random(rnd, rows * cols, 4f);
        x[5] = 0;
        java.util.Arrays.fill(x, 64, 96, 0f); // an all-zero block
        byte[] q = new byte[rows * cols];
        float[] d = new float[rows * cols / 32];
        cpu.quantize(x, rows, cols, q, d, null);
        Q8Activations ref = Q8Activations.quantize(x, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                assertThat((int) q[r * cols + i]).as("row %d value %d", r, i).isEqualTo(ref.value(r, i));
            }
            for (int b = 0; b < cols / 32; b++) {
                assertThat(d[r * cols / 32 + b]).isEqualTo(ref.scale(r, b));
            }
        }
    }

    @Test
    void productsAreLlamaCppsIntegerDotProductsOnEveryVariant() {
        for (int v : variants()) {
            cpu.select(v);
            for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_1, GgmlType.Q5_1}) {
                check(type, v, 70, 512, 11, new SplittableRandom(v * 31L + type.id)); // 11 tokens: two tiles of 8
            }
        }
    }

    @Test
    void kQuantizationPicksTheIntegersOfQ8KActivations() {
        assumeTrue(cpu != null, "no native CPU kernels");
        SplittableRandom rnd = new SplittableRandom(2);
        int rows = 3;
        int cols = 768;
        float[] x = random(rnd, rows * cols, 4f);
        java.util.Arrays.fill(x, 256, 512, 0f); // an all-zero block
        x[600] = 50f;                           // a positive extreme: d comes out negative
        byte[] q = new byte[rows * cols];
        float[] d = new float[rows * cols / 256];
        short[] sums = new short[rows * cols / 16];
        cpu.quantizeK(x, rows, cols, q, d, sums);
        Q8KActivations ref = Q8KActivations.quantize(x, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                assertThat((int) q[r * cols + i]).as("row %d value %d", r, i).isEqualTo(ref.value(r, i));
            }
            for (int b = 0; b < cols / 256; b++) {
                assertThat(d[r * cols / 256 + b]).isEqualTo(ref.scale(r, b));
            }
            for (int g = 0; g < cols / 16; g++) {
                assertThat((int) sums[r * cols / 16 + g]).isEqualTo(ref.groupSum(r, g));
            }
        }
        assertThat(ref.scale(0, 2)).isNegative();
    }

    @Test
    void kQuantProductsAreLlamaCppsIntegerDotProductsOnEveryVariant() {
        for (int v : variants()) {
            cpu.select(v);
            for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                check(type, v, 37, 768, 11, new SplittableRandom(v * 17L + type.id));
            }
        }
    }

    /** The K-quants' products fix their arithmetic: every variant gives the plain C variant's bits. */
    @Test
    void kQuantProductsHaveTheSameBitsOnEveryVariant() {
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            try (Arena arena = Arena.ofConfined()) {
                SplittableRandom rnd = new SplittableRandom(type.id);
                int rows = 53;
                int cols = 1024;
                int tokens = 21;
                MemorySegment data = randomWeight(arena, type, rows, cols, rnd);
                long rowBytes = type.byteSize(cols);
                byte[] xq = new byte[tokens * cols];
                float[] xd = new float[tokens * cols / 256];
                short[] xs = new short[tokens * cols / 16];
                cpu.quantizeK(random(rnd, tokens * cols, 2f), tokens, cols, xq, xd, xs);
                float[] plain = null;
                for (int v : variants()) {
                    cpu.select(v);
                    float[] out = new float[tokens * rows];
                    cpu.matmulK(type, data, rowBytes, 0, rows, cols, xq, xd, xs, tokens, out, rows, null);
                    if (plain == null) {
                        plain = out;
                    } else {
                        assertThat(out).as("%s on variant %d", type, v).containsExactly(plain);
                    }
                }
            }
        }
    }

    /**
     * Q8_0 and Q4_0 on weights packed at load (the AVX-512 and AMX variants): llama.cpp's integer
     * products to float rounding, rows past the last whole group of 16 from the unpacked weight,
     * and a token's bits the same alone (AVX-512) as in a batch of 37 (AMX where the CPU has it).
     */
    @Test
    void packedProductsAreLlamaCppsAndTheSameAloneAndInABatch() {
        for (int v : variants()) {
            cpu.select(v);
            if (!cpu.packs()) {
                continue;
            }
            for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
                try (Arena arena = Arena.ofConfined()) {
                    SplittableRandom rnd = new SplittableRandom(v * 7L + type.id);
                    int rows = 53;
                    int cols = 512;
                    int tokens = 37; // AMX: two tiles of 16 tokens, then a partial one
                    MemorySegment data = randomWeight(arena, type, rows, cols, rnd);
                    Weight w = new Weight("w", type, rows, cols, data);
                    MemorySegment packed = arena.allocate(cpu.packedBytes(type, rows, cols), 64);
                    cpu.pack(type, data, w.rowBytes(), rows, cols, packed);
                    float[] x = random(rnd, tokens * cols, 3f);
                    float[] bias = random(rnd, rows, 1f);
                    byte[] xq = new byte[tokens * cols];
                    float[] xd = new float[tokens * cols / 32];
                    short[] xs = new short[tokens * cols / 32];
                    cpu.quantize(x, tokens, cols, xq, xd, xs);
                    Q8Activations ref = Q8Activations.quantize(x, tokens, cols);
                    float[] out = new float[tokens * rows];
                    cpu.matmulPacked(type, packed, data, w.rowBytes(), rows, 0, 32, cols, xq, xd, xs, tokens, out, rows, bias);
                    cpu.matmulPacked(type, packed, data, w.rowBytes(), rows, 32, rows, cols, xq, xd, xs, tokens, out, rows, bias);
                    assertThat(tiledProduct(type, packed, data, w.rowBytes(), rows, cols, xq, xd, xs, tokens, bias))
                            .as("%s variant %d, activations tiled once", type, v).containsExactly(out);
                    for (int t = 0; t < tokens; t++) {
                        float[] alone = new float[rows];
                        cpu.matmulPacked(type, packed, data, w.rowBytes(), rows, 0, rows, cols,
                                java.util.Arrays.copyOfRange(xq, t * cols, (t + 1) * cols),
                                java.util.Arrays.copyOfRange(xd, t * cols / 32, (t + 1) * cols / 32),
                                java.util.Arrays.copyOfRange(xs, t * cols / 32, (t + 1) * cols / 32), 1, alone, rows, bias);
                        assertThat(alone).as("%s variant %d token %d alone", type, v, t)
                                .containsExactly(java.util.Arrays.copyOfRange(out, t * rows, (t + 1) * rows));
                        for (int o = 0; o < rows; o++) {
                            double want = ref.dot(w, o, t) + bias[o];
                            assertThat((double) out[t * rows + o]).as("%s variant %d token %d row %d", type, v, t, o)
                                    .isCloseTo(want, org.assertj.core.api.Assertions.within(1e-4 * Math.max(1, Math.abs(want))));
                        }
                    }
                }
            }
        }
    }

    /** Q4_K, Q5_K and Q6_K packed at load: the bits of the row kernels (one arithmetic), alone and in a batch. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void packedKQuantsHaveTheBitsOfTheRowKernels(GgmlType type) {
        for (int v : variants()) {
            cpu.select(v);
            if (!cpu.packs()) {
                continue;
            }
            try (Arena arena = Arena.ofConfined()) {
                SplittableRandom rnd = new SplittableRandom(v);
                int rows = 53; // calls of 2 groups, then 1 and 5 rows outside a group
                int cols = 768;
                int tokens = 37; // AMX: two tiles of 16 tokens, then a partial one
                MemorySegment data = randomWeight(arena, type, rows, cols, rnd);
                long rowBytes = type.byteSize(cols);
                MemorySegment packed = arena.allocate(cpu.packedBytes(type, rows, cols), 64);
                cpu.pack(type, data, rowBytes, rows, cols, packed);
                byte[] xq = new byte[tokens * cols];
                float[] xd = new float[tokens * cols / 256];
                short[] xs = new short[tokens * cols / 16];
                cpu.quantizeK(random(rnd, tokens * cols, 2f), tokens, cols, xq, xd, xs);
                float[] bias = random(rnd, rows, 1f);
                float[] rowsOut = new float[tokens * rows];
                cpu.matmulK(type, data, rowBytes, 0, rows, cols, xq, xd, xs, tokens, rowsOut, rows, bias);
                float[] out = new float[tokens * rows];
                cpu.matmulPacked(type, packed, data, rowBytes, rows, 0, 32, cols, xq, xd, xs, tokens, out, rows, bias);
                cpu.matmulPacked(type, packed, data, rowBytes, rows, 32, rows, cols, xq, xd, xs, tokens, out, rows, bias);
                assertThat(out).as("%s variant %d, %d tokens", type, v, tokens).containsExactly(rowsOut);
                assertThat(tiledProduct(type, packed, data, rowBytes, rows, cols, xq, xd, xs, tokens, bias))
                        .as("%s variant %d, activations tiled once", type, v).containsExactly(rowsOut);
                float[] alone = new float[rows];
                cpu.matmulPacked(type, packed, data, rowBytes, rows, 0, rows, cols,
                        java.util.Arrays.copyOfRange(xq, 3 * cols, 4 * cols), java.util.Arrays.copyOfRange(xd, 3 * cols / 256, 4 * cols / 256),
                        java.util.Arrays.copyOfRange(xs, 3 * cols / 16, 4 * cols / 16), 1, alone, rows, bias);
                assertThat(alone).as("%s variant %d, token 3 alone", type, v)
                        .containsExactly(java.util.Arrays.copyOfRange(rowsOut, 3 * rows, 4 * rows));
            }
        }
    }

    /**
     * The packed product in two calls that share activations laid out once ({@link NativeCpu#tilePacked}), as
     * {@link Matmul} makes it, the tile buffer first filled with junk: the rows past the tokens must not count.
     */
    private float[] tiledProduct(GgmlType type, MemorySegment packed, MemorySegment data, long rowBytes, int rows,
            int cols, byte[] xq, float[] xd, short[] xs, int tokens, float[] bias) {
        MemorySegment tiled = Arena.ofAuto().allocate(NativeCpu.tiledBytes(tokens, cols), 64).fill((byte) 0x5a);
        boolean amx = cpu.tilePacked(type, xq, tokens, cols, tiled);
        assertThat(amx).as("tiles for %d tokens on variant %d", tokens, cpu.variant()).isEqualTo(cpu.variant() == 5);
        float[] out = new float[tokens * rows];
        MemorySegment t = amx ? tiled : null;
        cpu.matmulPacked(type, packed, data, rowBytes, rows, 0, 32, cols, xq, t, xd, xs, tokens, out, rows, bias);
        cpu.matmulPacked(type, packed, data, rowBytes, rows, 32, rows, cols, xq, t, xd, xs, tokens, out, rows, bias);
        return out;
    }

    private void check(GgmlType type, int variant, int rows, int cols, int tokens, SplittableRandom rnd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = randomWeight(arena, type, rows, cols, rnd);
            Weight w = new Weight("w", type, rows, cols, data);
            float[] x = random(rnd, tokens * cols, 3f);
            float[] bias = random(rnd, rows, 1f);
            boolean k = NativeCpu.isK(type);
            int block = k ? 256 : 32;
            byte[] xq = new byte[tokens * cols];
            float[] xd = new float[tokens * cols / block];
            short[] xs = new short[tokens * cols / 16];
            Q8Activations ref = k ? null : Q8Activations.quantize(x, tokens, cols);
            Q8KActivations refK = k ? Q8KActivations.quantize(x, tokens, cols) : null;
            float[] x1 = NativeCpu.hasOffsets(type) ? new float[tokens * cols / 32] : null; // Q8_1's block sums
            float[] out = new float[tokens * rows];
            // Two ranges of rows, as two threads would take them.
            if (k) {
                cpu.quantizeK(x, tokens, cols, xq, xd, xs);
                cpu.matmulK(type, data, w.rowBytes(), 0, rows / 2, cols, xq, xd, xs, tokens, out, rows, bias);
                cpu.matmulK(type, data, w.rowBytes(), rows / 2, rows, cols, xq, xd, xs, tokens, out, rows, bias);
            } else {
                if (x1 != null) {
                    cpu.quantizeQ8_1(x, tokens, cols, xq, xd, x1);
                    for (int t = 0; t < tokens; t++) { // the sums Q8Activations (llama.cpp's Q8_1) has
                        for (int b = 0; b < cols / 32; b++) {
                            assertThat(x1[t * cols / 32 + b]).isEqualTo(ref.blockSum(t, b));
                        }
                    }
                } else {
                    cpu.quantize(x, tokens, cols, xq, xd, null);
                }
                cpu.matmul(type, data, w.rowBytes(), 0, rows / 2, cols, xq, xd, x1, tokens, out, rows, bias);
                cpu.matmul(type, data, w.rowBytes(), rows / 2, rows, cols, xq, xd, x1, tokens, out, rows, bias);
            }
            for (int t = 0; t < tokens; t++) {
                for (int o = 0; o < rows; o++) {
                    double want = (k ? refK.dot(w, o, t) : ref.dot(w, o, t)) + bias[o];
                    assertThat((double) out[t * rows + o]).as("%s variant %d token %d row %d", type, variant, t, o)
                            .isCloseTo(want, org.assertj.core.api.Assertions.within(1e-4 * Math.max(1, Math.abs(want))));
                }
            }
            // The last token alone: the same bits as in the batch.
            float[] alone = new float[rows];
            byte[] lastQ = java.util.Arrays.copyOfRange(xq, (tokens - 1) * cols, tokens * cols);
            float[] lastD = java.util.Arrays.copyOfRange(xd, (tokens - 1) * cols / block, tokens * cols / block);
            if (k) {
                short[] lastS = java.util.Arrays.copyOfRange(xs, (tokens - 1) * cols / 16, tokens * cols / 16);
                cpu.matmulK(type, data, w.rowBytes(), 0, rows, cols, lastQ, lastD, lastS, 1, alone, rows, bias);
            } else {
                float[] lastS = x1 == null ? null : java.util.Arrays.copyOfRange(x1, (tokens - 1) * cols / 32, tokens * cols / 32);
                cpu.matmul(type, data, w.rowBytes(), 0, rows, cols, lastQ, lastD, lastS, 1, alone, rows, bias);
            }
            assertThat(alone).containsExactly(java.util.Arrays.copyOfRange(out, (tokens - 1) * rows, tokens * rows));
        }
    }

    /** A weight of random values (standard deviation 1) quantized to {@code type}, in {@code arena}'s memory. */
    private static MemorySegment randomWeight(Arena arena, GgmlType type, int rows, int cols, SplittableRandom rnd) {
        byte[] bytes = new byte[(int) type.byteSize(cols) * rows];
        Quantize.values(type, random(rnd, rows * cols, 1f), 0, rows * cols, bytes, 0);
        MemorySegment data = arena.allocate(bytes.length);
        data.copyFrom(MemorySegment.ofArray(bytes));
        return data;
    }

    private static float[] random(SplittableRandom rnd, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        return x;
    }
}
