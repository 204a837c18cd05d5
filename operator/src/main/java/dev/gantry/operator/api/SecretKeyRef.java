package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;

/** A key of a Secret in the LLMDeployment's namespace. */
public class SecretKeyRef {
    @Required
    @JsonPropertyDescription("The Secret's name.")
    public String name;

    @Required
    @JsonPropertyDescription("The key within the Secret.")
    public String key;

    public SecretKeyRef() {
    }

    public SecretKeyRef(String name, String key) {
        this.name = name;
        this.key = key;
    }
}
