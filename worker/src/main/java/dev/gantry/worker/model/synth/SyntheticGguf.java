package dev.gantry.worker.model.synth;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.gguf.GgufWriter;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.quant.Quantize;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a GGUF model of a real {@link ModelShape} with random weights (fixed by a seed) and a
 * real tokenizer copied from a vocabulary GGUF, under the tensor names and metadata llama.cpp
 * expects, so that this worker and llama.cpp can both run, and be timed on, the same file.
 *
 * <p>Weights are generated, quantized and written chunk by chunk as the file is written (several
 * threads encode chunks, one writes them in order), so an 8 GB file needs a few MB of heap. Each
 * row's values come from its own random stream (seed, tensor, row), so the bytes do not depend
 * on the number of threads. Matrices are uniform with standard deviation 1/sqrt(columns), which
 * keeps activations near unit size through the layers (no overflow, no denormals, which would
 * time differently from real weights).
 */
public final class SyntheticGguf {
    /** Bytes of encoded rows per chunk handed to one thread. */
    private static final int CHUNK_BYTES = 4 << 20;

    /** Told how many weight bytes have been written, of how many, as the file is written. */
    @FunctionalInterface
    public interface Progress {
        void update(long written, long total);
    }

    /**
     * What was written. {@code fallbacks} counts matrices written in a 32-value block type because
     * a K-quant did not fit their rows.
     */
    public record Summary(Path file, long bytes, long parameters, int tensors, int fallbacks, int paddedTokens) {}

    private final ModelShape shape;
    /** The embedding model's pooling, or null for a generative model. */
    private final dev.gantry.worker.model.Pooling pooling;
    private final GgmlType type;
    /** Q4_K or Q5_K for llama.cpp's Q4_K_M or Q5_K_M mixture, rather than every matrix of {@code type}; else null. */
    private final GgmlType mixture;
    private final long seed;
    private final int threads;
    private int fallbacks;

    /**
     * @param type    type of the weight matrices (F32, F16, Q8_0, Q4_0 or Q4_K); norms, biases and
     *                RoPE factors stay F32, as in llama.cpp's files
     * @param threads threads generating and quantizing chunks
     */
    public SyntheticGguf(ModelShape shape, GgmlType type, long seed, int threads) {
        this(shape, type, seed, threads, null);
    }

    /**
     * @param pooling written as {@code <arch>.pooling_type} (an embedding model, as llama.cpp's
     *                converter marks one), or null for a generative model
     */
    public SyntheticGguf(ModelShape shape, GgmlType type, long seed, int threads, dev.gantry.worker.model.Pooling pooling) {
        this(shape, type, null, seed, threads, pooling);
    }

    private SyntheticGguf(ModelShape shape, GgmlType type, GgmlType mixture, long seed, int threads,
            dev.gantry.worker.model.Pooling pooling) {
        if (!Quantize.supports(type)) {
            throw new IllegalArgumentException("cannot write weights of type " + type + " (choose " + TYPES + ")");
        }
        this.shape = shape;
        this.type = type;
        this.mixture = mixture;
        this.seed = seed;
        this.threads = Math.max(1, threads);
        this.pooling = pooling;
    }

    /**
     * A file in llama.cpp's Q4_K_M mixture, the type most GGUFs on the hub are published in
     * ({@code llama_tensor_get_type} in llama-quant.cpp): Q6_K for the output matrix (the token
     * embedding where the output is tied to it) and for attn_v and ffn_down in the layers where
     * {@link #moreBits} holds; Q4_K for every other matrix.
     */
    public static SyntheticGguf q4KM(ModelShape shape, long seed, int threads, dev.gantry.worker.model.Pooling pooling) {
        return new SyntheticGguf(shape, GgmlType.Q4_K, GgmlType.Q4_K, seed, threads, pooling);
    }

    /** llama.cpp's Q5_K_M mixture: as {@link #q4KM}, with Q5_K where that has Q4_K. */
    public static SyntheticGguf q5KM(ModelShape shape, long seed, int threads, dev.gantry.worker.model.Pooling pooling) {
        return new SyntheticGguf(shape, GgmlType.Q5_K, GgmlType.Q5_K, seed, threads, pooling);
    }

    /** The types the constructor takes, as users name them. */
    public static final String TYPES = "f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k";

    /** llama.cpp's use_more_bits: the first and last eighth of the layers and every third between. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** The type of a matrix: {@code type}, or its type in the Q4_K_M or Q5_K_M mixture. */
    GgmlType typeOf(String name) {
        if (mixture == null) {
            return type;
        }
        if (name.equals("output.weight") || name.equals("token_embd.weight") && shape.tiedOutput()) {
            return GgmlType.Q6_K;
        }
        if (name.endsWith(".attn_v.weight") || name.endsWith(".ffn_down.weight")) {
            int layer = Integer.parseInt(name.substring("blk.".length(), name.indexOf('.', "blk.".length())));
            return moreBits(layer, shape.layers()) ? GgmlType.Q6_K : mixture;
        }
        return mixture;
    }

