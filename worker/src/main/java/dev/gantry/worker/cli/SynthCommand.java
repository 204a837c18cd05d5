package dev.gantry.worker.cli;

import dev.gantry.worker.model.synth.ModelShape;
import dev.gantry.worker.model.synth.SyntheticGguf;
import dev.gantry.worker.quant.GgmlType;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gantry synth}: a random-weight GGUF of a real model's shape, for benchmarks. */
@Command(
        name = "synth",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Write a GGUF with random weights (fixed by --seed) in the exact shape of a published model,",
            "with a real tokenizer copied from a vocabulary GGUF, that this worker and llama.cpp both run.",
            "Speed does not depend on weight values, so such files benchmark at real sizes without downloads.",
            "Vocabularies of each family ship with llama.cpp's sources (models/ggml-vocab-*.gguf):",
            "llama-3.x: ggml-vocab-llama-bpe.gguf, qwen2.5: ggml-vocab-qwen2.gguf, smollm2: the SmolLM2 GGUF itself."
        })
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "Model shape: ${COMPLETION-CANDIDATES}.", completionCandidates = Shapes.class)
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE",
            description = "Type of the weight matrices: f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m (llama.cpp's"
                    + " Q4_K_M mixture: q6_k for the output and half the attn_v and ffn_down matrices, q4_k elsewhere)"
                    + " or q5_k_m (the same with q5_k). Norms stay f32; a k-quant matrix whose rows are not whole 256-value"
                    + " blocks falls back as llama.cpp's does (q4_k to q5_0, q5_k to q5_1, q6_k to q8_0).")
    String type;

    @Option(names = "--vocab", required = true, paramLabel = "GGUF",
            description = "GGUF whose tokenizer.* metadata is copied (padded with unused tokens up to the shape's vocabulary).")
    Path vocab;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "GGUF file to write.")
    Path out;

    @Option(names = "--pooling", paramLabel = "MEAN|CLS|LAST",
            description = "Mark the file as an embedding model pooled this way (llama.cpp's pooling_type); /v1/embeddings then pools as it says.")
    dev.gantry.worker.model.Pooling pooling;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads generating weights, 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
        ModelShape s = ModelShape.named(shape);
        boolean q4kM = type.equalsIgnoreCase("q4_k_m");
        boolean q5kM = type.equalsIgnoreCase("q5_k_m");
        GgmlType t;
        try {
            t = q4kM ? GgmlType.Q4_K : q5kM ? GgmlType.Q5_K : GgmlType.valueOf(type.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown type '" + type + "' (choose " + SyntheticGguf.TYPES.replace(" or ", ", ")
                    + ", q4_k_m or q5_k_m)");
        }
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        PrintStream err = System.err;
        err.printf("synth: %s, %s, %.2fB parameters, seed %d -> %s%n", s.name(), q4kM || q5kM ? t + "_M" : t, s.parameters() / 1e9,
                seed, out);
        long start = System.nanoTime();
        long[] lastReport = {start};
        SyntheticGguf.Summary sum = (q4kM ? SyntheticGguf.q4KM(s, seed, n, pooling) : q5kM ? SyntheticGguf.q5KM(s, seed, n, pooling)
                : new SyntheticGguf(s, t, seed, n, pooling)).write(vocab, out, (done, total) -> {
            long now = System.nanoTime();
            if (now - lastReport[0] > 2_000_000_000L || done == total) {
                lastReport[0] = now;
                double secs = (now - start) / 1e9;
                err.printf("synth: %.2f / %.2f GB (%.0f%%), %.0f MB/s%n", done / 1e9, total / 1e9, 100.0 * done / total,
                        done / 1e6 / Math.max(secs, 1e-3));
            }
        });
        err.printf("synth: wrote %s: %.2f GB, %d tensors in %.1f s%s%s%n", sum.file(), sum.bytes() / 1e9, sum.tensors(),
                (System.nanoTime() - start) / 1e9,
                sum.fallbacks() > 0 ? ", " + sum.fallbacks() + " matrices as q4_0 (rows not whole k-quant blocks)" : "",
                sum.paddedTokens() > 0 ? ", vocabulary padded with " + sum.paddedTokens() + " unused tokens" : "");
        return 0;
    }

    /** The known shape names, for --help. */
    static final class Shapes implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ModelShape.KNOWN.keySet().iterator();
        }
    }
}
