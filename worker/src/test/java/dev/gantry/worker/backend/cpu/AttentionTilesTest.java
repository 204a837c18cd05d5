package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.AttentionBatch;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.backend.ReferenceBackend;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The native attention takes a prompt's consecutive rows in tiles (gantry_attend_rows), each
 * cached row read once for the tile; a row's result must not depend on the tile it falls in. A
 * 37-row prompt chunk after 100 cached positions (so that tiles cross the kernels' blocks of 64
 * positions) attended in one step, in chunks of 5, 13 and 19 rows (tiles that start elsewhere,
 * the way chunked prefill splits a prompt under load), and on one thread (another split of the items) gives
 * every row the same bits, on every variant, KV-cache dtype, GQA group (1, 3, 4) and head
 * dimension (64, 128); and each agrees with the reference.
 */
class AttentionTilesTest {
    private static final int ROWS = 37;
    /** Positions cached before the prompt chunk: its tiles cross the kernels' 64-position blocks. */
    private static final int PREFIX = 100;
    private static final int BS = 8;
    private static final int BLOCKS = 18; // PREFIX + ROWS = 137 positions of 144
    private static final int KV_HEADS = 2;

    @Test
    void aRowHasTheSameBitsWhateverTileItFallsIn() {
        NativeCpu cpu = NativeCpu.library().orElse(null);
        assumeTrue(cpu != null, "the native CPU kernels are not built for this machine");
        int chosen = cpu.variant();
        try {
            for (int v = 0; v < NativeCpu.VARIANT_COUNT; v++) {
                if (cpu.select(v)) {
                    checkVariant(cpu, v);
                }
            }
        } finally {
            cpu.select(chosen);
        }
    }

    private static void checkVariant(NativeCpu cpu, int v) {
        for (KvCacheDtype dtype : KvCacheDtype.values()) {
            for (int headDim : new int[] {64, 128}) {
                for (int group : new int[] {1, 3, 4}) {
                    String what = "variant %d, %s, head dim %d, group %d".formatted(v, dtype, headDim, group);
                    Case c = new Case(group, headDim, new SplittableRandom(v * 977L + dtype.ordinal() * 31L + headDim + group));
                    float[] whole = c.attend(new VectorBackend(2, ActivationPrecision.F32, cpu), dtype, ROWS);
                    float[] chunked = c.attend(new VectorBackend(2, ActivationPrecision.F32, cpu), dtype, 5, 13, 19);
                    float[] oneThread = c.attend(new VectorBackend(1, ActivationPrecision.F32, cpu), dtype, ROWS);
                    float[] reference = c.attend(new ReferenceBackend(), dtype, ROWS);
                    assertThat(chunked).as("%s: in chunks of 5, 13 and 19 rows", what).containsExactly(whole);
                    assertThat(oneThread).as("%s: on one thread", what).containsExactly(whole);
                    for (int i = 0; i < whole.length; i++) {
                        assertThat(Math.abs(whole[i] - reference[i])).as("%s: value %d against the reference", what, i)
                                .isLessThan(1e-4f);
                    }
                }
            }
        }
    }

    /** One sequence's random keys and values for its cache, queries for the ROWS rows of its chunk, its blocks shuffled. */
    private record Case(int group, int headDim, float[] kv, float[] q, int[] table) {
        Case(int group, int headDim, SplittableRandom rnd) {
            this(group, headDim, gaussian(rnd, BLOCKS * BS * KV_HEADS * headDim),
                    gaussian(rnd, ROWS * group * KV_HEADS * headDim), shuffled(rnd, BLOCKS));
        }

        /** The prompt's rows attended in consecutive chunks of the given sizes: out [ROWS][heads * headDim]. */
        float[] attend(Backend be, KvCacheDtype dtype, int... chunks) {
            int heads = group * KV_HEADS;
            int width = heads * headDim;
            float[] out = new float[ROWS * width];
            int[] slots = new int[BLOCKS * BS]; // the whole cache, K and V alike, filled once
            for (int i = 0; i < slots.length; i++) {
                slots[i] = i;
            }
            try (be; var cache = be.allocateKv(1, BLOCKS, BS, KV_HEADS * headDim, dtype)) {
                var k = be.allocate(kv.length);
                be.upload(kv, kv.length, k);
                be.storeKv(cache, 0, k, k, slots.length, slots);
                int done = 0;
                for (int rows : chunks) {
                    var batch = new AttentionBatch(new int[] {0, rows}, new int[] {PREFIX + done + rows}, new int[][] {table});
                    var qb = be.allocate(rows * width);
                    be.upload(Arrays.copyOfRange(q, done * width, (done + rows) * width), rows * width, qb);
                    var ob = be.allocate(rows * width);
                    be.attention(qb, cache, 0, batch, heads, KV_HEADS, headDim, 0.125f, ob);
                    float[] part = new float[rows * width];
                    be.download(ob, rows * width, part);
                    System.arraycopy(part, 0, out, done * width, part.length);
                    done += rows;
                }
                assertThat(done).isEqualTo(ROWS);
            }
            return out;
        }

        private static int[] shuffled(SplittableRandom rnd, int n) {
            int[] x = new int[n];
            for (int i = 0; i < n; i++) {
                x[i] = i;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = x[i];
                x[i] = x[j];
                x[j] = t;
            }
            return x;
        }

        private static float[] gaussian(SplittableRandom rnd, int n) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            return x;
        }
    }
}
