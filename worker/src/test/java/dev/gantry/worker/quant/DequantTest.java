package dev.gantry.worker.quant;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.HostBuffer;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.backend.cpu.VectorBackend;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Checks every supported type's dequantization block by block against ggml's own Python package
 * gguf (gguf-py's numpy {@code gguf.quants.dequantize}), an implementation independent of ours.
 * The fixtures in {@code src/test/resources/dequant/} hold random valid blocks and gguf's values;
 * {@code src/test/python/dequant_vectors.py} writes them.
 *
 * <p>Equality is bit for bit (compared as IEEE bit patterns, so -0.0, subnormals and infinities
 * count): both sides do the same float32 operations in the same order, so any difference is a bug.
 */
class DequantTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Arena arena;
    private static Backend cpu;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
        cpu = new VectorBackend(2);
    }

    @AfterAll
    static void close() {
        cpu.close();
        arena.close();
    }

    /** One fixture: the blocks' bytes and gguf's float32 values of them, and the row length for embed. */
    private record Fixture(GgmlType type, MemorySegment bytes, float[] values, int cols) {}

    private static Fixture load(GgmlType type) throws IOException {
        try (InputStream in = DequantTest.class.getResourceAsStream("/dequant/" + type + ".json")) {
            assertThat(in).as("fixture for %s", type).isNotNull();
            JsonNode root = JSON.readTree(in);
            assertThat(root.get("type").asText()).isEqualTo(type.name());
            assertThat(root.get("blockSize").asInt()).isEqualTo(type.blockSize);
            assertThat(root.get("typeSize").asInt()).isEqualTo(type.typeSize);
            byte[] raw = HexFormat.of().parseHex(root.get("bytes").asText());
            // A native, unaligned-at-random-offset copy, as a tensor inside a mapped file would be.
            MemorySegment seg = arena.allocate(raw.length + 3L).asSlice(3, raw.length);
            MemorySegment.copy(MemorySegment.ofArray(raw), 0, seg, 0, raw.length);
            JsonNode vals = root.get("values");
            float[] values = new float[vals.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(vals.get(i).asText(), 16));
            }
            assertThat(type.byteSize(values.length)).isEqualTo(raw.length);
            return new Fixture(type, seg, values, root.get("cols").asInt());
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void everyBlockMatchesGguf(GgmlType type) throws IOException {
        Fixture f = load(type);
        int bs = type.blockSize;
        for (int b = 0; b < f.values.length / bs; b++) {
            float[] got = new float[bs];
            Dequant.block(type, f.bytes, (long) b * type.typeSize, got, 0);
            assertBitExact(got, 0, f.values, b * bs, bs, type + " block " + b);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void rowsMatchGguf(GgmlType type) throws IOException {
        Fixture f = load(type);
        int rows = f.values.length / f.cols;
        for (int r = 0; r < rows; r++) {
            float[] got = new float[f.cols + 5];
            Dequant.row(type, f.bytes, r, f.cols, got, 5);
            assertBitExact(got, 5, f.values, r * f.cols, f.cols, type + " row " + r);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void vectorBackendEmbedMatchesGguf(GgmlType type) throws IOException {
        Fixture f = load(type);
        int rows = f.values.length / f.cols;
        Weight table = new Weight("fixture", type, rows, f.cols, f.bytes);
        // Every row, last first and one twice, to check row addressing.
        int[] tokens = new int[rows + 1];
        for (int i = 0; i < rows; i++) {
            tokens[i] = rows - 1 - i;
        }
        tokens[rows] = rows - 1;
        // [tokens][cols]
        HostBuffer out = (HostBuffer) cpu.allocate((long) tokens.length * f.cols);
        cpu.embed(table, tokens, tokens.length, out);
        for (int i = 0; i < tokens.length; i++) {
            assertBitExact(out.data(), i * f.cols, f.values, tokens[i] * f.cols, f.cols,
                    type + " embed of row " + tokens[i]);
        }
    }

    private static void assertBitExact(float[] got, int gotOff, float[] want, int wantOff, int n, String what) {
        for (int i = 0; i < n; i++) {
            int g = Float.floatToRawIntBits(got[gotOff + i]);
            int w = Float.floatToRawIntBits(want[wantOff + i]);
            if (g != w) {
                throw new AssertionError(String.format("%s, value %d: got %s (%08x), gguf gives %s (%08x)", what, i,
                        got[gotOff + i], g, want[wantOff + i], w));
            }
        }
    }
}
