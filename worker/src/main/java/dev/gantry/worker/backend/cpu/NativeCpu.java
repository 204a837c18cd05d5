package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.quant.GgmlType;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The native CPU kernels ({@code src/main/native/gantry_cpu.c}), through the FFM API: 8-bit
 * integer dot products of quantized weights with activations quantized to 8 bits, which the
 * Vector API cannot express (it has no int8 dot product). The library is packed in the jar for the
 * machine's architecture, extracted once per process and loaded; it chooses its SIMD variant from
 * the CPU's features.
 *
 * <p>On by default: every product whose activations are quantized ({@link
 * dev.gantry.worker.backend.ActivationPrecision}) runs here when the library loads. {@code
 * GANTRY_NATIVE=off} (or {@code -Dgantry.native=off}) turns it off, and then, as without the
 * library, the Vector API computes everything, on the same 8-bit activations.
 *
 * <p>Calls are "critical" downcalls: they take Java arrays directly (no copies), must be short
 * (the caller splits work into chunks of rows) and never call back.
 */
public final class NativeCpu {
    private static final Logger LOG = Logger.getLogger(NativeCpu.class);
    private static final Linker LINKER = Linker.nativeLinker();
    private static final String[] VARIANTS = {"scalar C", "AVX2", "AVX-512 VNNI (256-bit)", "AVX-VNNI", "AVX-512",
        "AMX", "NEON dot product"};
    /** Variants 0 .. VARIANT_COUNT - 1 exist; {@link #select} says which this CPU runs. */
    public static final int VARIANT_COUNT = VARIANTS.length;
    private static final Optional<NativeCpu> LIBRARY = load();

    private final MethodHandle quantize;
    private final MethodHandle quantize1;
    private final MethodHandle matmul;
    private final MethodHandle quantizeK;
    private final MethodHandle matmulK;
    private final MethodHandle packedBytes;
    private final MethodHandle pack;
    private final MethodHandle matmulPacked;
    private final MethodHandle tilePacked;
    private final MethodHandle packs;
    private final MethodHandle release;
    private final MethodHandle readBytes;
    private final MethodHandle variant;
    private final MethodHandle select;
    private final MethodHandle attendRows;

