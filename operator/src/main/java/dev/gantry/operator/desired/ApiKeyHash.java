package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.SecretKeyRef;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * A digest of the API key the workers read from spec.serving.apiKeySecretRef, put on the pod
 * template as {@link #ANNOTATION}. The workers read the key once, from their environment, at
 * start; a new value in the Secret changes the digest, so the template, so the workers roll
 * (the Helm {@code checksum/secret} and Reloader way). The LLMDeployment itself does not change.
 *
 * <p>Only a truncated SHA-256 is shown on the pods: it tells versions apart without giving away
 * a real key (a guessable key is weak whatever is published about it).
 */
public final class ApiKeyHash {
    public static final String ANNOTATION = "gantry.dev/api-key-hash";

    private ApiKeyHash() {
    }

    /** The Secret key the workers' API key comes from, when there is one. */
    public static Optional<SecretKeyRef> ref(LLMDeployment llmd) {
        var serving = llmd.getSpec().serving;
        if (serving == null || serving.apiKeySecretRef == null || serving.apiKeySecretRef.name == null
                || serving.apiKeySecretRef.key == null) {
            return Optional.empty();
        }
        return Optional.of(serving.apiKeySecretRef);
    }

    /**
     * The annotation's value: empty without an API key, and when the Secret or its key is missing
     * (the status says so; the pods cannot start without it either way).
     *
     * @param secret the referenced Secret as observed: its {@code data} values, base64 as the API
     *     server gives them or digested by the operator's Secret cache; both change exactly when
     *     the value does
     */
    public static Optional<String> of(LLMDeployment llmd, Optional<Secret> secret) {
        Optional<SecretKeyRef> ref = ref(llmd);
        if (ref.isEmpty() || secret.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> data = secret.get().getData();
        String value = data == null ? null : data.get(ref.get().key);
        return value == null ? Optional.empty() : Optional.of(sha256(value).substring(0, 16));
    }

    /** The SHA-256 of a string, as hex. */
    public static String sha256(String value) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
