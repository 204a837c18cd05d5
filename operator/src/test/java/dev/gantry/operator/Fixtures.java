package dev.gantry.operator;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import dev.gantry.operator.api.ModelSpec;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.quarkus.runtime.configuration.DurationConverter;
import java.time.Duration;
import java.util.Map;

/** Test inputs: LLMDeployments and operator configs, built as the API server and SmallRye Config would. */
public final class Fixtures {

    private Fixtures() {
    }

    /** An LLMDeployment "chat" in namespace "llm", generation 1, serving the given model URI. */
    public static LLMDeployment llmd(String uri) {
        LLMDeployment llmd = new LLMDeployment();
        llmd.setMetadata(new ObjectMetaBuilder().withName("chat").withNamespace("llm").withGeneration(1L)
                .withUid("3f1c2a9e-0000-4000-8000-000000000001").build());
        LLMDeploymentSpec spec = new LLMDeploymentSpec();
        spec.model = new ModelSpec();
        spec.model.uri = uri;
        llmd.setSpec(spec);
        return llmd;
    }

    public static LLMDeployment llmd() {
        return llmd("hf://bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0.gguf");
    }

    /** The operator config with every default, as the operator sees it with no settings. */
    public static OperatorConfig config() {
        return config(Map.of());
    }

    public static OperatorConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder()
                .withMapping(OperatorConfig.class)
                // Quarkus's converter, so that "30s" reads as it does in the operator.
                .withConverter(Duration.class, 200, new DurationConverter())
                .withSources(new PropertiesConfigSource(properties, "test", 500))
                .build()
                .getConfigMapping(OperatorConfig.class);
    }
}
