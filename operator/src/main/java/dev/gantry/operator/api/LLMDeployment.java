package dev.gantry.operator.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A served language model: a set of Gantry workers behind one Service, optionally autoscaled.
 *
 * <p>The CRD is generated from this class and the spec/status classes (descriptions come from
 * their {@code @JsonPropertyDescription}s, validation from the fabric8 generator annotations) and
 * committed under {@code crds/}; {@code CrdInSyncTest} keeps the two equal.
 */
@Group(LLMDeployment.GROUP)
@Version(LLMDeployment.VERSION)
@Kind("LLMDeployment")
@Plural("llmdeployments")
@Singular("llmdeployment")
@ShortNames("llmd")
@AdditionalPrinterColumn(name = "Model", jsonPath = ".spec.model.uri", type = Type.STRING)
@AdditionalPrinterColumn(name = "Replicas", jsonPath = ".status.replicas", type = Type.INTEGER)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.readyReplicas", type = Type.INTEGER)
@AdditionalPrinterColumn(name = "URL", jsonPath = ".status.url", type = Type.STRING)
// kubectl only adds Age by itself when a CRD declares no columns at all.
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class LLMDeployment extends CustomResource<LLMDeploymentSpec, LLMDeploymentStatus> implements Namespaced {
    public static final String GROUP = "gantry.dev";
    public static final String VERSION = "v1alpha1";

    @Override
    protected LLMDeploymentStatus initStatus() {
        return new LLMDeploymentStatus();
    }
}
