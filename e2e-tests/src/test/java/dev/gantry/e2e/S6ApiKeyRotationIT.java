package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 6: the API key from a Secret. 401 without it, 200 with it; then the Secret's contents
 * change (and nothing else): the workers roll, the old key gets 401, the new one 200.
 */
@Order(6)
@ExtendWith(E2eExtension.class)
class S6ApiKeyRotationIT {
    static Cluster cluster;
    static final String NEW_KEY = "sk-e2e-rotated-key";
    static final String CHAT = """
            {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}""";

    @Test
    void rotatingTheSecretRollsTheWorkersOntoTheNewKey() {
        Llmd llmd = Llmd.of(cluster, S2ApplySmolLm2IT.NAME);
        llmd.awaitReady(Duration.ofMinutes(5));
        String base = "http://" + cluster.ingress;
        String host = S2ApplySmolLm2IT.HOST;
        assertThat(Http.post(base, host, "/v1/chat/completions", CHAT, null).status()).isEqualTo(401);
        assertThat(Http.post(base, host, "/v1/chat/completions", CHAT, S2ApplySmolLm2IT.FIRST_KEY).status()).isEqualTo(200);

        List<String> before = llmd.podNames();
        long generation = llmd.get().path("metadata").path("generation").asLong();
        String encoded = Base64.getEncoder().encodeToString(NEW_KEY.getBytes());
        cluster.kubectl("patch", "secret", S2ApplySmolLm2IT.KEY_SECRET, "-n", Llmd.NAMESPACE, "--type", "merge", "-p",
                "{\"data\":{\"key\":\"" + encoded + "\"}}");

        llmd.await("rolled onto the new key", Duration.ofMinutes(4), s -> Llmd.isTrue(s, "Ready")
                && !Llmd.isTrue(s, "Progressing") && llmd.podNames().stream().noneMatch(before::contains));
        assertThat(llmd.get().path("metadata").path("generation").asLong())
                .as("the LLMDeployment itself did not change").isEqualTo(generation);
        // Old pods leave the Service before they stop; Traefik follows the endpoints within moments.
        Llmd.sleep(Duration.ofSeconds(3));
        assertThat(Http.post(base, host, "/v1/chat/completions", CHAT, S2ApplySmolLm2IT.FIRST_KEY).status())
                .as("the old key").isEqualTo(401);
        assertThat(Http.post(base, host, "/v1/chat/completions", CHAT, NEW_KEY).status()).as("the new key").isEqualTo(200);
    }
}
