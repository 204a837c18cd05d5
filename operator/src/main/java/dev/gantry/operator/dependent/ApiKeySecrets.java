package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.desired.ApiKeyHash;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Secrets that LLMDeployments take their API key from, watched so that a new key rolls the
 * workers ({@link ApiKeyHash}) and a missing one shows in the status. Secrets are not owned and
 * carry no Gantry label, so the informer sees the namespace's Secrets and maps each, through an
 * index of the LLMDeployments by the Secret they name, to those that use it.
 *
 * <p>What it holds is kept small: Helm release and service-account token Secrets (the big and
 * the many) are not even listed, and the cache keeps, of each other Secret, its metadata and a
 * SHA-256 of each value instead of the value. The operator so never holds the keys themselves.
 */
public final class ApiKeySecrets {
    public static final String EVENT_SOURCE = "api-key-secrets";
    static final String INDEX = "api-key-secret";
    /** Types never used for an API key, and the bulk of a cluster's Secrets. */
    static final List<String> UNWATCHED_TYPES = List.of("helm.sh/release.v1", "kubernetes.io/service-account-token");

    private ApiKeySecrets() {
    }

    public static InformerEventSource<Secret, LLMDeployment> eventSource(EventSourceContext<LLMDeployment> context) {
        context.getPrimaryCache().addIndexer(INDEX, llmd -> secretOf(llmd).map(ApiKeySecrets::indexKey).stream().toList());
        var config = InformerEventSourceConfiguration.from(Secret.class, LLMDeployment.class)
                .withName(EVENT_SOURCE)
                .withFieldSelector(new FieldSelector(UNWATCHED_TYPES.stream()
                        .map(type -> new FieldSelector.Field("type", type, true)).toList()))
                .withSecondaryToPrimaryMapper(secret -> context.getPrimaryCache()
                        .byIndex(INDEX, indexKey(ResourceID.fromResource(secret))).stream()
                        .map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
                // Also the other way: an LLMDeployment created after its Secret finds it, though the
                // Secret's last event mapped it to nobody.
                .withPrimaryToSecondaryMapper((LLMDeployment llmd) -> secretOf(llmd).map(Set::of).orElse(Set.of()));
        if (singleInformer(context)) {
            config.withItemStore(new TransformingItemStore<>(ApiKeySecrets::digested));
        }
        return new InformerEventSource<>(config.build(), context);
    }

    /** The referenced Secret as the cache holds it; empty when there is no reference or no such Secret. */
    public static Optional<Secret> observed(LLMDeployment llmd, Context<LLMDeployment> context) {
        if (secretOf(llmd).isEmpty()) {
            return Optional.empty();
        }
        return context.getSecondaryResource(Secret.class, EVENT_SOURCE);
    }

    static Optional<ResourceID> secretOf(LLMDeployment llmd) {
        return ApiKeyHash.ref(llmd).map((SecretKeyRef ref) -> new ResourceID(ref.name, llmd.getMetadata().getNamespace()));
    }

    static String indexKey(ResourceID secret) {
        return secret.getNamespace().orElse("") + "/" + secret.getName();
    }

    /**
     * JOSDK gives every namespace's informer of an event source the same item store, and an
     * informer that relists drops from its store what it did not list: a store shared by several
     * would lose the other namespaces' Secrets. So digests only where one informer watches (all
     * namespaces, or one); with several watched namespaces the cache keeps whole Secrets.
     */
    static boolean singleInformer(EventSourceContext<LLMDeployment> context) {
        return context.getControllerConfiguration().getInformerConfig().getNamespaces().size() == 1;
    }

    /**
     * What the cache keeps of a Secret: a copy (the informer hands the original to the event
     * handlers too) with name, namespace, resource version and type, and each value's SHA-256.
     */
    static Secret digested(Secret secret) {
        Map<String, String> digests = null;
        if (secret.getData() != null) {
            digests = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : secret.getData().entrySet()) {
                digests.put(e.getKey(), e.getValue() == null ? null : ApiKeyHash.sha256(e.getValue()));
            }
        }
        return new SecretBuilder()
                .withMetadata(new ObjectMetaBuilder()
                        .withName(secret.getMetadata().getName())
                        .withNamespace(secret.getMetadata().getNamespace())
                        .withResourceVersion(secret.getMetadata().getResourceVersion())
                        .withUid(secret.getMetadata().getUid())
                        .build())
                .withType(secret.getType())
                .withData(digests)
                .build();
    }
}
