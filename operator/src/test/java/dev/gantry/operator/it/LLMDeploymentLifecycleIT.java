package dev.gantry.operator.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.IngressSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.desired.ApiKeyHash;
import dev.gantry.operator.desired.ConfigHash;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the operator makes of an LLMDeployment over its life: create, update, scale, autoscale,
 * expose through an Ingress, roll on a new API key, delete.
 */
class LLMDeploymentLifecycleIT extends OperatorClusterTest {

    @BeforeAll
    static void start() {
        startCluster(LLMDeploymentLifecycleIT.class);
    }

    private HorizontalPodAutoscaler hpa() {
        return client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(ns).withName(NAME).get();
    }

    private PodDisruptionBudget pdb() {
        return client.policy().v1().podDisruptionBudget().inNamespace(ns).withName(NAME).get();
    }

    private Service service() {
        return client.services().inNamespace(ns).withName(NAME).get();
    }

    /** Waits until the operator has written a status for the current generation: the workflow ran. */
    private LLMDeployment reconciled() {
        return eventually().until(() -> llmdResource().get(), l -> l.getStatus() != null
                && l.getMetadata().getGeneration().equals(l.getStatus().observedGeneration));
    }

    private static void assertOwnedBy(HasMetadata owned, LLMDeployment owner) {
        List<OwnerReference> refs = owned.getMetadata().getOwnerReferences();
        assertThat(refs).as(owned.getKind() + " owner references").hasSize(1);
        OwnerReference ref = refs.getFirst();
        assertThat(ref.getKind()).isEqualTo("LLMDeployment");
        assertThat(ref.getApiVersion()).isEqualTo("gantry.dev/v1alpha1");
        assertThat(ref.getName()).isEqualTo(NAME);
        assertThat(ref.getUid()).isEqualTo(owner.getMetadata().getUid());
    }

    @Test
    void createsTheWorkersAndTheirServiceOwnedByTheLLMDeployment() {
        LLMDeployment created = create(llmd());
        reconciled();

        Deployment deployment = deploymentResource().get();
        assertOwnedBy(deployment, created);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
        assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
                .contains(new EnvVar("GANTRY_MODEL", MODEL, null));
        Service service = service();
        assertOwnedBy(service, created);
        assertThat(service.getSpec().getSelector()).isEqualTo(deployment.getSpec().getSelector().getMatchLabels());
        assertThat(service.getSpec().getClusterIP()).as("a real API server allocates the ClusterIP").isNotBlank();

        assertThat(hpa()).as("no autoscaling: no HPA").isNull();
        assertThat(pdb()).as("one worker: no PDB").isNull();
    }

    @Test
    void aNewModelUriRollsTheWorkers() {
        create(llmd());
        runWorkersUntilAvailable(1);
        Deployment before = deploymentResource().get();
        String hashBefore = before.getSpec().getTemplate().getMetadata().getAnnotations().get(ConfigHash.ANNOTATION);
        String oldPod = kubelet.pods(ns, NAME).getFirst().getMetadata().getName();

        String newUri = "hf://bartowski/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf";
        editSpec(l -> {
            l.getSpec().model.uri = newUri;
            return l;
        });

        Deployment after = eventually().until(() -> deploymentResource().get(),
                d -> d.getMetadata().getGeneration() > before.getMetadata().getGeneration());
        var template = after.getSpec().getTemplate();
        assertThat(template.getMetadata().getAnnotations().get(ConfigHash.ANNOTATION)).isNotBlank().isNotEqualTo(hashBefore);
        assertThat(template.getSpec().getContainers().getFirst().getEnv())
                .contains(new EnvVar("GANTRY_MODEL", newUri, null))
                .doesNotContain(new EnvVar("GANTRY_MODEL", MODEL, null));

        // The Deployment controller rolls it out: a new ReplicaSet, the old worker replaced.
        runWorkersUntilAvailable(1);
        assertThat(client.apps().replicaSets().inNamespace(ns).list().getItems()).hasSize(2);
        assertThat(kubelet.pods(ns, NAME)).extracting(p -> p.getMetadata().getName()).doesNotContain(oldPod);
        eventually().until(() -> condition("Ready").filter(c -> "True".equals(c.getStatus())
                && c.getObservedGeneration() == 2L).isPresent());
    }