    /**
     * Writes the model to {@code out} (through {@code out.part}, renamed when complete, so an
     * interrupted run never leaves a file that looks whole). {@code progress} is told after every
     * chunk.
     */
    public Summary write(Path vocabFile, Path out, Progress progress) throws IOException {
        String a = shape.arch();
        GgufWriter w = new GgufWriter()
                .put("general.architecture", a)
                .put("general.name", "synthetic " + shape.name() + " " + (mixture == null ? type : mixture.name() + "_M") + " (random weights, seed "
                        + seed + ")")
                // 15, 17: LLAMA_FTYPE_MOSTLY_Q4_K_M, Q5_K_M
                .put("general.file_type", (long) (mixture == null ? fileType(type) : mixture == GgmlType.Q4_K ? 15 : 17))
                .put("general.quantization_version", 2L)
                .put(a + ".context_length", (long) shape.contextLength())
                .put(a + ".embedding_length", (long) shape.dim())
                .put(a + ".block_count", (long) shape.layers())
                .put(a + ".feed_forward_length", (long) shape.ffn())
                .put(a + ".attention.head_count", (long) shape.heads())
                .put(a + ".attention.head_count_kv", (long) shape.kvHeads())
                .put(a + ".rope.dimension_count", (long) shape.headDim())
                .put(a + ".rope.freq_base", shape.ropeTheta())
                .put(a + ".attention.layer_norm_rms_epsilon", shape.rmsEps())
                .put(a + ".vocab_size", (long) shape.vocab());
        if (pooling != null) {
            w.put(a + ".pooling_type", (long) (pooling.ordinal() + 1)); // llama.cpp's numbering: 1 mean, 2 cls, 3 last
        }
        int padded = copyTokenizer(vocabFile, w);

        Generator gen = new Generator();
        int dim = shape.dim();
        int q = shape.heads() * shape.headDim();
        int kv = shape.kvHeads() * shape.headDim();
        gen.matrix(w, "token_embd.weight", shape.vocab(), dim, 1f);
        float[] factors = shape.ropeFactors();
        if (factors != null) {
            w.tensor("rope_freqs.weight", GgmlType.F32, new long[] {factors.length}, factors);
        }
        for (int l = 0; l < shape.layers(); l++) {
            String p = "blk." + l + ".";
            gen.vector(w, p + "attn_norm.weight", dim, 1f, 0.2f);
            gen.matrix(w, p + "attn_q.weight", q, dim, 1f / (float) Math.sqrt(dim));
            gen.matrix(w, p + "attn_k.weight", kv, dim, 1f / (float) Math.sqrt(dim));
            gen.matrix(w, p + "attn_v.weight", kv, dim, 1f / (float) Math.sqrt(dim));
            if (shape.qkvBias()) {
                gen.vector(w, p + "attn_q.bias", q, 0f, 0.2f);
                gen.vector(w, p + "attn_k.bias", kv, 0f, 0.2f);
                gen.vector(w, p + "attn_v.bias", kv, 0f, 0.2f);
            }
            gen.matrix(w, p + "attn_output.weight", dim, q, 1f / (float) Math.sqrt(q));
            gen.vector(w, p + "ffn_norm.weight", dim, 1f, 0.2f);
            gen.matrix(w, p + "ffn_gate.weight", shape.ffn(), dim, 1f / (float) Math.sqrt(dim));
            gen.matrix(w, p + "ffn_up.weight", shape.ffn(), dim, 1f / (float) Math.sqrt(dim));
            gen.matrix(w, p + "ffn_down.weight", dim, shape.ffn(), 1f / (float) Math.sqrt(shape.ffn()));
        }
        gen.vector(w, "output_norm.weight", dim, 1f, 0.2f);
        if (!shape.tiedOutput()) {
            gen.matrix(w, "output.weight", shape.vocab(), dim, 1f / (float) Math.sqrt(dim));
        }

        Path part = out.resolveSibling(out.getFileName() + ".part");
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> Thread.ofPlatform().daemon().name("synth").unstarted(r));
        try {
            gen.pool = pool;
            gen.progress = progress;
            w.write(part);
        } finally {
            pool.shutdownNow();
        }
        Files.move(part, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Summary(out, Files.size(out), shape.parameters(), w.tensorCount(), fallbacks, padded);
    }

    /**
     * Copies every {@code tokenizer.*} key of the vocabulary file. A vocabulary shorter than the
     * shape's is padded with unused tokens (as llama.cpp's converter pads models whose embedding
     * has spare rows, e.g. Qwen2's); returns how many were added.
     */
    private int copyTokenizer(Path vocabFile, GgufWriter w) {
        try (GgufFile v = GgufFile.open(vocabFile)) {
            String[] tokens = v.getStringArray("tokenizer.ggml.tokens");
            if (tokens == null) {
                throw new ModelLoadException(vocabFile + " has no tokenizer.ggml.tokens: not a vocabulary GGUF");
            }
            int n = tokens.length;
            if (n > shape.vocab()) {
                throw new IllegalArgumentException(vocabFile + " has " + n + " tokens, more than the " + shape.vocab()
                        + " rows of " + shape.name() + "'s embedding: use the vocabulary of the model's own family");
            }
            for (Map.Entry<String, Object> e : v.metadata().entrySet()) {
                if (e.getKey().startsWith("tokenizer.")) {
                    Object value = e.getValue();
                    if (value.getClass().isArray() && !(value instanceof Object[] && !(value instanceof String[]))
                            && Array.getLength(value) == n) {
                        value = pad(e.getKey(), value, shape.vocab());
                    }
                    w.put(e.getKey(), value);
                }
            }
            return shape.vocab() - n;
        }
    }

