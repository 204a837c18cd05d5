package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.prompt;
import static dev.gantry.worker.engine.EngineHarness.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.engine.EngineHarness.Collector;
import dev.gantry.worker.engine.EngineHarness.Output;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.Pooling;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.model.sample.Logprobs;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.sample.TokenLogprobs;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the engine hands out besides tokens, on stories260K: log-probabilities of sampled and
 * prompt tokens (checked against a plain forward pass of the whole sequence), prompt-only
 * requests, and the choices of one request (n > 1) computing their shared prompt once.
 */
class EngineOutputsTest {

    @BeforeAll
    static void load() {
        EngineTest.load();
    }

    @AfterAll
    static void close() {
        EngineTest.close();
    }

    /** Every position's logits of {@code tokens} from one plain forward pass: [tokens.length][vocab]. */
    static float[][] logitsOf(int[] tokens) {
        return wholePass(tokens, LlamaForward::logitsOfRows, EngineTest.model.config().vocabSize());
    }

    /** The last hidden states, after the final norm, of every position of {@code tokens}: [tokens.length][dim]. */
    static float[][] hiddenOf(int[] tokens) {
        return wholePass(tokens, LlamaForward::hiddenOfRows, EngineTest.model.config().dim());
    }

    /** One plain forward pass over {@code tokens}, then {@code read} of every row ({@code width} values each). */
    private static float[][] wholePass(int[] tokens, java.util.function.BiFunction<LlamaForward, int[], float[]> read, int width) {
        int blockSize = 4;
        int blocks = (tokens.length + blockSize - 1) / blockSize;
        var c = EngineTest.model.config();
        LlamaForward forward = new LlamaForward(c, EngineTest.model.weights(), EngineTest.backend, tokens.length, tokens.length);
        SimpleBlockAllocator.Table table = new SimpleBlockAllocator(blocks, blockSize).newTable();
        table.ensureCapacity(tokens.length);
        try (KvStorage kv = EngineTest.backend.allocateKv(c.layers(), blocks, blockSize, c.kvDim())) {
            forward.forward(ForwardBatch.of(new int[][] {tokens}, new int[] {0}, new int[][] {table.blocks()}, blockSize,
                    new boolean[] {true}), kv);
            int[] rows = new int[tokens.length];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = i;
            }
            float[] flat = read.apply(forward, rows);
            float[][] out = new float[tokens.length][];
            for (int i = 0; i < tokens.length; i++) {
                out[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
            }
            return out;
        }
    }

    private static void assertMatches(TokenLogprobs actual, float[] logits, int token, int top) {
        TokenLogprobs expected = Logprobs.of(logits, 0, logits.length, token, top);
        assertThat(actual.token()).isEqualTo(token);
        assertThat(actual.logprob()).isCloseTo(expected.logprob(), within(1e-4f));
        assertThat(actual.topIds()).containsExactly(expected.topIds());
        for (int j = 0; j < top; j++) {
            assertThat(actual.topLogprobs()[j]).isCloseTo(expected.topLogprobs()[j], within(1e-4f));
        }
    }

    @Test
    void sampledAndPromptLogprobsAreThoseOfTheWholeSequence() {
        int[] prompt = prompt(EngineTest.model, "Once upon a time, there was a little girl named Lily. She liked to");
        // A small budget and few logit rows: the prompt is computed in chunks, its rows read in tiles.
        try (Engine e = EngineTest.engine(3, 8, 256, true, null)) {
            Output out = submit(e, new EngineRequest("lp", prompt, greedy(12)).withLogprobs(5, 3)).await();
            int[] all = new int[prompt.length + out.tokens().size()];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            for (int i = 0; i < out.tokens().size(); i++) {
                all[prompt.length + i] = out.tokens().get(i);
            }
            float[][] logits = logitsOf(all);
            assertThat(out.logprobs()).hasSize(out.tokens().size());
            for (int i = 0; i < out.tokens().size(); i++) {
                TokenLogprobs lp = out.logprobs().get(i);
                assertMatches(lp, logits[prompt.length - 1 + i], out.tokens().get(i), 5);
                assertThat(lp.topIds()[0]).as("greedy picks the most likely").isEqualTo(lp.token());
            }
            assertThat(out.promptLogprobs()).hasSize(prompt.length - 1);
            for (int p = 0; p < prompt.length - 1; p++) {
                assertMatches(out.promptLogprobs().get(p), logits[p], prompt[p + 1], 3);
            }
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }

    @Test
    void promptLogprobsSurvivePreemptionAndSkipThePrefixCache() {
        int[] prompt = prompt(EngineTest.model, "The little dog ran to the park and played with a ball all day long");
        float[][] logits = logitsOf(prompt);
        // 64 blocks of 4 tokens for 4 sequences of ~80 tokens: some get preempted and recompute
        // their prompt, whose log-probabilities must still come once and right.
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine e = EngineTest.engine(4, 16, 64, true, registry)) {
            List<Collector> cs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                cs.add(submit(e, new EngineRequest("p" + i, prompt, greedy(64).withIgnoreEos(true)).withLogprobs(-1, 2)));
            }
            for (Collector c : cs) {
                Output out = c.await();
                assertThat(out.result().cachedPromptTokens()).isZero();
                assertThat(out.promptLogprobs()).hasSize(prompt.length - 1);
                for (int p = 0; p < prompt.length - 1; p++) {
                    assertMatches(out.promptLogprobs().get(p), logits[p], prompt[p + 1], 2);
                }
            }
            assertThat(registry.get("vllm:num_preemptions").counter().count()).isPositive();
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }

