package dev.gantry.worker.model.gguf;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF file (v2 or v3), memory-mapped whole through the FFM API: metadata is parsed once,
 * tensors are slices of the mapping (no copy onto the heap, files over 2 GB work).
 *
 * <p>Metadata values are kept as: integers of any width as {@code Long}, float32 as {@code
 * Float}, float64 as {@code Double}, {@code Boolean}, {@code String}; arrays as {@code String[]},
 * {@code float[]}, {@code long[]} (integers), {@code double[]}, {@code boolean[]} or {@code
 * Object[]} (arrays of arrays).
 */
public final class GgufFile implements AutoCloseable {
    private static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, TensorInfo> tensors;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        Reader r = new Reader();
        if (file.byteSize() < 4 || r.u32() != MAGIC) {
            throw new ModelLoadException(path + " is not a GGUF file (it does not start with the magic bytes \"GGUF\")");
        }
        version = r.u32();
        if (version != 2 && version != 3) {
            throw new ModelLoadException(path + ": unsupported GGUF version " + Integer.toUnsignedString(version)
                    + " (supported: 2 and 3" + (Integer.reverseBytes(version) == 3 || Integer.reverseBytes(version) == 2
                            ? "; this file is big-endian, only little-endian GGUF is supported" : "") + ")");
        }
        long tensorCount = r.count("tensor count");
        long kvCount = r.count("metadata count");
        Map<String, Object> meta = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string();
            int type = r.u32();
            meta.put(key, r.value(type, key));
        }
        this.metadata = Collections.unmodifiableMap(meta);

        long alignment = metadata.get("general.alignment") instanceof Long a && a > 0 ? a : 32;
        record Raw(String name, long[] shape, int typeId, long offset) {}
        Raw[] raws = new Raw[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            String name = r.string();
            int nDims = r.u32();
            if (nDims < 0 || nDims > 8) {
                throw r.corrupt("tensor '" + name + "' has " + nDims + " dimensions");
            }
            long[] shape = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                shape[d] = r.count("dimension of tensor '" + name + "'");
            }
            raws[i] = new Raw(name, shape, r.u32(), r.u64());
        }
        dataOffset = (r.pos + alignment - 1) / alignment * alignment;

        Map<String, TensorInfo> ts = new LinkedHashMap<>();
        for (Raw raw : raws) {
            GgmlType type = GgmlType.byId(raw.typeId);
            if (type == null) {
                throw new ModelLoadException(path + ": tensor '" + raw.name + "' has unknown ggml type id " + raw.typeId);
            }
            TensorInfo probe = new TensorInfo(raw.name, type, raw.shape, raw.offset, null);
            if (probe.cols() % type.blockSize != 0) {
                throw new ModelLoadException(path + ": tensor '" + raw.name + "' of type " + type + " has rows of "
                        + probe.cols() + " values, not a multiple of the block size " + type.blockSize);
            }
            long size = type.byteSize(probe.elements());
            long start = dataOffset + raw.offset;
            if (raw.offset < 0 || start + size > file.byteSize()) {
                throw new ModelLoadException(path + " is truncated: tensor '" + raw.name + "' needs bytes " + start
                        + ".." + (start + size) + " but the file has " + file.byteSize() + " bytes");
            }
            ts.put(raw.name, new TensorInfo(raw.name, type, raw.shape, raw.offset, file.asSlice(start, size)));
        }
        this.tensors = Collections.unmodifiableMap(ts);
    }

    /** Maps and parses a GGUF file; errors are {@link ModelLoadException}s naming the file. */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.size() == 0 ? MemorySegment.NULL.reinterpret(0)
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ModelLoadException(ModelLoadException.Kind.NOT_FOUND, "model file not found: " + path);
        } catch (IOException e) {
            arena.close();
            throw new ModelLoadException("cannot read model file " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The tensor with this name, or null. */
    public TensorInfo tensor(String name) {
        return tensors.get(name);
    }

    /** Byte offset of the tensor data section in the file. */
    public long dataOffset() {
        return dataOffset;
    }

    public String getString(String key, String dflt) {
        return metadata.get(key) instanceof String s ? s : dflt;
    }

    public long getLong(String key, long dflt) {
        return metadata.get(key) instanceof Long l ? l : dflt;
    }

    public int getInt(String key, int dflt) {
        return metadata.get(key) instanceof Long l ? Math.toIntExact(l) : dflt;
    }

    public float getFloat(String key, float dflt) {
        Object v = metadata.get(key);
        if (v instanceof Float f) {
            return f;
        }
        if (v instanceof Double d) {
            return d.floatValue();
        }
        if (v instanceof Long l) {
            return l;
        }
        return dflt;
    }

    public boolean getBoolean(String key, boolean dflt) {
        return metadata.get(key) instanceof Boolean b ? b : dflt;
    }

    /** A string array, or null when absent. */
    public String[] getStringArray(String key) {
        return metadata.get(key) instanceof String[] a ? a : null;
    }

    /** A float32 array, or null when absent. */
    public float[] getFloatArray(String key) {
        return metadata.get(key) instanceof float[] a ? a : null;
    }

    /** An integer array (any width), or null when absent. */
    public long[] getLongArray(String key) {
        return metadata.get(key) instanceof long[] a ? a : null;
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return path + " (GGUF v" + version + ", " + tensors.size() + " tensors, " + metadata.size() + " metadata keys)";
    }

    /** A cursor over the header that turns every out-of-bounds read into a clear error. */
    private final class Reader {
        long pos;

        private void need(long n) {
            if (pos + n > file.byteSize()) {
                throw new ModelLoadException(path + " is truncated: its GGUF header ends at byte " + file.byteSize()
                        + " while reading " + n + " bytes at offset " + pos);
            }
        }

        ModelLoadException corrupt(String what) {
            return new ModelLoadException(path + " is not a valid GGUF file: " + what + " (at byte " + pos + ")");
        }

        int u32() {
            need(4);
            int v = file.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64() {
            need(8);
            long v = file.get(U64, pos);
            pos += 8;
            return v;
        }

        /** A count or size: must be non-negative and plausible for the file's size. */
        long count(String what) {
            long v = u64();
            if (v < 0 || v > file.byteSize()) {
                throw corrupt(what + " is " + Long.toUnsignedString(v));
            }
            return v;
        }

        String string() {
            long len = count("string length");
            need(len);
            byte[] bytes = file.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(int type, String key) {
            switch (type) {
                case 0, 1 -> { // uint8, int8
                    need(1);
                    byte b = file.get(ValueLayout.JAVA_BYTE, pos++);
                    return type == 0 ? (long) (b & 0xff) : (long) b;
                }
                case 2, 3 -> { // uint16, int16
                    need(2);
                    short s = file.get(U16, pos);
                    pos += 2;
                    return type == 2 ? (long) (s & 0xffff) : (long) s;
                }
                case 4 -> {
                    return Integer.toUnsignedLong(u32());
                }
                case 5 -> {
                    return (long) u32();
                }
                case 6 -> {
                    need(4);
                    float f = file.get(F32, pos);
                    pos += 4;
                    return f;
                }
                case 7 -> {
                    need(1);
                    return file.get(ValueLayout.JAVA_BYTE, pos++) != 0;
                }
                case 8 -> {
                    return string();
                }
                case 9 -> {
                    return array(key);
                }
                case 10, 11 -> {
                    return u64();
                }
                case 12 -> {
                    need(8);
                    double d = file.get(F64, pos);
                    pos += 8;
                    return d;
                }
                default -> throw corrupt("metadata key '" + key + "' has unknown value type " + type);
            }
        }

        private Object array(String key) {
            int type = u32();
            int n = Math.toIntExact(count("length of array '" + key + "'"));
            switch (type) {
                case 8 -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = string();
                    }
                    return a;
                }
                case 6 -> {
                    need(4L * n);
                    float[] a = file.asSlice(pos, 4L * n).toArray(F32);
                    pos += 4L * n;
                    return a;
                }
                case 12 -> {
                    need(8L * n);
                    double[] a = file.asSlice(pos, 8L * n).toArray(F64);
                    pos += 8L * n;
                    return a;
                }
                case 7 -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = (Boolean) value(7, key);
                    }
                    return a;
                }
                case 9 -> {
                    Object[] a = new Object[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = array(key);
                    }
                    return a;
                }
                default -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = (Long) value(type, key);
                    }
                    return a;
                }
            }
        }
    }
}
