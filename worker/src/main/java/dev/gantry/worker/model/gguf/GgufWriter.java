package dev.gantry.worker.model.gguf;

import dev.gantry.worker.quant.GgmlType;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes little-endian GGUF files (v3 by default, v2 on request) that llama.cpp loads: metadata,
 * tensor infos, alignment padding and tensor data.
 *
 * <p>Metadata and tensor infos are collected first; {@link #write(Path)} then streams the file:
 * the header is built in memory (it is small next to the weights), and each tensor's bytes come
 * from its {@link TensorData} callback at that moment, so multi-gigabyte files of generated
 * weights never sit on the heap.
 *
 * <p>Java values map to GGUF value types as follows, unless {@link #put(String, ValueType,
 * Object)} names the type: {@code Long}/{@code Integer} → uint32 when in [0, 2^32), int32 when
 * negative and in int32's range, otherwise int64 (llama.cpp reads its integer keys as uint32 and
 * checks the type, so uint32 is the sensible default); {@code Float} → float32; {@code Double} →
 * float64; {@code Boolean} → bool; {@code String}; arrays {@code String[]}, {@code float[]},
 * {@code double[]}, {@code boolean[]}, {@code int[]} → int32, {@code long[]} → int32 when every
 * value fits (as llama.cpp's {@code tokenizer.ggml.token_type}), else int64; {@code Object[]} →
 * array of arrays. Those are exactly the shapes {@link GgufFile} reads back, so a file's
 * {@link GgufFile#metadata()} can be copied with {@link #putAll(Map)}.
 */
public final class GgufWriter {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final String ALIGNMENT_KEY = "general.alignment";

    /** GGUF metadata value types, with their ids in the file. */
    public enum ValueType {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        /** The id stored in the file. */
        public final int id;

        ValueType(int id) {
            this.id = id;
        }
    }

    /** Produces one tensor's bytes, exactly {@code byteSize} of them, when the file is written. */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(OutputStream out) throws IOException;
    }

    /** The value of element {@code index} (row-major, ne0 fastest) of a generated float tensor. */
    @FunctionalInterface
    public interface FloatGenerator {
        float at(long index);
    }

    private record Entry(ValueType type, Object value) {}

    private record Tensor(String name, int typeId, long[] shape, long byteSize, TensorData data) {}

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int version = 3;
    private int alignment = 32;

    /** Sets the GGUF version written: 3 (default) or 2; the two differ only in what they allow big-endian files to do. */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("GGUF version " + version + " cannot be written (only 2 and 3)");
        }
        this.version = version;
        return this;
    }

    /**
     * Sets the data alignment (a power of two). Anything but ggml's default 32 is recorded as
     * {@code general.alignment} (uint32, the type llama.cpp requires), which is how readers learn it.
     */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, not " + alignment);
        }
        this.alignment = alignment;
        if (alignment != 32 || metadata.containsKey(ALIGNMENT_KEY)) {
            metadata.put(ALIGNMENT_KEY, new Entry(ValueType.UINT32, (long) alignment));
        }
        return this;
    }

    /** Adds or replaces a metadata key, its GGUF type chosen from the value (see the class comment). */
    public GgufWriter put(String key, Object value) {
        Objects.requireNonNull(value, key);
        if (key.equals(ALIGNMENT_KEY) && value instanceof Number n) {
            return alignment(n.intValue());
        }
        metadata.put(key, new Entry(inferType(value), value));
        return this;
    }

    /**
     * Adds or replaces a metadata key with an explicit type; for an array value (a Java array)
     * {@code type} is the element type. Integer values are given as any {@link Number}.
     */
    public GgufWriter put(String key, ValueType type, Object value) {
        Objects.requireNonNull(value, key);
        if (type == ValueType.ARRAY) {
            throw new IllegalArgumentException("give the element type of array '" + key + "', not ARRAY");
        }
        try {
            // Encoding once into nothing rejects a value that does not fit its type now, not at write time.
            writeValue(new Le(OutputStream.nullOutputStream()), key, type, value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        metadata.put(key, new Entry(type, value));
        if (key.equals(ALIGNMENT_KEY) && value instanceof Number n) {
            alignment(n.intValue());
        }
        return this;
    }

    /** Copies every entry of {@code values} (e.g. another file's {@link GgufFile#metadata()}) with {@link #put(String, Object)}. */
    public GgufWriter putAll(Map<String, ?> values) {
        values.forEach(this::put);
        return this;
    }

    /** Removes a metadata key if present. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        if (key.equals(ALIGNMENT_KEY)) {
            alignment = 32;
        }
        return this;
    }

    /**
     * Adds a tensor of any ggml type whose bytes {@code data} will write. {@code shape} is in
     * ggml order ({@code shape[0]} = ne0, the contiguous dimension).
     */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, TensorData data) {
        long elements = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has dimension " + d);
            }
            elements *= d;
        }
        if (shape.length == 0 || shape.length > 4) {
            throw new IllegalArgumentException("tensor '" + name + "' must have 1 to 4 dimensions (ggml's limit)");
        }
        if (shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + ": rows of " + shape[0]
                    + " values are not a multiple of the block size " + type.blockSize);
        }
        for (Tensor t : tensors) {
            if (t.name.equals(name)) {
                throw new IllegalArgumentException("duplicate tensor '" + name + "'");
            }
        }
        tensors.add(new Tensor(name, type.id, shape.clone(), type.byteSize(elements), data));
        return this;
    }

    /** Adds a tensor from raw bytes, already encoded in {@code type}. */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, byte[] bytes) {
        tensor(name, type, shape, out -> out.write(bytes));
        checkSize(name, bytes.length);
        return this;
    }

    /** Adds a copy of another file's tensor (same name, type, shape and bytes), read from its mapping when written. */
    public GgufWriter tensor(TensorInfo t) {
        return tensor(t.name(), t.type(), t.shape(), out -> copy(t.data(), out));
    }

    /** Adds an F32, F16 or BF16 tensor holding {@code values} (rounded to nearest even for the 16-bit types). */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, float[] values) {
        generatedTensor(name, type, shape, i -> values[(int) i]);
        long elements = tensors.getLast().byteSize / floatBytes(type);
        if (elements != values.length) {
            tensors.removeLast();
            throw new IllegalArgumentException("tensor '" + name + "' has " + elements + " elements but " + values.length + " values were given");
        }
        return this;
    }

    /** Adds an F32, F16 or BF16 tensor whose values are generated while the file is written. */
    public GgufWriter generatedTensor(String name, GgmlType type, long[] shape, FloatGenerator values) {
        floatBytes(type); // rejects every other type before anything is added
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long elements = n;
        tensor(name, type, shape, out -> {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < elements; i++) {
                float v = values.at(i);
                switch (type) {
                    case F32 -> buf.putFloat(v);
                    case F16 -> buf.putShort(Float.floatToFloat16(v));
                    default -> buf.putShort(toBf16(v));
                }
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
            }
            out.write(buf.array(), 0, buf.position());
        });
        return this;
    }

    /** Number of tensors added so far. */
    public int tensorCount() {
        return tensors.size();
    }

    /** Writes the file, replacing any file at {@code path}. */
    public void write(Path path) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        Le h = new Le(header);
        h.u32(MAGIC);
        h.u32(version);
        h.u64(tensors.size());
        h.u64(metadata.size());
        for (Map.Entry<String, Entry> e : metadata.entrySet()) {
            h.string(e.getKey());
            writeValue(h, e.getKey(), e.getValue().type, e.getValue().value);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            h.string(t.name);
            h.u32(t.shape.length);
            for (long d : t.shape) {
                h.u64(d);
            }
            h.u32(t.typeId);
            h.u64(offset);
            offset = pad(offset + t.byteSize);
        }
        // ggml pads the header, and every tensor including the last, to the alignment.
        h.zeros(pad(header.size()) - header.size());
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            header.writeTo(file);
            for (Tensor t : tensors) {
                Counting counted = new Counting(file);
                t.data.writeTo(counted);
                if (counted.count != t.byteSize) {
                    throw new IllegalStateException("tensor '" + t.name + "' must be " + t.byteSize + " bytes but its data wrote " + counted.count);
                }
                new Le(file).zeros(pad(t.byteSize) - t.byteSize);
            }
        }
    }

    /** float32 → bfloat16 as ggml rounds it: to nearest even, NaN kept quiet. */
    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    private long pad(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private void checkSize(String name, long given) {
        long expected = tensors.getLast().byteSize;
        if (given != expected) {
            tensors.removeLast();
            throw new IllegalArgumentException("tensor '" + name + "' needs " + expected + " bytes but " + given + " were given");
        }
    }

    private static int floatBytes(GgmlType type) {
        return switch (type) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw new IllegalArgumentException("float values can be written as F32, F16 or BF16, not " + type);
        };
    }

    private static void copy(MemorySegment data, OutputStream out) throws IOException {
        byte[] chunk = new byte[1 << 16];
        for (long pos = 0; pos < data.byteSize(); pos += chunk.length) {
            int n = (int) Math.min(chunk.length, data.byteSize() - pos);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, pos, chunk, 0, n);
            out.write(chunk, 0, n);
        }
    }

    private static ValueType inferType(Object v) {
        return switch (v) {
            case Long l -> integerType(l, l);
            case Integer i -> integerType(i, i);
            case Short s -> ValueType.INT16;
            case Byte b -> ValueType.INT8;
            case Float f -> ValueType.FLOAT32;
            case Double d -> ValueType.FLOAT64;
            case Boolean b -> ValueType.BOOL;
            case String s -> ValueType.STRING;
            case String[] a -> ValueType.STRING;
            case float[] a -> ValueType.FLOAT32;
            case double[] a -> ValueType.FLOAT64;
            case boolean[] a -> ValueType.BOOL;
            case int[] a -> ValueType.INT32;
            case long[] a -> {
                long min = 0;
                long max = 0;
                for (long x : a) {
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
                yield min >= Integer.MIN_VALUE && max <= Integer.MAX_VALUE ? ValueType.INT32 : ValueType.INT64;
            }
            case Object[] a -> ValueType.ARRAY;
            default -> throw new IllegalArgumentException("no GGUF value type for " + v.getClass().getName());
        };
    }

    private static ValueType integerType(long min, long max) {
        if (min >= 0 && max <= 0xffffffffL) {
            return ValueType.UINT32;
        }
        return min >= Integer.MIN_VALUE && max <= Integer.MAX_VALUE ? ValueType.INT32 : ValueType.INT64;
    }

    private static void writeValue(Le out, String key, ValueType type, Object v) throws IOException {
        if (v.getClass().isArray()) {
            writeArray(out, key, type, v);
            return;
        }
        out.u32(type.id);
        writeScalar(out, key, type, v);
    }

    private static void writeArray(Le out, String key, ValueType type, Object v) throws IOException {
        out.u32(ValueType.ARRAY.id);
        // An array of arrays (Object[] but not String[]) stores each inner array's own type and length.
        ValueType elementType = v instanceof Object[] && !(v instanceof String[]) ? ValueType.ARRAY : type;
        out.u32(elementType.id);
        writeElements(out, key, elementType, v);
    }

    private static void writeElements(Le out, String key, ValueType type, Object v) throws IOException {
        if (type == ValueType.ARRAY) {
            Object[] nested = (Object[]) v;
            out.u64(nested.length);
            for (Object inner : nested) {
                ValueType t = inner instanceof Object[] && !(inner instanceof String[]) ? ValueType.ARRAY : inferType(inner);
                out.u32(t.id);
                writeElements(out, key, t, inner);
            }
            return;
        }
        int n = java.lang.reflect.Array.getLength(v);
        out.u64(n);
        for (int i = 0; i < n; i++) {
            writeScalar(out, key, type, java.lang.reflect.Array.get(v, i));
        }
    }

    private static void writeScalar(Le out, String key, ValueType type, Object v) throws IOException {
        switch (type) {
            case STRING -> out.string((String) v);
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case UINT8, INT8 -> out.u8(integer(key, type, v, type == ValueType.UINT8 ? 0 : -128, type == ValueType.UINT8 ? 255 : 127));
            case UINT16, INT16 -> out.u16(integer(key, type, v, type == ValueType.UINT16 ? 0 : -32768, type == ValueType.UINT16 ? 65535 : 32767));
            case UINT32 -> out.u32((int) integer(key, type, v, 0, 0xffffffffL));
            case INT32 -> out.u32((int) integer(key, type, v, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case UINT64, INT64 -> out.u64(integer(key, type, v, Long.MIN_VALUE, Long.MAX_VALUE));
            case ARRAY -> throw new IllegalArgumentException("metadata '" + key + "': ARRAY is not a scalar type");
        }
    }

    private static long integer(String key, ValueType type, Object v, long min, long max) {
        if (!(v instanceof Number n) || v instanceof Float || v instanceof Double) {
            throw new IllegalArgumentException("metadata '" + key + "' of type " + type + " needs an integer, not " + v);
        }
        long x = n.longValue();
        if (x < min || x > max) {
            throw new IllegalArgumentException("metadata '" + key + "': " + x + " does not fit " + type);
        }
        return x;
    }

    /** Little-endian primitives onto a stream. */
    private record Le(OutputStream out) {
        void u8(long v) throws IOException {
            out.write((int) v);
        }

        void u16(long v) throws IOException {
            out.write((int) v);
            out.write((int) (v >>> 8));
        }

        void u32(int v) throws IOException {
            for (int i = 0; i < 4; i++) {
                out.write(v >>> (8 * i));
            }
        }

        void u64(long v) throws IOException {
            for (int i = 0; i < 8; i++) {
                out.write((int) (v >>> (8 * i)));
            }
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.write(b);
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                out.write(0);
            }
        }
    }

    /** Counts what a tensor's callback writes, so a wrong size is caught instead of shifting every later tensor. */
    private static final class Counting extends FilterOutputStream {
        long count;

        Counting(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() {
            // The file stays open for the next tensor.
        }
    }
}