    private static float[] normalised(double[] v) {
        double n = 0;
        for (double x : v) {
            n += x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(n));
        }
        return out;
    }

    @Test
    void embeddingsPoolTheLastHiddenStatesInChunksAndBatches() {
        int[] prompt = prompt(EngineTest.model, "Once upon a time, there was a little girl named Lily. She liked to");
        float[][] hidden = hiddenOf(prompt);
        int dim = hidden[0].length;
        double[] mean = new double[dim];
        for (float[] row : hidden) {
            for (int d = 0; d < dim; d++) {
                mean[d] += row[d];
            }
        }
        double[] first = new double[dim];
        double[] last = new double[dim];
        for (int d = 0; d < dim; d++) {
            first[d] = hidden[0][d];
            last[d] = hidden[prompt.length - 1][d];
        }
        // Chunks of 8 tokens, 3 rows at a time, beside a generating request: every pooling as computed whole.
        try (Engine e = EngineTest.engine(3, 8, 256, true, null)) {
            Collector other = submit(e, prompt, greedy(20));
            Map<Pooling, double[]> expected = Map.of(Pooling.MEAN, mean, Pooling.CLS, first, Pooling.LAST, last);
            for (Pooling p : Pooling.values()) {
                float[][] got = new float[1][];
                Collector c = new Collector() {
                    @Override
                    public void onEmbedding(float[] embedding) {
                        got[0] = embedding;
                    }
                };
                try {
                    e.submit(EngineRequest.embedding("e", prompt, p, System.nanoTime()), c);
                } catch (RequestRejectedException ex) {
                    throw new AssertionError(ex);
                }
                Output out = c.await();
                assertThat(out.tokens()).isEmpty();
                assertThat(out.result().finishReason()).isEqualTo(FinishReason.LENGTH);
                float[] want = normalised(expected.get(p));
                assertThat(got[0]).as(p.name()).hasSize(dim);
                for (int d = 0; d < dim; d++) {
                    assertThat(got[0][d]).as("%s[%d]", p, d).isCloseTo(want[d], within(1e-5f));
                }
            }
            assertThat(other.await().tokens()).hasSize(20);
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }

    @Test
    void maxTokensZeroComputesThePromptOnly() {
        int[] prompt = prompt(EngineTest.model, "Tim had a red ball");
        try (Engine e = EngineTest.engine(4, 64, 64, true, null)) {
            Output out = submit(e, new EngineRequest("zero", prompt, greedy(0)).withLogprobs(0, 0)).await();
            assertThat(out.tokens()).isEmpty();
            assertThat(out.result().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(out.result().completionTokens()).isZero();
            assertThat(out.promptLogprobs()).hasSize(prompt.length - 1);
        }
    }

    @Test
    void choicesShareThePromptAndKeepTheirOwnSeeds() throws Exception {
        StringBuilder text = new StringBuilder("Once upon a time");
        while (prompt(EngineTest.model, text.toString()).length < 60) {
            text.append(", there was a little girl who liked to play");
        }
        int[] prompt = prompt(EngineTest.model, text.toString());
        SamplingParams random = SamplingParams.defaults().withTemperature(1.0).withMaxTokens(16).withIgnoreEos(true);
        try (Engine e = EngineTest.engine(8, 256, 256, true, null)) {
            List<EngineRequest> requests = new ArrayList<>();
            List<Collector> cs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                requests.add(new EngineRequest("n" + i, prompt, random.withSeed(7L + i)));
                cs.add(new Collector());
            }
            e.submit(requests, List.copyOf(cs));
            List<Output> outs = cs.stream().map(Collector::await).toList();
            assertThat(outs.get(0).result().cachedPromptTokens()).isZero();
            int fullBlocks = prompt.length / 4 * 4;
            for (int i = 1; i < 3; i++) {
                assertThat(outs.get(i).result().cachedPromptTokens()).as("choice %d reuses the prompt", i)
                        .isGreaterThanOrEqualTo(Math.min(fullBlocks, prompt.length - 1));
            }
            assertThat(outs.stream().map(Output::tokens).distinct()).as("each choice has its own seed").hasSize(3);
            // Each choice alone, with its seed, gives the same tokens: batching and sharing change nothing.
            for (int i = 0; i < 3; i++) {
                Output alone = submit(e, prompt, random.withSeed(7L + i)).await();
                assertThat(alone.tokens()).isEqualTo(outs.get(i).tokens());
            }
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
            assertThat(e.inFlight()).isZero();
        }
    }

    @Test
    void cancellingChoicesBeforeThePromptIsComputedEndsThemAll() throws Exception {
        int[] prompt = prompt(EngineTest.model, "The sun was hot and the children went to the lake to swim");
        try (Engine e = EngineTest.engine(2, 4, 256, true, null)) {
            List<Collector> cs = List.of(new Collector(), new Collector(), new Collector());
            List<EngineRequest> rs = List.of(new EngineRequest("a", prompt, greedy(50)),
                    new EngineRequest("b", prompt, greedy(50)), new EngineRequest("c", prompt, greedy(50)));
            RequestHandle h = e.submit(rs, List.copyOf(cs));
            h.cancel();
            for (Collector c : cs) {
                assertThat(c.await().result().finishReason()).isIn(FinishReason.ABORT, FinishReason.LENGTH);
            }
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
            assertThat(e.inFlight()).isZero();
        }
    }
}
