package dev.gantry.operator.dependent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.desired.ApiKeyHash;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What the Secret cache keeps, and how LLMDeployments find their Secret. */
class ApiKeySecretsTest {

    private static Secret secret(String token) {
        return new SecretBuilder().withNewMetadata().withName("chat-key").withNamespace("llm").withResourceVersion("42")
                .withUid("u-1").addToLabels("team", "a").addToAnnotations("kubectl.kubernetes.io/last-applied-configuration", "{...}")
                .endMetadata().withType("Opaque").addToData("token", token).addToData("other", "eA==").build();
    }

    private static LLMDeployment withKey() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        return llmd;
    }

    @Test
    void theCacheKeepsDigestsNotValues() {
        Secret original = secret("c2VjcmV0");
        Secret cached = ApiKeySecrets.digested(original);
        assertThat(cached.getData()).containsOnlyKeys("token", "other");
        assertThat(cached.getData().get("token")).isEqualTo(ApiKeyHash.sha256("c2VjcmV0")).doesNotContain("c2VjcmV0");
        assertThat(cached.getMetadata().getName()).isEqualTo("chat-key");
        assertThat(cached.getMetadata().getNamespace()).isEqualTo("llm");
        assertThat(cached.getMetadata().getResourceVersion()).isEqualTo("42");
        assertThat(cached.getMetadata().getAnnotations()).as("nothing the operator does not read").isNullOrEmpty();
        assertThat(cached.getType()).isEqualTo("Opaque");
        assertThat(original.getData().get("token")).as("the informer's own object is left alone").isEqualTo("c2VjcmV0");
    }

    @Test
    void aDigestedSecretStillTellsKeysApart() {
        LLMDeployment llmd = withKey();
        Optional<String> one = ApiKeyHash.of(llmd, Optional.of(ApiKeySecrets.digested(secret("c2VjcmV0LTE="))));
        Optional<String> again = ApiKeyHash.of(llmd, Optional.of(ApiKeySecrets.digested(secret("c2VjcmV0LTE="))));
        Optional<String> two = ApiKeyHash.of(llmd, Optional.of(ApiKeySecrets.digested(secret("c2VjcmV0LTI="))));
        assertThat(one).isPresent().isEqualTo(again).isNotEqualTo(two);
    }

    @Test
    void anLLMDeploymentMapsToTheSecretItNamesInItsNamespace() {
        assertThat(ApiKeySecrets.secretOf(Fixtures.llmd())).isEmpty();
        ResourceID secret = ApiKeySecrets.secretOf(withKey()).orElseThrow();
        assertThat(secret).isEqualTo(new ResourceID("chat-key", "llm"));
        assertThat(ApiKeySecrets.indexKey(secret)).isEqualTo(ApiKeySecrets.indexKey(ResourceID.fromResource(secret("x"))));
    }
}