    @Test
    void theScaleSubresourceScalesTheWorkersAndBringsThePdb() {
        create(llmd());
        runWorkersUntilAvailable(1);

        // As a user would: kubectl scale patches the LLMDeployment's scale subresource.
        plane.kubectl("scale", "llmdeployment/" + NAME, "-n", ns, "--replicas=3");
        assertThat(llmdResource().get().getSpec().replicas).isEqualTo(3);
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 3);
        runWorkersUntilAvailable(3);
        PodDisruptionBudget pdb = eventually().until(this::pdb, p -> p != null);
        assertOwnedBy(pdb, llmdResource().get());
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        LLMDeployment scaled = eventually().until(() -> llmdResource().get(),
                l -> l.getStatus() != null && Integer.valueOf(3).equals(l.getStatus().readyReplicas));
        assertThat(scaled.getStatus().replicas).isEqualTo(3);
        // The scale subresource reads back what the status says.
        assertThat(plane.kubectl("get", "llmdeployment/" + NAME, "-n", ns, "--subresource=scale",
                "-o", "jsonpath={.spec.replicas}/{.status.replicas}/{.status.selector}"))
                .isEqualTo("3/3/" + scaled.getStatus().selector);

        plane.kubectl("scale", "llmdeployment/" + NAME, "-n", ns, "--replicas=1");
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 1);
        eventually().until(() -> pdb() == null);
    }

    @Test
    void underAutoscalingTheHpaAloneOwnsTheReplicas() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 5;
        llmd.getSpec().autoscaling.targetQueueDepth = 3;
        create(llmd);
        reconciled();

        HorizontalPodAutoscaler hpa = hpa();
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(NAME);
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(1);
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(5);
        MetricSpec metric = hpa.getSpec().getMetrics().getFirst();
        assertThat(metric.getType()).isEqualTo("Pods");
        assertThat(metric.getPods().getMetric().getName()).isEqualTo("vllm:num_requests_waiting");
        assertThat(metric.getPods().getTarget().getAverageValue().toString()).isEqualTo("3");

        String fieldManager = operator.getRegisteredController("llmdeployment").orElseThrow().getConfiguration().fieldManager();
        Deployment deployment = deploymentResource().get();
        ManagedFieldsEntry applied = deployment.getMetadata().getManagedFields().stream()
                .filter(m -> fieldManager.equals(m.getManager()) && "Apply".equals(m.getOperation()))
                .findFirst().orElseThrow(() -> new AssertionError("no server-side apply by " + fieldManager));
        Map<String, Object> spec = fields(applied, "f:spec");
        assertThat(spec).containsKey("f:template").doesNotContainKey("f:replicas");

        // Play the HPA: it scales the Deployment through its scale subresource.
        plane.kubectl("scale", "deployment/" + NAME, "-n", ns, "--replicas=4");
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 4);

        // A spec change makes the operator reconcile (and apply the Deployment) again; the HPA's
        // change of maxReplicas shows that it did.
        int reconcilesBefore = reconciles();
        editSpec(l -> {
            l.getSpec().autoscaling.maxReplicas = 6;
            return l;
        });
        eventually().until(() -> hpa().getSpec().getMaxReplicas(), n -> n == 6);
        eventually().until(() -> reconciles() > reconcilesBefore);
        reconciled();
        assertThat(deploymentResource().get().getSpec().getReplicas()).as("the operator must not revert the HPA's count")
                .isEqualTo(4);
        assertThat(pdb()).as("minReplicas 1: no PDB").isNull();

        // Back to a fixed count: the HPA goes, and the operator sets spec.replicas again.
        editSpec(l -> {
            l.getSpec().autoscaling = null;
            l.getSpec().replicas = 2;
            return l;
        });
        eventually().until(() -> hpa() == null);
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 2);
    }

    /**
     * From a fixed count to autoscaling: the workers stay as many as they were until the HPA says
     * otherwise. Server-side apply drops a field its manager stops sending; without a hand-over,
     * spec.replicas would fall back to the Deployment's default of 1 before the HPA ever ran.
     */
    @Test
    void turningAutoscalingOnKeepsTheWorkersThereAre() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().replicas = 3;
        create(llmd);
        reconciled();
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 3);

        editSpec(l -> {
            l.getSpec().replicas = null;
            l.getSpec().autoscaling = new AutoscalingSpec();
            l.getSpec().autoscaling.maxReplicas = 5;
            return l;
        });
        eventually().until(() -> hpa() != null);
        reconciled();
        // Another spec change: another apply of the Deployment, still without spec.replicas.
        editSpec(l -> {
            l.getSpec().autoscaling.maxReplicas = 4;
            return l;
        });
        eventually().until(() -> hpa().getSpec().getMaxReplicas(), n -> n == 4);
        reconciled();
        Deployment deployment = deploymentResource().get();
        assertThat(deployment.getSpec().getReplicas()).as("replicas after autoscaling was turned on").isEqualTo(3);
        String fieldManager = operator.getRegisteredController("llmdeployment").orElseThrow().getConfiguration().fieldManager();
        assertThat(deployment.getMetadata().getManagedFields().stream()
                .filter(m -> fieldManager.equals(m.getManager()))
                .map(m -> fields(m, "f:spec")))
                .as("the operator no longer owns spec.replicas")
                .allSatisfy(spec -> assertThat(spec).doesNotContainKey("f:replicas"));

        // The HPA (played here) then scales as it likes, and the operator leaves it be.
        plane.kubectl("scale", "deployment/" + NAME, "-n", ns, "--replicas=2");
        eventually().until(() -> deploymentResource().get().getSpec().getReplicas(), n -> n == 2);
        editSpec(l -> {
            l.getSpec().autoscaling.maxReplicas = 6;
            return l;
        });
        eventually().until(() -> hpa().getSpec().getMaxReplicas(), n -> n == 6);
        reconciled();
        assertThat(deploymentResource().get().getSpec().getReplicas()).isEqualTo(2);
    }

    @Test
    void anIngressFollowsSpecIngressAndGoesWithIt() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().ingress = new IngressSpec();
        llmd.getSpec().ingress.host = "chat.example.com";
        llmd.getSpec().ingress.className = "nginx";
        llmd.getSpec().ingress.annotations = Map.of("nginx.ingress.kubernetes.io/proxy-read-timeout", "600");
        llmd.getSpec().ingress.tls = new IngressSpec.Tls("chat-tls");
        LLMDeployment created = create(llmd);

        Ingress ingress = eventually().until(this::ingress, i -> i != null);
        assertOwnedBy(ingress, created);
        assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
        assertThat(ingress.getMetadata().getAnnotations()).containsEntry("nginx.ingress.kubernetes.io/proxy-read-timeout", "600");
        var rule = ingress.getSpec().getRules().getFirst();
        assertThat(rule.getHost()).isEqualTo("chat.example.com");
        var path = rule.getHttp().getPaths().getFirst();
        assertThat(path.getPath()).as("the CRD's default").isEqualTo("/");
        assertThat(path.getPathType()).isEqualTo("Prefix");
        assertThat(path.getBackend().getService().getName()).isEqualTo(NAME);
        assertThat(path.getBackend().getService().getPort().getNumber()).isEqualTo(ServingSpec.DEFAULT_PORT);
        assertThat(ingress.getSpec().getTls().getFirst().getSecretName()).isEqualTo("chat-tls");
        eventually().until(() -> llmdResource().get().getStatus(), s -> s != null && "https://chat.example.com/".equals(s.url));

        // A new host moves the Ingress and the URL.
        editSpec(l -> {
            l.getSpec().ingress.host = "llm.example.com";
            l.getSpec().ingress.tls = null;
            return l;
        });
        eventually().until(() -> ingress().getSpec().getRules().getFirst().getHost(), "llm.example.com"::equals);
        eventually().until(() -> llmdResource().get().getStatus().url, "http://llm.example.com/"::equals);
        assertThat(ingress().getSpec().getTls()).isNullOrEmpty();

        // Without spec.ingress the Ingress goes, and the URL is the Service's again.
        editSpec(l -> {
            l.getSpec().ingress = null;
            return l;
        });
        eventually().until(() -> ingress() == null);
        eventually().until(() -> llmdResource().get().getStatus().url,
                ("http://" + NAME + "." + ns + ".svc:" + ServingSpec.DEFAULT_PORT)::equals);
        assertThat(service()).as("the Service stays").isNotNull();
    }

    @Test
    void aNewApiKeyInTheSecretRollsTheWorkers() {
        client.resource(apiKeySecret("key-1")).create();
        LLMDeployment llmd = llmd();
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        create(llmd);
        runWorkersUntilAvailable(1);
        String first = eventually().until(this::apiKeyHash, h -> h != null);
        String configHash = templateAnnotation(ConfigHash.ANNOTATION);
        long generation = llmdResource().get().getMetadata().getGeneration();

        // Only the Secret changes, as a key rotation does.
        client.resource(apiKeySecret("key-2")).update();
        String second = eventually().until(this::apiKeyHash, h -> h != null && !h.equals(first));
        assertThat(templateAnnotation(ConfigHash.ANNOTATION)).as("the rest of the configuration is as it was").isEqualTo(configHash);
        assertThat(llmdResource().get().getMetadata().getGeneration()).as("the LLMDeployment is untouched").isEqualTo(generation);
        // The Deployment controller rolls the workers onto the new template.
        runWorkersUntilAvailable(1);
        assertThat(client.apps().replicaSets().inNamespace(ns).list().getItems()).hasSize(2);

        // A change to another key of the Secret, or to another Secret, rolls nothing.
        long rolled = deploymentResource().get().getMetadata().getGeneration();
        int before = reconciles();
        Secret other = apiKeySecret("key-3");
        other.getMetadata().setName("other-key");
        client.resource(other).create();
        Secret withMore = apiKeySecret("key-2");
        withMore.getData().put("unrelated", "eA==");
        client.resource(withMore).update();
        // The update maps to this LLMDeployment: reconciled, and nothing to apply.
        eventually().until(() -> reconciles() > before);
        assertThat(apiKeyHash()).isEqualTo(second);
        assertThat(deploymentResource().get().getMetadata().getGeneration()).isEqualTo(rolled);
    }

    private Secret apiKeySecret(String key) {
        return new SecretBuilder().withNewMetadata().withName("chat-key").withNamespace(ns).endMetadata()
                .withType("Opaque").withData(new java.util.HashMap<>(Map.of("token",
                        Base64.getEncoder().encodeToString(key.getBytes(StandardCharsets.UTF_8))))).build();
    }

    private String apiKeyHash() {
        return templateAnnotation(ApiKeyHash.ANNOTATION);
    }

    private String templateAnnotation(String name) {
        Deployment d = deploymentResource().get();
        return d == null ? null : d.getSpec().getTemplate().getMetadata().getAnnotations().get(name);
    }

    private Ingress ingress() {
        return client.network().v1().ingresses().inNamespace(ns).withName(NAME).get();
    }

    @Test
    void deletingTheLLMDeploymentGarbageCollectsAllItOwned() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.minReplicas = 2;
        llmd.getSpec().autoscaling.maxReplicas = 3;
        create(llmd);
        // One worker: the HPA controller (which would raise it to minReplicas) does not run here.
        runWorkersUntilAvailable(1);
        assertThat(hpa()).isNotNull();
        assertThat(pdb()).isNotNull();
        assertThat(service()).isNotNull();

        llmdResource().delete();
        // The operator uses no finalizer: the LLMDeployment goes at once, the controller manager's
        // garbage collector then deletes its dependents, theirs (ReplicaSets, pods) in turn.
        eventually().until(() -> {
            kubelet.finishTerminations(ns);
            return llmdResource().get() == null && deploymentResource().get() == null && service() == null
                    && hpa() == null && pdb() == null
                    && client.apps().replicaSets().inNamespace(ns).list().getItems().isEmpty()
                    && client.pods().inNamespace(ns).list().getItems().isEmpty();
        });
    }

    /** A field set of a managedFields entry, e.g. "f:spec" of the Deployment. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> fields(ManagedFieldsEntry entry, String key) {
        Map<String, Object> root = (Map<String, Object>) (Map<?, ?>) entry.getFieldsV1().getAdditionalProperties();
        Object value = root.get(key);
        assertThat(value).as(key + " in the managed fields of " + entry.getManager()).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }
}
