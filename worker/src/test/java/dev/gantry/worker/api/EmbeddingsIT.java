package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.testing.LlamaCpp;
import dev.gantry.worker.testing.OpenAiPython;
import dev.gantry.worker.testing.TestModels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/embeddings} through the official OpenAI Python SDK on the F32 copy of SmolLM2 (a
 * decoder model: mean pooling), against llama.cpp's own embeddings of the same texts
 * (llama-cpp-python, mean pooling, normalised): a batch of inputs as floats and as base64, one
 * input, token ids, and the 400s.
 */
@QuarkusTest
@TestProfile(OpenAiLogprobsIT.SmolLm2F32.class)
class EmbeddingsIT {
    static final List<String> TEXTS = List.of("The cat sat on the mat.", "Paris is the capital of France.",
            "Embeddings map text to vectors; similar texts land close together.");

    @TestHTTPResource("/")
    URL root;

    @Test
    void embeddingsOfABatchAgreeWithLlamaCpp() throws Exception {
        ApiTestSupport.awaitReady(root.toURI(), Duration.ofMinutes(3));
        ObjectMapper json = new ObjectMapper();
        Path texts = Files.createTempFile("texts", ".json");
        json.writeValue(texts.toFile(), TEXTS);
        JsonNode ours = json.readTree(OpenAiPython.run("embeddings.py", root.toURI().resolve("/v1").toString(),
                "smollm2-f32", texts.toString()));
        JsonNode theirs = LlamaCpp.embeddings(LlamaCpp.dequantizedToF32(TestModels.smolLm2()), texts);

        JsonNode floats = ours.path("float");
        assertThat(floats.size()).isEqualTo(TEXTS.size());
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode v = floats.get(i);
            JsonNode ref = theirs.path("embeddings").get(i);
            assertThat(v.size()).isEqualTo(576).isEqualTo(ref.size());
            double norm = 0;
            double dot = 0;
            double worst = 0;
            for (int d = 0; d < v.size(); d++) {
                norm += v.get(d).asDouble() * v.get(d).asDouble();
                dot += v.get(d).asDouble() * ref.get(d).asDouble();
                worst = Math.max(worst, Math.abs(v.get(d).asDouble() - ref.get(d).asDouble()));
                // Another request, so another batch: equal to float rounding, not bit for bit.
                assertThat(ours.path("base64").get(i).get(d).asDouble()).isCloseTo(v.get(d).asDouble(), within(1e-6));
            }
            System.out.printf("input %d: cosine with llama.cpp %.7f, largest difference %.2e%n", i, dot, worst);
            assertThat(norm).isCloseTo(1.0, within(1e-5));
            assertThat(worst).as("input %d vs llama.cpp", i).isLessThan(1e-3);
        }
        for (int d = 0; d < 576; d++) {
            assertThat(ours.path("single").get(d).asDouble()).isCloseTo(floats.get(0).get(d).asDouble(), within(1e-5));
            assertThat(ours.path("tokens").get(d).asDouble()).isCloseTo(floats.get(0).get(d).asDouble(), within(1e-5));
        }
        assertThat(ours.path("usage").path("prompt_tokens").asInt()).isPositive();
        assertThat(ours.path("empty").path("status").asInt()).isEqualTo(400);
        assertThat(ours.path("empty").path("param").asText()).isEqualTo("input");
        assertThat(ours.path("dimensions").path("status").asInt()).isEqualTo(400);
        assertThat(ours.path("dimensions").path("param").asText()).isEqualTo("dimensions");
    }
}
