package dev.gantry.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.quant.Dequant;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The KV cache's encodings: exact for f32, f16's rounding, and q8_0 as ggml's own Q8_0 blocks. */
class KvCacheDtypeTest {
    private final Random rng = new Random();

    private float[] row(int n, float scale) {
        float[] x = new float[n]; // [n]
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * scale);
        }
        return x;
    }

    private float[] roundTrip(KvCacheDtype d, float[] x, int first, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(d.rowBytes(x.length) + 8);
            d.encode(x, 0, x.length, seg, 8);
            float[] out = new float[n];
            d.decode(seg, 8, first, n, out, 0);
            return out;
        }
    }

    @Test
    void f32IsExact() {
        float[] x = row(96, 3);
        assertThat(roundTrip(KvCacheDtype.F32, x, 0, 96)).containsExactly(x);
        assertThat(roundTrip(KvCacheDtype.F32, x, 32, 64)).containsExactly(java.util.Arrays.copyOfRange(x, 32, 96));
    }

    @Test
    void f16RoundsToNearestHalf() {
        float[] x = row(128, 100);
        x[0] = 70000f; // beyond f16: infinity, as llama.cpp's f16 cache
        x[1] = 1e-8f; // f16 subnormal range
        float[] got = roundTrip(KvCacheDtype.F16, x, 0, 128);
        for (int i = 0; i < x.length; i++) {
            assertThat(got[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(x[i])));
        }
        assertThat(got[0]).isInfinite();
    }

    @Test
    void q8_0IsGgmlsBlockLayout() {
        int n = 256;
        float[] x = row(n, 2);
        java.util.Arrays.fill(x, 64, 96, 0f); // an all-zero block
        x[100] = 50f; // a block with an outlier
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(KvCacheDtype.Q8_0.rowBytes(n));
            KvCacheDtype.Q8_0.encode(x, 0, n, seg, 0);
            assertThat(seg.byteSize()).isEqualTo(n / 32 * 34);
            // ggml's dequantization of Q8_0 blocks (the GGUF reader's, checked against gguf-py) reads the same values.
            float[] ggml = new float[n];
            Dequant.values(GgmlType.Q8_0, seg, 0, n, ggml, 0);
            float[] decoded = new float[n];
            KvCacheDtype.Q8_0.decode(seg, 0, 0, n, decoded, 0);
            assertThat(decoded).containsExactly(ggml);
            for (int b = 0; b < n / 32; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[b * 32 + j]));
                }
                float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    assertThat(Math.abs(decoded[i] - x[i])).as("value %d", i).isLessThanOrEqualTo(d * 0.5f + amax * 1e-3f);
                }
            }
            for (int i = 64; i < 96; i++) {
                assertThat(decoded[i]).isZero();
            }
            // A head's slice starting at a later block decodes alone.
            float[] slice = new float[64];
            KvCacheDtype.Q8_0.decode(seg, 0, 128, 64, slice, 0);
            assertThat(slice).containsExactly(java.util.Arrays.copyOfRange(decoded, 128, 192));
        }
    }

    @Test
    void parsesWhatUsersWrite() {
        assertThat(KvCacheDtype.parse("auto")).isEqualTo(KvCacheDtype.F32);
        assertThat(KvCacheDtype.parse("F16")).isEqualTo(KvCacheDtype.F16);
        assertThat(KvCacheDtype.parse(" q8_0 ")).isEqualTo(KvCacheDtype.Q8_0);
        assertThatThrownBy(() -> KvCacheDtype.parse("fp8")).isInstanceOf(IllegalArgumentException.class);
        assertThat(KvCacheDtype.Q8_0.unsupportedReason(80)).contains("80");
        assertThat(KvCacheDtype.Q8_0.unsupportedReason(64)).isNull();
        assertThat(KvCacheDtype.F16.unsupportedReason(80)).isNull();
    }

    @Test
    void storageSizesFollowTheDtype() {
        try (HostKvStorage f32 = new HostKvStorage(2, 3, 16, 128, KvCacheDtype.F32);
                HostKvStorage f16 = new HostKvStorage(2, 3, 16, 128, KvCacheDtype.F16);
                HostKvStorage q8 = new HostKvStorage(2, 3, 16, 128, KvCacheDtype.Q8_0)) {
            assertThat(f32.bytes()).isEqualTo(2L * 2 * 3 * 16 * 128 * 4);
            assertThat(f16.bytes()).isEqualTo(f32.bytes() / 2);
            assertThat(q8.bytes()).isEqualTo(2L * 2 * 3 * 16 * 4 * 34);
            assertThat(q8.keys(1).byteSize()).isEqualTo(3 * 16 * 4 * 34);
        }
        assertThatThrownBy(() -> new HostKvStorage(1, 1, 16, 80, KvCacheDtype.Q8_0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("80");
    }
}
