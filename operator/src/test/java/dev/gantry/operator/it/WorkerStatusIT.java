package dev.gantry.operator.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.api.WorkerResources;
import dev.gantry.operator.desired.ApiKeyHash;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The LLMDeployment's status as the real controllers and scheduler drive the workers through their
 * states, and an operator restart that must change nothing.
 */
class WorkerStatusIT extends OperatorClusterTest {

    @BeforeAll
    static void start() {
        startCluster(WorkerStatusIT.class);
    }

    private Condition awaitCondition(String type, String status) {
        return eventually().until(() -> condition(type).orElse(null),
                c -> c != null && status.equals(c.getStatus()));
    }

    private Pod awaitPod(Predicate<Pod> what) {
        return eventually().until(() -> kubelet.pods(ns, NAME).stream().filter(what).findFirst().orElse(null),
                Objects::nonNull);
    }

    @Test
    void readyOnlyOnceTheWorkersAreReady() {
        create(llmd());
        // Bound by the scheduler, but its container never started: not ready.
        awaitPod(p -> p.getSpec().getNodeName() != null);
        Condition ready = awaitCondition("Ready", "False");
        assertThat(ready.getReason()).isEqualTo("WorkersUnavailable");
        assertThat(awaitCondition("Progressing", "True").getReason()).isEqualTo("RollingOut");
        assertThat(awaitCondition("Degraded", "False").getReason()).isEqualTo("AsExpected");
        LLMDeployment llmd = llmdResource().get();
        assertThat(llmd.getStatus().url).isEqualTo("http://" + NAME + "." + ns + ".svc:" + ServingSpec.DEFAULT_PORT);
        assertThat(llmd.getStatus().readyReplicas).isZero();

        runWorkersUntilAvailable(1);
        ready = awaitCondition("Ready", "True");
        assertThat(ready.getReason()).isEqualTo("WorkersAvailable");
        assertThat(ready.getMessage()).isEqualTo("1 of 1 workers available");
        assertThat(awaitCondition("Progressing", "False").getReason()).isEqualTo("RolloutComplete");
        llmd = llmdResource().get();
        assertThat(llmd.getStatus().readyReplicas).isEqualTo(1);
        assertThat(llmd.getStatus().replicas).isEqualTo(1);
        assertThat(llmd.getStatus().observedGeneration).isEqualTo(1L);
        assertThat(llmd.getStatus().conditions).hasSize(3).allSatisfy(c -> assertThat(c.getObservedGeneration()).isEqualTo(1L));
    }

