package dev.gantry.worker.api;

import com.openai.models.completions.CompletionCreateParams;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** 32 concurrent greedy completions on stories260K each equal the same request sent alone. */
@QuarkusTest
@TestProfile(ConcurrentCompletionsIT.Batching.class)
class ConcurrentCompletionsIT {
    static final String[] OPENINGS = {"Once upon a time", "The little dog", "Lily and Tom went", "One day, a big",
        "There was a cat", "The sun was", "Tim had a red ball", "A girl named Sue"};
    static final String[] ENDINGS = {"", " and", " who", " that"};

    /** Room for all 32 at once; no response cache, so repeats reach the engine. */
    public static class Batching implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gantry.max-num-seqs", "32", "gantry.response-cache.enabled", "false");
        }
    }

    @TestHTTPResource("/")
    URL root;

    @Test
    void thirtyTwoConcurrentRequestsEqualTheirOutputAlone() throws Exception {
        ConcurrentRequests.checkBatchingChangesNothing(root.toURI(), (client, i) -> {
            var c = client.completions().create(CompletionCreateParams.builder().model("stories260K")
                    .prompt(OPENINGS[i % 8] + ENDINGS[i / 8]).maxTokens(48).temperature(0.0).build());
            var choice = c.choices().getFirst();
            return new ConcurrentRequests.Answer(choice.text(), choice.finishReason().asString());
        });
    }
}
