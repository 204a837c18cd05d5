package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * A model cache the workers share: a PersistentVolumeClaim mounted where hf:// downloads land,
 * so that the first worker downloads the model and every later one (a scale-up, a restart, a
 * rolling update) loads it from the claim. Workers take a file lock while they download, so
 * several starting at once download it once.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ModelCacheSpec {

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("The PersistentVolumeClaim, in the LLMDeployment's namespace, that holds the cache: "
            + "ReadWriteMany for workers on several nodes (ReadWriteOnce serves the workers of one node).")
    public String claimName;
}