    @Test
    void aWorkerNoNodeCanTakeIsDegradedUnschedulable() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().resources = new WorkerResources();
        llmd.getSpec().resources.gpus = 1;
        create(llmd);
        // The real scheduler finds no node with nvidia.com/gpu and says so on the pod.
        Condition degraded = awaitCondition("Degraded", "True");
        assertThat(degraded.getReason()).isEqualTo("Unschedulable");
        assertThat(degraded.getMessage()).contains("cannot be scheduled").contains("Insufficient nvidia.com/gpu");
        assertThat(degraded.getObservedGeneration()).isEqualTo(1L);
        assertThat(condition("Ready").orElseThrow().getStatus()).isEqualTo("False");
    }

    @Test
    void aCrashLoopingWorkerIsDegradedUntilItRecovers() {
        create(llmd());
        kubelet.crashLoop(awaitPod(p -> p.getSpec().getNodeName() != null));
        Condition degraded = awaitCondition("Degraded", "True");
        assertThat(degraded.getReason()).isEqualTo("CrashLoopBackOff");
        assertThat(degraded.getMessage()).contains("container worker").contains("last exit code 1 (Error)");
        assertThat(condition("Ready").orElseThrow().getStatus()).isEqualTo("False");

        kubelet.start(kubelet.pods(ns, NAME).getFirst());
        assertThat(awaitCondition("Degraded", "False").getReason()).isEqualTo("AsExpected");
        awaitCondition("Ready", "True");
    }

    @Test
    void aWorkerThatCannotStartSaysWhyFromItsFirstExit() {
        create(llmd());
        Pod pod = awaitPod(p -> p.getSpec().getNodeName() != null);
        String message = "ModelNotFound: model " + MODEL + ": not found on hub: bartowski/SmolLM2-135M-Instruct-GGUF/"
                + "SmolLM2-135M-Instruct-Q8_0.gguf at revision main (HTTP 404 from http://hub.e2e.svc:80)";
        kubelet.exit(pod, 1, message);
        Condition degraded = awaitCondition("Degraded", "True");
        assertThat(degraded.getReason()).isEqualTo("ModelNotFound");
        assertThat(degraded.getMessage()).isEqualTo("pod " + pod.getMetadata().getName()
                + " (of 1): the worker exited with code 1: " + message);

        // Restarted and loading again: still the reason of the last exit, not a clean bill.
        kubelet.restartAfterExit(kubelet.pods(ns, NAME).getFirst(), 1, message);
        eventually().during(java.time.Duration.ofSeconds(2)).until(() -> condition("Degraded").orElseThrow().getReason(),
                "ModelNotFound"::equals);

        // Ready at last (the hub got the file): the exit is history.
        kubelet.start(kubelet.pods(ns, NAME).getFirst());
        assertThat(awaitCondition("Degraded", "False").getReason()).isEqualTo("AsExpected");
    }

    @Test
    void aMissingApiKeySecretIsDegradedUntilItExists() {
        LLMDeployment llmd = llmd();
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        create(llmd);
        Condition degraded = awaitCondition("Degraded", "True");
        assertThat(degraded.getReason()).isEqualTo("ApiKeySecretNotFound");
        assertThat(degraded.getMessage()).contains("Secret chat-key").contains("not found in namespace " + ns);
        assertThat(deploymentResource().get()).as("the workers are still made: they start once the Secret exists").isNotNull();

        client.resource(new SecretBuilder().withNewMetadata().withName("chat-key").withNamespace(ns).endMetadata()
                .addToData("wrong", "eA==").build()).create();
        eventually().until(() -> condition("Degraded").orElseThrow().getReason(), "ApiKeyNotInSecret"::equals);

        client.secrets().inNamespace(ns).withName("chat-key").edit(s -> {
            s.getData().put("token", "eA==");
            return s;
        });
        eventually().until(() -> deploymentResource().get().getSpec().getTemplate().getMetadata().getAnnotations()
                .get(ApiKeyHash.ANNOTATION) != null);
        runWorkersUntilAvailable(1);
        assertThat(awaitCondition("Degraded", "False").getReason()).isEqualTo("AsExpected");
        awaitCondition("Ready", "True");
    }

    @Test
    void aRestartedOperatorConvergesWithoutWritingAnything() throws InterruptedException {
        LLMDeployment llmd = llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.minReplicas = 2;
        llmd.getSpec().autoscaling.maxReplicas = 4;
        create(llmd);
        runWorkersUntilAvailable(1);
        awaitCondition("Ready", "True");
        // Settled: nothing the operator manages changes over a few seconds.
        Map<String, String> settled = eventually().until(this::settledVersions, Objects::nonNull);

        operator.stop();
        int before = reconciles();
        operator = startOperator();
        // The fresh operator reconciles every LLMDeployment once at start...
        eventually().until(() -> reconciles() > before);
        // ...and then, with nothing changed, must neither write nor loop.
        Thread.sleep(Duration.ofSeconds(8));
        assertThat(versions()).isEqualTo(settled);
        assertThat(reconciles() - before).as("reconciles after the restart").isLessThanOrEqualTo(2);

        // Still alive and in charge: a spec change goes through.
        editSpec(l -> {
            l.getSpec().autoscaling.maxReplicas = 5;
            return l;
        });
        eventually().until(() -> client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(ns).withName(NAME).get()
                .getSpec().getMaxReplicas(), n -> n == 5);
    }

    /** The versions of {@link #versions()} if they stay the same for 3s, else null. */
    private Map<String, String> settledVersions() throws InterruptedException {
        Map<String, String> first = versions();
        Thread.sleep(Duration.ofSeconds(3));
        return first.equals(versions()) ? first : null;
    }

    /** resourceVersion of the LLMDeployment and of everything the operator made for it. */
    private Map<String, String> versions() {
        Map<String, String> versions = new LinkedHashMap<>();
        put(versions, llmdResource().get());
        put(versions, deploymentResource().get());
        put(versions, client.services().inNamespace(ns).withName(NAME).get());
        put(versions, client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(ns).withName(NAME).get());
        put(versions, client.policy().v1().podDisruptionBudget().inNamespace(ns).withName(NAME).get());
        return versions;
    }

    private static void put(Map<String, String> versions, HasMetadata object) {
        assertThat(object).isNotNull();
        versions.put(object.getKind(), object.getMetadata().getResourceVersion());
    }
}
