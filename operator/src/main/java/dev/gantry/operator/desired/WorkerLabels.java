package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.Map;
import java.util.stream.Collectors;

/** Names and labels every object of one LLMDeployment shares. */
public final class WorkerLabels {
    public static final String NAME = "app.kubernetes.io/name";
    public static final String INSTANCE = "app.kubernetes.io/instance";
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String WORKER = "gantry-worker";
    public static final String OPERATOR = "gantry-operator";
    /** The worker container's port name: Service, probes and ServiceMonitor refer to it by name. */
    public static final String HTTP_PORT_NAME = "http";

    private WorkerLabels() {
    }

    /** Labels of every managed object and of the worker pods. */
    public static Map<String, String> of(LLMDeployment llmd) {
        return Map.of(NAME, WORKER, INSTANCE, llmd.getMetadata().getName(), MANAGED_BY, OPERATOR);
    }

    /**
     * The labels that pick one LLMDeployment's workers. Without managed-by: a Deployment's
     * selector is immutable, so it holds only what can never change.
     */
    public static Map<String, String> selector(LLMDeployment llmd) {
        return Map.of(NAME, WORKER, INSTANCE, llmd.getMetadata().getName());
    }

    public static LabelSelector labelSelector(LLMDeployment llmd) {
        return new LabelSelectorBuilder().withMatchLabels(selector(llmd)).build();
    }

    /** The selector as a string, as the scale subresource wants it; sorted so it never churns. */
    public static String selectorString(LLMDeployment llmd) {
        return selector(llmd).entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }

    /** Metadata of a managed object: same name and namespace as the LLMDeployment, common labels. */
    public static ObjectMeta metadata(LLMDeployment llmd) {
        return new ObjectMetaBuilder()
                .withName(llmd.getMetadata().getName())
                .withNamespace(llmd.getMetadata().getNamespace())
                .withLabels(of(llmd))
                .build();
    }
}
