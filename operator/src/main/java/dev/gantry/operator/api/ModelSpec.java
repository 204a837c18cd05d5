package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** Which model the workers load. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.cache) || self.uri.startsWith('hf://')",
        message = "cache holds hf:// downloads; a pvc:// or path model needs none", reason = "FieldValueForbidden")
public class ModelSpec {
    /** The three URI forms; {@code desired.ModelSource} parses what this lets through. */
    public static final String URI_PATTERN = "^(hf://[^/]+/[^/]+/.+|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+|/.+)$";

    @Required
    @Pattern(URI_PATTERN)
    @JsonPropertyDescription("Where the model is: hf://owner/repo/file.gguf (downloaded by each worker into its cache), "
            + "pvc://claim/path/in/claim (a PersistentVolumeClaim mounted read-only), or an absolute path inside the image.")
    public String uri;

    @JsonPropertyDescription("The model name clients send in requests (vLLM's served-model-name); default: the worker's, derived from the model file.")
    public String name;

    @Min(1)
    @JsonPropertyDescription("The longest sequence (prompt plus output) in tokens; default: the model's context length.")
    public Integer maxModelLen;

    @JsonPropertyDescription("A cache of hf:// downloads shared by the workers (a PersistentVolumeClaim); default: "
            + "each worker downloads into an emptyDir of its own.")
    public ModelCacheSpec cache;
}
