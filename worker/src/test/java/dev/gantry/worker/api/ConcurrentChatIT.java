package dev.gantry.worker.api;

import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.gantry.worker.testing.TestModels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * 32 concurrent greedy chat requests on SmolLM2-135M-Instruct each equal the same request sent
 * alone: the text, and every token's logprob to the last bit (a logit that moves at all between
 * the two is a batch-variant product, which flips tokens at near-ties sooner or later).
 */
@QuarkusTest
@TestProfile(ConcurrentChatIT.SmolLm2Batching.class)
class ConcurrentChatIT {
    static final String[] TOPICS = {"the sea", "a cat", "the moon", "bread", "rain", "a train", "mountains", "music",
        "a library", "winter", "bees", "the desert", "a clock", "friendship", "coffee", "a river"};

    /** SmolLM2 with room for all 32 at once; no response cache, so repeats reach the engine. */
    public static class SmolLm2Batching implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gantry.model", TestModels.smolLm2().toString(), "gantry.served-model-name", "smollm2",
                    "gantry.max-model-len", "1024", "gantry.max-num-seqs", "32", "gantry.response-cache.enabled", "false");
        }
    }

    @TestHTTPResource("/")
    URL root;

    @Test
    void thirtyTwoConcurrentChatRequestsEqualTheirOutputAlone() throws Exception {
        ConcurrentRequests.checkBatchingChangesNothing(root.toURI(), (client, i) -> {
            String question = (i < 16 ? "Write one sentence about " : "Name three things about ") + TOPICS[i % 16] + ".";
            var c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("smollm2")
                    .addUserMessage(question).maxCompletionTokens(24).temperature(0.0).logprobs(true).build());
            var choice = c.choices().getFirst();
            String logprobs = choice.logprobs().orElseThrow().content().orElseThrow().stream()
                    .map(t -> t.token() + "=" + Float.toHexString((float) t.logprob())).collect(Collectors.joining(" "));
            return new ConcurrentRequests.Answer(choice.message().content().orElse("") + "\n[logprobs] " + logprobs,
                    choice.finishReason().asString());
        });
    }
}
