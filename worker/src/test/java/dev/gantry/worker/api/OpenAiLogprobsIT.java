package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.LlamaCpp;
import dev.gantry.worker.testing.OpenAiPython;
import dev.gantry.worker.testing.TestModels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Log-probabilities, echo and several choices through the official OpenAI Python SDK, on the F32
 * copy of SmolLM2-135M-Instruct (quantization out of the way), against llama.cpp's own
 * (llama-cpp-python's create_completion): the top 5 of every step of a 40-token greedy
 * continuation, and a passage's total log-likelihood from echoed prompt log-probabilities, agree
 * within 1e-3.
 */
@QuarkusTest
@TestProfile(OpenAiLogprobsIT.SmolLm2F32.class)
class OpenAiLogprobsIT {
    static final int STEPS = 40;
    static final String PASSAGE = "The quick brown fox jumps over the lazy dog. It was a bright cold day in April,"
            + " and the clocks were striking thirteen. Evaluation harnesses sum these numbers.";

    public static class SmolLm2F32 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // An f32 KV cache: llama.cpp's f16 cache rounds the queries to f16 as well, a further
            // 1e-3 of difference that says nothing about the API (with ours in f16: 1.07e-3 at step 0).
            return Map.of("gantry.model", LlamaCpp.dequantizedToF32(TestModels.smolLm2()).toString(),
                    "gantry.served-model-name", "smollm2-f32", "gantry.max-model-len", "1024",
                    "gantry.kv-cache-dtype", "f32");
        }
    }

    @TestHTTPResource("/")
    URL root;

    @Test
    void logprobsEchoAndChoicesAgreeWithLlamaCpp() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(3));
        Path f32 = LlamaCpp.dequantizedToF32(TestModels.smolLm2());
        ObjectMapper json = new ObjectMapper();
        Path request = Files.createTempFile("logprobs-request", ".json");
        try (Model model = Model.load(f32)) {
            var tok = model.tokenizer();
            String chat = model.chatTemplate().render(List.of(new dev.gantry.worker.model.tokenizer.ChatMessage("user",
                    "Name three colours of the rainbow.")), true);
            json.writeValue(request.toFile(), Map.of("greedy_prompt", tok.encode(chat, false, true), "steps", STEPS,
                    "passage", tok.encode(PASSAGE, false, false), "chat", "What is the capital of France?"));
        }
        JsonNode ours = json.readTree(OpenAiPython.run("logprobs_choices.py", root.toURI().resolve("/v1").toString(),
                "smollm2-f32", request.toString()));
        JsonNode theirs = LlamaCpp.logprobs(f32, request);

        // Greedy: the same tokens, and every step's top 5 within 1e-3 of llama.cpp's.
        JsonNode g = ours.path("greedy").path("logprobs");
        JsonNode lg = theirs.path("greedy");
        assertThat(g.path("tokens").size()).isEqualTo(STEPS);
        assertThat(ours.path("greedy").path("text").asText()).isEqualTo(lg.path("text").asText());
        for (int t = 0; t < STEPS; t++) {
            assertThat(g.path("token_logprobs").get(t).asDouble()).as("step %d", t)
                    .isCloseTo(lg.path("token_logprobs").get(t).asDouble(), within(1e-3));
            List<Double> top = topValues(g.path("top_logprobs").get(t));
            List<Double> ref = topValues(lg.path("top_logprobs").get(t));
            assertThat(top).as("step %d: top 5 (and the chosen token)", t).hasSameSizeAs(ref);
            for (int j = 0; j < Math.min(5, ref.size()); j++) {
                assertThat(top.get(j)).as("step %d, rank %d", t, j).isCloseTo(ref.get(j), within(1e-3));
            }
            assertThat(g.path("top_logprobs").get(t).size()).isBetween(5, 6);
        }
        // Streamed: the same tokens and numbers.
        JsonNode s = ours.path("greedy_stream");
        assertThat(s.path("text").asText()).isEqualTo(ours.path("greedy").path("text").asText());
        assertThat(s.path("tokens")).isEqualTo(g.path("tokens"));
        // Bit for bit, though the second request finds the prompt in the prefix cache and computes
        // only its tail, in another batch shape: the products sum in one order whatever the shape.
        for (int t = 0; t < STEPS; t++) {
            assertThat(s.path("token_logprobs").get(t).asDouble()).as("streamed step %d", t)
                    .isEqualTo(g.path("token_logprobs").get(t).asDouble());
        }

        // The passage's total log-likelihood (every prompt token after the first) within 1e-3.
        JsonNode p = ours.path("passage").path("logprobs").path("token_logprobs");
        JsonNode lp = theirs.path("passage").path("token_logprobs");
        assertThat(p.get(0).isNull()).as("the first prompt token has no log-probability").isTrue();
        int promptTokens = p.size() - 1; // the last entry is the generated token
        double sum = 0;
        double ref = 0;
        assertThat(lp.size()).isEqualTo(promptTokens);
        for (int i = 1; i < promptTokens; i++) {
            sum += p.get(i).asDouble();
            ref += lp.get(i).asDouble();
        }
        System.out.printf("passage of %d tokens: log-likelihood %.6f, llama.cpp %.6f%n", promptTokens, sum, ref);
        assertThat(sum).isCloseTo(ref, within(1e-3));
        assertThat(ours.path("passage").path("text").asText()).startsWith(PASSAGE);
        JsonNode only = ours.path("passage_prompt_only");
        assertThat(only.path("text").asText()).isEqualTo(PASSAGE);
        assertThat(only.path("usage").path("completion_tokens").asInt()).isZero();
        assertThat(only.path("logprobs").path("token_logprobs").size()).isEqualTo(promptTokens);
        double onlySum = 0;
        for (int i = 1; i < promptTokens; i++) {
            onlySum += only.path("logprobs").path("token_logprobs").get(i).asDouble();
        }
        assertThat(onlySum).isCloseTo(sum, within(1e-4));

        // Chat: one entry per token, top 3 each, most likely first; greedy picks the top one; streamed alike.
        JsonNode chat = ours.path("chat").path("logprobs");
        assertThat(chat.size()).isBetween(1, 12);
        StringBuilder joined = new StringBuilder();
        for (JsonNode e : chat) {
            assertThat(e.path("top_logprobs").size()).isEqualTo(3);
            assertThat(e.path("top_logprobs").get(0).path("logprob").asDouble()).isEqualTo(e.path("logprob").asDouble());
            assertThat(e.path("logprob").asDouble()).isLessThanOrEqualTo(0);
            joined.append(e.path("token").asText());
        }
        assertThat(joined.toString()).startsWith(ours.path("chat").path("content").asText().strip().substring(0, 5));
        assertThat(ours.path("chat_stream").path("content").asText()).isEqualTo(ours.path("chat").path("content").asText());
        JsonNode chatStream = ours.path("chat_stream").path("logprobs");
        assertThat(chatStream.size()).isEqualTo(chat.size());
        for (int i = 0; i < chat.size(); i++) {
            assertThat(chatStream.get(i).path("token")).isEqualTo(chat.get(i).path("token"));
            assertThat(chatStream.get(i).path("bytes")).isEqualTo(chat.get(i).path("bytes"));
            assertThat(chatStream.get(i).path("logprob").asDouble()).isCloseTo(chat.get(i).path("logprob").asDouble(),
                    within(1e-4)); // another batch shape: float rounding (measured up to 1.02e-5)
        }

        // n = 3: three distinct choices, the same three for the same seed, streamed alike.
        JsonNode n3 = ours.path("n3");
        assertThat(n3.path("indexes").toString()).isEqualTo("[0,1,2]");
        assertThat(new HashSet<>(texts(n3))).as("three seeds, three answers").hasSize(3);
        assertThat(texts(ours.path("n3_again"))).isEqualTo(texts(n3));
        assertThat(texts(ours.path("n3_stream"))).isEqualTo(texts(n3));
        assertThat(n3.path("usage").path("prompt_tokens").asInt()).isPositive();

        // best_of 4, n 2: the two candidates (each choice i draws from seed + i) of the highest
        // log-probability, highest first.
        List<JsonNode> candidates = new ArrayList<>();
        ours.path("best_of_candidates").forEach(candidates::add);
        candidates.sort((a, b) -> Double.compare(b.path("sum").asDouble(), a.path("sum").asDouble()));
        JsonNode best = ours.path("best_of");
        assertThat(best.path("texts").get(0).asText()).isEqualTo(candidates.get(0).path("text").asText());
        assertThat(best.path("texts").get(1).asText()).isEqualTo(candidates.get(1).path("text").asText());
        assertThat(best.path("usage").path("completion_tokens").asInt()).isEqualTo(4 * 8);
    }

    private static List<Double> topValues(JsonNode top) {
        List<Double> values = new ArrayList<>();
        top.forEach(v -> values.add(v.asDouble()));
        values.sort((a, b) -> Double.compare(b, a));
        return values;
    }

    private static List<String> texts(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.path("texts").forEach(t -> out.add(t.asText()));
        return out;
    }
}
