package dev.gantry.worker.model.grammar;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Mask cost per token on SmolLM2's vocabulary (49152 tokens): decodes a fixed ~60-token JSON
 * document for a realistic schema token by token and reports the average and p99 time of
 * {@link GrammarMatcher#maskLogits}, for a grammar seen for the first time, with the mask cache off
 * (every mask walks the vocabulary trie) and warm. Not a test; run it as a main, from the repository root:
 * <pre>
 * ./mvnw -B -q -o -pl worker test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt \
 *     -Dmdep.includeScope=test -Dgantry.image.skip=true
 * cd worker && java -cp target/test-classes:target/classes:$(cat /tmp/cp.txt) \
 *     dev.gantry.worker.model.grammar.GrammarBenchmark [model.gguf [rounds]]
 * </pre>
 */
public final class GrammarBenchmark {
    static final String SCHEMA = """
            {"type": "object", "additionalProperties": false, "required": ["name", "age", "color", "tags"],
             "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
               "color": {"enum": ["red", "green", "blue", "light yellow"]},
               "tags": {"type": "array", "items": {"type": "string"}}}}""";
    static final String OUTPUT = "{\"name\": \"Maria Fernanda Oliveira\", \"age\": 34, \"color\": \"light yellow\", "
            + "\"tags\": [\"software engineer\", \"marathon runner\", \"coffee lover\", \"amateur astronomer\", "
            + "\"jazz pianist\", \"São Paulo\", \"chess\"]}";

    private GrammarBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path model = args.length > 0 ? Path.of(args[0]) : TestModels.smolLm2();
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        try (GgufFile file = GgufFile.open(model)) {
            Tokenizer tokenizer = Tokenizer.fromGguf(file);
            long t0 = System.nanoTime();
            GrammarCompiler cold = new GrammarCompiler(tokenizer, 4, 0);
            GrammarCompiler warm = new GrammarCompiler(tokenizer);
            long trieMs = (System.nanoTime() - t0) / 2_000_000;
            GrammarSpec spec = new GrammarSpec.JsonSchema(new ObjectMapper().readTree(SCHEMA));
            int[] tokens = tokenizer.encode(OUTPUT, false, false);
            System.out.printf("%s; %d output tokens; vocabulary trie %d nodes, built in %d ms%n", tokenizer,
                    tokens.length, new TokenTrie(tokenizer).nodeCount(), trieMs);

            long c0 = System.nanoTime();
            CompiledGrammar first = cold.compile(spec);
            System.out.printf("compile: %.2f ms%n", (System.nanoTime() - c0) / 1e6);
            report("first pass, fresh grammar, mask cache off", decode(first, tokens, tokenizer.vocabSize(), 1));
            for (int i = 0; i < 20; i++) { // JIT warm-up
                decode(first, tokens, tokenizer.vocabSize(), 1);
                decode(warm.compile(spec), tokens, tokenizer.vocabSize(), 1);
            }
            long[] compiles = new long[20];
            for (int i = 0; i < compiles.length; i++) { // new specs (a distinct title) on a warm JVM
                GrammarSpec variant = new GrammarSpec.JsonSchema(new ObjectMapper().readTree(
                        SCHEMA.replaceFirst("\\{", "{\"title\": \"v" + i + "\", ")));
                long s0 = System.nanoTime();
                warm.compile(variant);
                compiles[i] = System.nanoTime() - s0;
            }
            System.out.printf("compile, warm JVM: median %.2f ms%n", sortedCopy(compiles)[compiles.length / 2] / 1e6);
            report("mask cache off (every mask walks the trie)", decode(first, tokens, tokenizer.vocabSize(), rounds / 4));
            report("mask cache warm", decode(warm.compile(spec), tokens, tokenizer.vocabSize(), rounds));
        }
    }

    /** Mask times in nanoseconds, one per token per round. */
    private static long[] decode(CompiledGrammar grammar, int[] tokens, int vocab, int rounds) {
        long[] times = new long[tokens.length * rounds];
        float[] logits = new float[vocab];
        int k = 0;
        for (int r = 0; r < rounds; r++) {
            GrammarMatcher m = grammar.newMatcher();
            for (int token : tokens) {
                long start = System.nanoTime();
                m.maskLogits(logits, 0, vocab);
                times[k++] = System.nanoTime() - start;
                if (logits[token] != 0f || !m.accept(token)) {
                    throw new IllegalStateException("token " + token + " was refused");
                }
                Arrays.fill(logits, 0f);
            }
            if (!m.isTerminated()) {
                throw new IllegalStateException("the document did not complete the grammar");
            }
        }
        return times;
    }

    private static long[] sortedCopy(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted;
    }

    private static void report(String what, long[] times) {
        long[] sorted = sortedCopy(times);
        double avg = Arrays.stream(times).average().orElse(0) / 1000;
        double p99 = sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] / 1000.0;
        System.out.printf("%-46s avg %8.1f us   p99 %8.1f us   max %8.1f us  (%d masks)%n", what + ":", avg, p99,
                sorted[sorted.length - 1] / 1000.0, times.length);
    }
}