    private NativeCpu(SymbolLookup lib) {
        var critical = Linker.Option.critical(true);
        quantize = LINKER.downcallHandle(lib.findOrThrow("gantry_quantize_q8_0"), FunctionDescriptor.ofVoid(
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS), critical);
        quantize1 = LINKER.downcallHandle(lib.findOrThrow("gantry_quantize_q8_1"), FunctionDescriptor.ofVoid(
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS), critical);
        packedBytes = LINKER.downcallHandle(lib.findOrThrow("gantry_packed_bytes"), FunctionDescriptor.of(
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        pack = LINKER.downcallHandle(lib.findOrThrow("gantry_pack"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS));
        matmulPacked = LINKER.downcallHandle(lib.findOrThrow("gantry_matmul_packed"), FunctionDescriptor.of(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), critical);
        tilePacked = LINKER.downcallHandle(lib.findOrThrow("gantry_tile_packed"), FunctionDescriptor.of(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), critical);
        packs = LINKER.downcallHandle(lib.findOrThrow("gantry_packs"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        release = LINKER.downcallHandle(lib.findOrThrow("gantry_release"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        readBytes = LINKER.downcallHandle(lib.findOrThrow("gantry_read_bytes"), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        matmul = LINKER.downcallHandle(lib.findOrThrow("gantry_matmul_q8"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), critical);
        quantizeK = LINKER.downcallHandle(lib.findOrThrow("gantry_quantize_q8_k"), FunctionDescriptor.ofVoid(
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS), critical);
        matmulK = LINKER.downcallHandle(lib.findOrThrow("gantry_matmul_q8k"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), critical);
        variant = LINKER.downcallHandle(lib.findOrThrow("gantry_cpu_variant"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        select = LINKER.downcallHandle(lib.findOrThrow("gantry_cpu_select"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        attendRows = LINKER.downcallHandle(lib.findOrThrow("gantry_attend_rows"), FunctionDescriptor.of(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), critical);
    }

    /**
     * Attention of the {@code group} query heads sharing one KV head (a group of one: a single
     * head, with the same bits) for {@code tile} consecutive rows of one sequence at once, each
     * cached row read once for all of them (each row's bits those of the row alone): row r's heads
     * are q[qOff + r * stride + j * headDim ..+ headDim) for j < group, into out at the same
     * offsets, against the first n0 + r of the cached rows {@code slots} of one layer (K and V:
     * [slots][rowBytes] of {@code dtype}), the KV head's values starting at value {@code kvOff} of
     * each row. work: at least {@link #attendWorkFloats} floats.
     */
    void attendRows(dev.gantry.worker.backend.KvCacheDtype dtype, float[] q, int qOff, int stride, int tile, int group,
            MemorySegment keys, MemorySegment values, long rowBytes, int kvOff, int[] slots, int n0, int headDim,
            float scale, float[] work, float[] out) {
        int rc;
        try {
            rc = (int) attendRows.invokeExact(dtype.ordinal(), MemorySegment.ofArray(q), (long) qOff, (long) stride,
                    (long) tile, (long) group, keys, values, rowBytes, (long) kvOff, MemorySegment.ofArray(slots),
                    (long) n0, (long) headDim, scale, MemorySegment.ofArray(work), MemorySegment.ofArray(out),
                    (long) qOff);
        } catch (Throwable e) {
            throw new IllegalStateException("native attention failed", e);
        }
        if (rc != 0) {
            throw new IllegalArgumentException("native attention refused " + dtype + " at head offset " + kvOff
                    + " of head dimension " + headDim);
        }
    }

    /** Floats of work {@link #attendRows} needs: scores, inverse sums and accumulators of its tile * group heads. */
    static int attendWorkFloats(int tile, int group, int n0, int headDim) {
        int n = n0 + tile - 1;
        return tile * group * (n + headDim + 1);
    }

    /** The kernels, unless turned off ({@code GANTRY_NATIVE=off}) or not built for this machine. */
    public static Optional<NativeCpu> get() {
        String setting = System.getenv().getOrDefault("GANTRY_NATIVE", System.getProperty("gantry.native", "on"));
        return setting.equalsIgnoreCase("off") ? Optional.empty() : LIBRARY;
    }

    /** The library whatever the setting, for tests and benchmarks that pass it explicitly; empty where it is not built. */
    public static Optional<NativeCpu> library() {
        return LIBRARY;
    }

    /** Whether a product with a weight of this type runs here (with activations quantized to 8 bits). */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.Q8_0 || type == GgmlType.Q4_0 || type == GgmlType.Q5_0 || hasOffsets(type) || isK(type);
    }

    /** Whether products with this weight type take Q8_1 activations ({@link #quantizeQ8_1}): Q4_1 and Q5_1, {@code q * d + m}. */
    public static boolean hasOffsets(GgmlType type) {
        return type == GgmlType.Q4_1 || type == GgmlType.Q5_1;
    }

    /** Whether products with this weight type take Q8_K activations ({@link #quantizeK}, {@link #matmulK}). */
    public static boolean isK(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K || type == GgmlType.Q6_K;
    }

    private static Optional<NativeCpu> load() {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64" -> "aarch64";
            default -> null;
        };
        String resource = "/dev/gantry/worker/native/linux-" + arch + "/libgantry_cpu.so";
        if (arch == null || !System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")) {
            return Optional.empty();
        }
        try (InputStream in = NativeCpu.class.getResourceAsStream(resource)) {
            if (in == null) {
                LOG.infof("no native CPU kernels for linux-%s in this build: the Vector API computes everything", arch);
                return Optional.empty();
            }
            Path file = Files.createTempFile("gantry_cpu", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            NativeCpu cpu = new NativeCpu(SymbolLookup.libraryLookup(file, Arena.global()));
            String forced = System.getenv("GANTRY_NATIVE_VARIANT");
            if (forced != null && !cpu.select(Integer.parseInt(forced))) {
                LOG.warnf("GANTRY_NATIVE_VARIANT=%s does not run on this CPU; keeping %s", forced, cpu.variantName());
            }
            LOG.debugf("native CPU kernels: %s", cpu.variantName());
            return Optional.of(cpu);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("cannot load the native CPU kernels (%s): the Vector API computes everything", e.toString());
            return Optional.empty();
        }
    }

    /**
     * The SIMD variant in use: 0 plain C, 1 AVX2, 2 AVX-512 VNNI in 256-bit registers, 3 AVX-VNNI, 4
     * AVX-512 (K-quants in 512-bit registers, Q8_0/Q4_0 on packed weights), 5 AMX (as 4, and products of several tokens
     * on AMX tiles); on aarch64, 6 NEON with the dot product (the 32-value types; the K-quants in plain C).
     */
    public int variant() {
        try {
            return (int) variant.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public String variantName() {
        int v = variant();
        return v >= 0 && v < VARIANTS.length ? VARIANTS[v] : "variant " + v;
    }

    /** Uses variant v from now on if this CPU runs it; for tests. Not while products run. */
    public boolean select(int v) {
        try {
            return (int) select.invokeExact(v) == 1;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Quantizes {@code rows} rows of {@code cols} floats (cols a multiple of 32) as {@link
     * dev.gantry.worker.backend.Q8Activations} does: q: [rows][cols] int8; d: [rows][cols / 32];
     * sums (or null): [rows][cols / 32] each block's sum of q, which {@link #matmulPacked} takes.
     */
    public void quantize(float[] x, int rows, int cols, byte[] q, float[] d, short[] sums) {
        MemorySegment s = sums == null ? MemorySegment.NULL : MemorySegment.ofArray(sums);
        try {
            quantize.invokeExact(MemorySegment.ofArray(x), (long) rows, (long) cols, MemorySegment.ofArray(q),
                    MemorySegment.ofArray(d), s);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Quantizes as {@link #quantize}, with each block's Q8_1 sum {@code d * sum(q)} (f16-rounded, as
     * {@link dev.gantry.worker.backend.Q8Activations#blockSum}) in s: [rows][cols / 32], for
     * products with Q4_1 and Q5_1 weights.
     */
    public void quantizeQ8_1(float[] x, int rows, int cols, byte[] q, float[] d, float[] s) {
        try {
            quantize1.invokeExact(MemorySegment.ofArray(x), (long) rows, (long) cols, MemorySegment.ofArray(q),
                    MemorySegment.ofArray(d), MemorySegment.ofArray(s));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Whether the selected variant multiplies Q8_0, Q4_0, Q4_K, Q5_K and Q6_K weights repacked at load ({@link
     * #pack}: AVX-512 and AMX), which is how they run at llama.cpp's speed.
     */
    public boolean packs() {
        try {
            return (int) packs.invokeExact() == 1;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Bytes of {@link #pack}'s copy of a Q8_0, Q4_0, Q4_K, Q5_K or Q6_K weight (its whole groups of 16 rows). */
    public long packedBytes(GgmlType type, int rows, int cols) {
        try {
            return (long) packedBytes.invokeExact(type.id, (long) rows, (long) cols);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Writes the packed copy of a Q8_0, Q4_0, Q4_K, Q5_K or Q6_K weight into {@code dst} ({@link #packedBytes} long, native memory). */
    public void pack(GgmlType type, MemorySegment w, long rowBytes, int rows, int cols, MemorySegment dst) {
        int rc;
        try {
            rc = (int) pack.invokeExact(type.id, w, rowBytes, (long) rows, (long) cols, dst);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (rc != 0) {
            throw new IllegalArgumentException("the native kernels do not pack " + type + " weights");
        }
    }

    /**
     * Reads {@code data} (native memory) as a memory bandwidth test does, in whole 256-byte steps,
     * and returns a sum of it, so that the loads cannot be dropped.
     */
    public long readBytes(MemorySegment data) {
        try {
            return (long) readBytes.invokeExact(data, data.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Takes the pages of {@code data} (native memory, e.g. a weight's part of the mapped GGUF) out of
     * this process's memory, keeping their contents: what is touched again is read back. For the
     * file's copy of a weight once it is packed. Best effort: an older kernel leaves them.
     */
    public void release(MemorySegment data) {
        if (!data.isNative()) {
            return;
        }
        try {
            int ignored = (int) release.invokeExact(data, data.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@link #matmul} on a packed weight: rows [rowStart, rowEnd), rowStart a multiple of 16; the
     * rows past the weight's last whole group of 16 come from {@code w}. xd, xs: the activations'
     * scales and block sums from {@link #quantize} (Q8_0, Q4_0), or from {@link #quantizeK} (Q4_K, Q5_K, Q6_K).
     */
    public void matmulPacked(GgmlType type, MemorySegment packed, MemorySegment w, long rowBytes, int rowsTotal,
            int rowStart, int rowEnd, int cols, byte[] xq, float[] xd, short[] xs, int tokens, float[] out, int outStride,
            float[] bias) {
        matmulPacked(type, packed, w, rowBytes, rowsTotal, rowStart, rowEnd, cols, xq, null, xd, xs, tokens, out,
                outStride, bias);
    }

    /**
     * {@link #matmulPacked} with the activations also laid out for AMX tiles by {@link #tilePacked}
     * (or null): what every call of one product would otherwise copy for itself.
     */
    public void matmulPacked(GgmlType type, MemorySegment packed, MemorySegment w, long rowBytes, int rowsTotal,
            int rowStart, int rowEnd, int cols, byte[] xq, MemorySegment tiled, float[] xd, short[] xs, int tokens,
            float[] out, int outStride, float[] bias) {
        int rc;
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        MemorySegment a = tiled == null ? MemorySegment.NULL : tiled;
        try {
            rc = (int) matmulPacked.invokeExact(type.id, packed, w, rowBytes, (long) rowsTotal, (long) rowStart,
                    (long) rowEnd, (long) cols, MemorySegment.ofArray(xq), a, MemorySegment.ofArray(xd),
                    MemorySegment.ofArray(xs), (long) tokens, MemorySegment.ofArray(out), (long) outStride, b);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (rc != 0) {
            throw new IllegalArgumentException("packed product of " + type + " failed (" + rc + ")");
        }
    }

    /** Bytes {@link #tilePacked} writes for this many tokens: whole tiles of 16 token rows. */
    public static int tiledBytes(int tokens, int cols) {
        return (tokens + 15) / 16 * 16 * cols;
    }

    /**
     * Lays the quantized activations xq [tokens][cols] out in {@code dst} ({@link #tiledBytes} long;
     * native memory aligned to 64 bytes, so that no tile row straddles two cache lines)
     * as the packed products of {@code type} read them on AMX tiles, once for all the calls of one
     * product. False, and dst untouched, where those products take no tiles (another variant,
     * too few tokens, a type that is not packed).
     */
    public boolean tilePacked(GgmlType type, byte[] xq, int tokens, int cols, MemorySegment dst) {
        if (dst.byteSize() < tiledBytes(tokens, cols)) {
            throw new IllegalArgumentException("tile buffer of " + dst.byteSize() + " bytes for " + tokens + " x " + cols);
        }
        try {
            return (int) tilePacked.invokeExact(type.id, MemorySegment.ofArray(xq), (long) tokens, (long) cols,
                    dst) == 1;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Quantizes {@code rows} rows of {@code cols} floats (cols a multiple of 256) to Q8_K blocks as
     * {@link dev.gantry.worker.backend.Q8KActivations} does: q: [rows][cols] int8; d: [rows][cols /
     * 256]; sums: [rows][cols / 16] the sum of each 16 q.
     */
    public void quantizeK(float[] x, int rows, int cols, byte[] q, float[] d, short[] sums) {
        try {
            quantizeK.invokeExact(MemorySegment.ofArray(x), (long) rows, (long) cols, MemorySegment.ofArray(q),
                    MemorySegment.ofArray(d), MemorySegment.ofArray(sums));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@link #matmul} for Q4_K, Q5_K and Q6_K weights and Q8_K activations from {@link #quantizeK}: xq
     * [tokens][cols], xd [tokens][cols / 256], xs [tokens][cols / 16].
     */
    public void matmulK(GgmlType type, MemorySegment w, long rowBytes, int rowStart, int rowEnd, int cols, byte[] xq,
            float[] xd, short[] xs, int tokens, float[] out, int outStride, float[] bias) {
        int rc;
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        try {
            rc = (int) matmulK.invokeExact(type.id, w, rowBytes, (long) rowStart, (long) rowEnd, (long) cols,
                    MemorySegment.ofArray(xq), MemorySegment.ofArray(xd), MemorySegment.ofArray(xs), (long) tokens,
                    MemorySegment.ofArray(out), (long) outStride, b);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (rc != 0) {
            throw new IllegalArgumentException("the native K-quant kernels do not multiply " + type + " weights");
        }
    }

    /**
     * out[t * outStride + o] = dot(weight row o, activation row t) (+ bias[o]) for o in
     * [rowStart, rowEnd) and t < tokens; each (o, t) summed in the same order whatever
     * {@code tokens} is.
     *
     * @param w  the weight's rows ({@code rowBytes} apart), e.g. the mapped file
     * @param xq [tokens][cols] the quantized activations; xd: [tokens][cols / 32] their scales
     * @param xs [tokens][cols / 32] their Q8_1 block sums ({@link #quantizeQ8_1}) for Q4_1 and Q5_1 weights, else null
     */
    public void matmul(GgmlType type, MemorySegment w, long rowBytes, int rowStart, int rowEnd, int cols, byte[] xq,
            float[] xd, float[] xs, int tokens, float[] out, int outStride, float[] bias) {
        int rc;
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        MemorySegment s = xs == null ? MemorySegment.NULL : MemorySegment.ofArray(xs);
        try {
            rc = (int) matmul.invokeExact(type.id, w, rowBytes, (long) rowStart, (long) rowEnd, (long) cols,
                    MemorySegment.ofArray(xq), MemorySegment.ofArray(xd), s, (long) tokens, MemorySegment.ofArray(out),
                    (long) outStride, b);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (rc != 0) {
            throw new IllegalArgumentException("the native kernels do not multiply " + type + " weights");
        }
    }
}
