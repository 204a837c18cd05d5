package dev.gantry.worker.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.quant.Dequant;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link GgufWriter} and {@link GgufFile} against each other (every metadata type, v2 and v3,
 * alignments, float encodings), against the real stories260K file, and the reader's error
 * messages on broken files: each must say what is wrong, not throw an index error.
 */
class GgufFileTest {
    @TempDir
    Path dir;

    private static final float[] VALUES = {0f, 1f, -2.5f, 0.1f, 3.14159f, -1e-3f, 65504f, 1e-8f};

    private GgufWriter everyType() {
        return new GgufWriter()
                .put("general.architecture", "llama")
                .put("u8", GgufWriter.ValueType.UINT8, 255)
                .put("i8", GgufWriter.ValueType.INT8, -128)
                .put("u16", GgufWriter.ValueType.UINT16, 65535)
                .put("i16", GgufWriter.ValueType.INT16, -32768)
                .put("u32", 4_000_000_000L)
                .put("i32", -7)
                .put("u64", GgufWriter.ValueType.UINT64, 1L << 40)
                .put("i64", -(1L << 40))
                .put("f32", 1.5f)
                .put("f64", Math.PI)
                .put("bool", true)
                .put("string", "héllo ✓")
                .put("strings", new String[] {"a", "", "ü"})
                .put("floats", new float[] {1f, -2f, 0.5f})
                .put("doubles", new double[] {1e-300, 2})
                .put("bools", new boolean[] {true, false})
                .put("ints", new int[] {-1, 2, 3})
                .put("longs", new long[] {1L << 40, -5})
                .put("u8s", GgufWriter.ValueType.UINT8, new long[] {0, 200})
                .put("nested", new Object[] {new long[] {1, 2}, new String[] {"x"}});
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void roundTripsEveryMetadataTypeAndTensor(int version) throws IOException {
        Path file = dir.resolve("all.gguf");
        everyType().version(version)
                .tensor("f32", GgmlType.F32, new long[] {4, 2}, VALUES)
                .tensor("f16", GgmlType.F16, new long[] {8}, VALUES)
                .tensor("bf16", GgmlType.BF16, new long[] {8}, VALUES)
                .tensor("q8", GgmlType.Q8_0, new long[] {32, 2}, new byte[68])
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertThat(g.version()).isEqualTo(version);
            var m = g.metadata();
            assertThat(m.get("u8")).isEqualTo(255L);
            assertThat(m.get("i8")).isEqualTo(-128L);
            assertThat(m.get("u16")).isEqualTo(65535L);
            assertThat(m.get("i16")).isEqualTo(-32768L);
            assertThat(m.get("u32")).isEqualTo(4_000_000_000L);
            assertThat(m.get("i32")).isEqualTo(-7L);
            assertThat(m.get("u64")).isEqualTo(1L << 40);
            assertThat(m.get("i64")).isEqualTo(-(1L << 40));
            assertThat(m.get("f32")).isEqualTo(1.5f);
            assertThat(m.get("f64")).isEqualTo(Math.PI);
            assertThat(m.get("bool")).isEqualTo(true);
            assertThat(m.get("string")).isEqualTo("héllo ✓");
            assertThat(g.getStringArray("strings")).containsExactly("a", "", "ü");
            assertThat(g.getFloatArray("floats")).containsExactly(1f, -2f, 0.5f);
            assertThat((double[]) m.get("doubles")).containsExactly(1e-300, 2);
            assertThat((boolean[]) m.get("bools")).containsExactly(true, false);
            assertThat(g.getLongArray("ints")).containsExactly(-1, 2, 3);
            assertThat(g.getLongArray("longs")).containsExactly(1L << 40, -5);
            assertThat(g.getLongArray("u8s")).containsExactly(0, 200);
            Object[] nested = (Object[]) m.get("nested");
            assertThat((long[]) nested[0]).containsExactly(1, 2);
            assertThat((String[]) nested[1]).containsExactly("x");

            assertThat(g.tensors()).containsOnlyKeys("f32", "f16", "bf16", "q8");
            assertThat(floats(g.tensor("f32"))).containsExactly(VALUES);
            float[] f16 = floats(g.tensor("f16"));
            float[] bf16 = floats(g.tensor("bf16"));
            for (int i = 0; i < VALUES.length; i++) {
                assertThat(f16[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(VALUES[i])));
                // bfloat16 keeps 8 bits of mantissa: within half a unit in the last place.
                assertThat(bf16[i]).isCloseTo(VALUES[i], org.assertj.core.data.Offset.offset(Math.abs(VALUES[i]) / 256 + 1e-30f));
            }
            assertThat(g.tensor("q8").shape()).containsExactly(32, 2);
            assertThat(g.tensor("q8").type()).isEqualTo(GgmlType.Q8_0);
            for (TensorInfo t : g.tensors().values()) {
                assertThat((g.dataOffset() + t.offset()) % 32).as(t.name()).isZero();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 64, 4096})
    void honoursCustomAlignment(int alignment) throws IOException {
        Path file = dir.resolve("aligned.gguf");
        new GgufWriter().alignment(alignment)
                .tensor("a", GgmlType.F32, new long[] {3}, new float[] {1, 2, 3})
                .tensor("b", GgmlType.F32, new long[] {1}, new float[] {4})
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertThat(g.getLong("general.alignment", -1)).isEqualTo(alignment);
            assertThat(g.dataOffset() % alignment).isZero();
            assertThat(g.tensor("b").offset()).isEqualTo((12 + alignment - 1) / alignment * alignment); // 'a' is 12 bytes
            assertThat(floats(g.tensor("b"))).containsExactly(4f);
            assertThat(Files.size(file) % alignment).isZero();
        }
    }