    /** A per-token array grown to {@code size}: {@code [PAD<id>]} tokens of type UNUSED (5), score 0. */
    private static Object pad(String key, Object values, int size) {
        int n = Array.getLength(values);
        if (n == size) {
            return values;
        }
        Object out = Array.newInstance(values.getClass().getComponentType(), size);
        System.arraycopy(values, 0, out, 0, n);
        for (int i = n; i < size; i++) {
            switch (out) {
                case String[] s -> s[i] = "[PAD" + i + "]";
                case long[] t -> t[i] = key.endsWith("token_type") ? 5 : 0;
                case int[] t -> t[i] = key.endsWith("token_type") ? 5 : 0;
                default -> { } // float scores stay 0
            }
        }
        return out;
    }

    /** general.file_type: llama.cpp's LLAMA_FTYPE of a file whose matrices are all {@code t}. */
    /** llama.cpp's type for a matrix whose rows are not whole blocks of K-quant {@code t}. */
    static GgmlType fallback(GgmlType t) {
        return switch (t) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            default -> GgmlType.Q8_0;
        };
    }

    static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_1 -> 3;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 14; // Q4_K_S: every matrix Q4_K
            case Q5_K -> 16; // Q5_K_S
            case Q6_K -> 18;
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    /** Registers tensors whose bytes are produced in parallel chunks when the writer reaches them. */
    private final class Generator {
        ExecutorService pool;
        Progress progress = (done, total) -> {};
        final AtomicLong written = new AtomicLong();
        long total;
        int tensorIndex;

        void matrix(GgufWriter w, String name, int rows, int cols, float std) {
            GgmlType t = typeOf(name);
            if (cols % t.blockSize != 0) {
                // As llama.cpp's quantizer does (llama_tensor_get_type), a K-quant that does not fit
                // the rows falls back to a 32-value block type of at least its bits per weight.
                t = fallback(t);
                fallbacks++;
            }
            add(w, name, t, rows, cols, 0f, std);
        }

        void vector(GgufWriter w, String name, int n, float mean, float std) {
            add(w, name, GgmlType.F32, 1, n, mean, std);
        }

        private void add(GgufWriter w, String name, GgmlType t, int rows, int cols, float mean, float std) {
            long stream = seed * 0x9E3779B97F4A7C15L + (tensorIndex++) * 0xBF58476D1CE4E5B9L;
            total += t.byteSize((long) rows * cols);
            long[] shapeGgml = rows == 1 ? new long[] {cols} : new long[] {cols, rows};
            w.tensor(name, t, shapeGgml, out -> emit(out, t, rows, cols, mean, std, stream));
        }

        private void emit(OutputStream out, GgmlType t, int rows, int cols, float mean, float std, long stream)
                throws IOException {
            long rowBytes = t.byteSize(cols);
            int perChunk = (int) Math.max(1, Math.min(rows, CHUNK_BYTES / rowBytes));
            float half = std * (float) Math.sqrt(3); // uniform on [-half, half] has this std
            ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
            for (int r0 = 0; r0 < rows || !inFlight.isEmpty(); ) {
                // Keep every thread busy, and a bounded number of chunks in memory.
                while (r0 < rows && inFlight.size() < 2 * threads) {
                    int start = r0;
                    int end = Math.min(rows, r0 + perChunk);
                    inFlight.add(pool.submit(() -> chunk(t, start, end, cols, mean, half, stream)));
                    r0 = end;
                }
                byte[] bytes = take(inFlight.poll());
                out.write(bytes);
                progress.update(written.addAndGet(bytes.length), total);
            }
        }

        private static byte[] chunk(GgmlType t, int start, int end, int cols, float mean, float half, long stream) {
            long rowBytes = t.byteSize(cols);
            byte[] bytes = new byte[(int) ((end - start) * rowBytes)];
            float[] values = new float[cols];
            for (int r = start; r < end; r++) {
                SplittableRandom random = new SplittableRandom(stream + r * 0x94D049BB133111EBL);
                for (int i = 0; i < cols; i++) {
                    values[i] = mean + (float) random.nextDouble(-half, half);
                }
                Quantize.values(t, values, 0, cols, bytes, (int) ((r - start) * rowBytes));
            }
            return bytes;
        }

        private static byte[] take(Future<byte[]> f) throws IOException {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (ExecutionException e) {
                throw new IOException("generating weights failed", e.getCause());
            }
        }
    }
}
