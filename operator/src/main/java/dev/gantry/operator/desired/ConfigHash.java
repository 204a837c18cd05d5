package dev.gantry.operator.desired;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * A digest of what configures a worker (image, arguments, environment, model volumes), put on the
 * pod template as {@link #ANNOTATION}. Any change to it changes the template and so rolls the
 * workers; the annotation makes the rollout's cause visible ({@code kubectl rollout history}
 * compares hashes), and it stays put for changes that must not restart a loaded model, such as
 * the replica count.
 */
public final class ConfigHash {
    public static final String ANNOTATION = "gantry.dev/config-hash";

    private ConfigHash() {
    }

    public static String of(Container worker, List<Volume> volumes) {
        // fabric8 model classes serialize with a fixed property order, so equal inputs hash equally.
        // (A list that allows nulls: args are null when the spec sets none.)
        String canonical = Serialization.asJson(Arrays.asList(
                worker.getImage(), worker.getArgs(), worker.getEnv(), volumes));
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