    @Test
    void readsTheRealStories260K() {
        try (GgufFile g = GgufFile.open(TestModels.stories260K())) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.tensors()).hasSize(48);
            assertThat(g.getString("general.architecture", null)).isEqualTo("llama");
            assertThat(g.tensor("token_embd.weight").shape()).containsExactly(64, 512);
            assertThat(g.getStringArray("tokenizer.ggml.tokens")).hasSize(512);
        }
    }

    @Test
    void copyingTheRealFileKeepsEveryByteOfItsTensors() throws IOException {
        Path copy = dir.resolve("copy.gguf");
        try (GgufFile g = GgufFile.open(TestModels.stories260K())) {
            GgufWriter w = new GgufWriter().putAll(g.metadata());
            g.tensors().values().forEach(w::tensor);
            w.write(copy);
            try (GgufFile c = GgufFile.open(copy)) {
                assertThat(c.metadata().keySet()).containsExactlyElementsOf(g.metadata().keySet());
                assertThat(c.getFloatArray("tokenizer.ggml.scores")).containsExactly(g.getFloatArray("tokenizer.ggml.scores"));
                for (TensorInfo t : g.tensors().values()) {
                    assertThat(c.tensor(t.name()).data().mismatch(t.data())).as(t.name()).isEqualTo(-1);
                }
            }
        }
    }

    @Test
    void rejectsWrongInputWhenWriting() {
        var w = new GgufWriter();
        assertThatThrownBy(() -> w.tensor("q", GgmlType.Q4_0, new long[] {16}, new byte[18]))
                .hasMessageContaining("not a multiple of the block size 32");
        assertThatThrownBy(() -> w.tensor("f", GgmlType.F32, new long[] {4}, new float[3]))
                .hasMessageContaining("has 4 elements but 3 values");
        assertThatThrownBy(() -> w.tensor("q", GgmlType.Q4_0, new long[] {32}, new float[32]))
                .hasMessageContaining("F32, F16 or BF16");
        assertThatThrownBy(() -> w.put("x", GgufWriter.ValueType.UINT8, 256)).hasMessageContaining("does not fit UINT8");
        assertThatThrownBy(() -> w.alignment(24)).hasMessageContaining("power of two");
        assertThat(w.tensorCount()).isZero();
    }

    @Test
    void notGguf() throws IOException {
        Path random = dir.resolve("random.bin");
        byte[] bytes = new byte[1000];
        new Random(1).nextBytes(bytes);
        bytes[0] = 0;
        Files.write(random, bytes);
        assertLoadFails(random, random + " is not a GGUF file (it does not start with the magic bytes \"GGUF\")");
        Path text = Files.writeString(dir.resolve("model.txt"), "hello, I am a text file\n");
        assertLoadFails(text, "is not a GGUF file");
    }

    @Test
    void emptyFile() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.gguf"));
        assertLoadFails(empty, empty + " is not a GGUF file");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4})
    void unsupportedVersion(int version) throws IOException {
        Path file = valid();
        patchU32(file, 4, version);
        assertLoadFails(file, file + ": unsupported GGUF version " + version + " (supported: 2 and 3)");
    }

    @Test
    void bigEndianFile() throws IOException {
        Path file = valid();
        // A big-endian writer stores the magic as the same four bytes but the version byte-swapped.
        patchU32(file, 4, Integer.reverseBytes(3));
        assertLoadFails(file, "this file is big-endian, only little-endian GGUF is supported");
    }

    @Test
    void truncatedHeader() throws IOException {
        Path file = valid();
        byte[] bytes = Files.readAllBytes(file);
        int mid = indexOf(bytes, "general.name") + 4; // in the middle of a metadata key
        Files.write(file, Arrays.copyOf(bytes, mid));
        assertLoadFails(file, file + " is truncated: its GGUF header ends at byte " + mid);
    }

    @Test
    void truncatedTensorData() throws IOException {
        Path file = valid();
        long size = Files.size(file);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 8);
        }
        assertLoadFails(file, file + " is truncated: tensor 'b' needs bytes");
        assertLoadFails(file, "but the file has " + (size - 8) + " bytes");
    }

    @Test
    void unknownGgmlType() throws IOException {
        Path file = valid();
        patchU32(file, typeIdOffset(file, "b", 2), 99);
        assertLoadFails(file, file + ": tensor 'b' has unknown ggml type id 99");
    }

    @Test
    void rowsNotMultipleOfBlockSize() throws IOException {
        Path file = dir.resolve("q.gguf");
        new GgufWriter().tensor("q", GgmlType.Q4_0, new long[] {32, 2}, new byte[36]).write(file);
        // Same 64 values (2 blocks), but declared as 4 rows of 16: no row can be split into blocks.
        long dims = typeIdOffset(file, "q", 2) - 16;
        patchU64(file, dims, 16);
        patchU64(file, dims + 8, 4);
        assertLoadFails(file, file + ": tensor 'q' of type Q4_0 has rows of 16 values, not a multiple of the block size 32");
    }

    /** A small valid file: metadata, then tensors 'a' and 'b' whose sizes are multiples of the alignment. */
    private Path valid() throws IOException {
        Path file = dir.resolve("valid.gguf");
        new GgufWriter().put("general.architecture", "llama").put("general.name", "valid model")
                .tensor("a", GgmlType.F32, new long[] {8}, new float[8])
                .tensor("b", GgmlType.F32, new long[] {8, 2}, new float[16])
                .write(file);
        return file;
    }

    private static void assertLoadFails(Path file, String message) {
        assertThatThrownBy(() -> GgufFile.open(file).close()).isInstanceOf(ModelLoadException.class).hasMessageContaining(message);
    }

    private static float[] floats(TensorInfo t) {
        float[] out = new float[(int) t.elements()];
        Dequant.values(t.type(), t.data(), 0, out.length, out, 0);
        return out;
    }

    /** Byte offset of a tensor's type id in its tensor info: after its name, dimension count and dimensions. */
    private static long typeIdOffset(Path file, String name, int dims) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        byte[] info = ByteBuffer.allocate(8 + name.length()).order(ByteOrder.LITTLE_ENDIAN).putLong(name.length())
                .put(name.getBytes(StandardCharsets.US_ASCII)).array();
        int at = indexOf(bytes, info);
        return at + info.length + 4 + 8L * dims;
    }

    private static int indexOf(byte[] bytes, String s) {
        return indexOf(bytes, s.getBytes(StandardCharsets.UTF_8));
    }

    private static int indexOf(byte[] bytes, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= bytes.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (bytes[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found in file: " + new String(needle, StandardCharsets.UTF_8));
    }

    private static void patchU32(Path file, long at, int value) throws IOException {
        patch(file, at, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).flip());
    }

    private static void patchU64(Path file, long at, long value) throws IOException {
        patch(file, at, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).flip());
    }

    private static void patch(Path file, long at, ByteBuffer bytes) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(bytes, at);
        }
    }
}
