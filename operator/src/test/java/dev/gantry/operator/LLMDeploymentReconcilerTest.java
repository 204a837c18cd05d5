package dev.gantry.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The reconciler's own logic (the status write); the workflow's is JOSDK's and is covered by ITs. */
class LLMDeploymentReconcilerTest {
    private final LLMDeploymentReconciler reconciler =
            new LLMDeploymentReconciler(Clock.fixed(Instant.parse("2026-01-01T10:00:00Z"), ZoneOffset.UTC));

    private static final Deployment READY = new DeploymentBuilder()
            .withNewMetadata().withName("chat").withNamespace("llm").withGeneration(1L).endMetadata()
            .withNewSpec().withReplicas(1).endSpec()
            .withNewStatus().withObservedGeneration(1L).withReplicas(1).withUpdatedReplicas(1)
            .withReadyReplicas(1).withAvailableReplicas(1).endStatus()
            .build();

    /** A Context that answers the reconciler's two questions from fixed observations. */
    @SuppressWarnings("unchecked")
    private static Context<LLMDeployment> observing(Deployment deployment, Set<Pod> pods) {
        return (Context<LLMDeployment>) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[] {Context.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getSecondaryResource" -> args[0] == Deployment.class ? Optional.ofNullable(deployment) : Optional.empty();
                    case "getSecondaryResources" -> args[0] == Pod.class ? pods : Set.of();
                    // Anything else the reconciler asks is a question this test does not model: fail loudly.
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void writesTheStatusOnceThenNothingUntilSomethingChanges() {
        LLMDeployment llmd = Fixtures.llmd();
        UpdateControl<LLMDeployment> first = reconciler.reconcile(llmd, observing(READY, Set.of()));
        assertThat(first.isPatchStatus()).isTrue();
        assertThat(llmd.getStatus().readyReplicas).isEqualTo(1);

        UpdateControl<LLMDeployment> second = reconciler.reconcile(llmd, observing(READY, Set.of()));
        assertThat(second.isNoUpdate()).as("same observation: no write, no hot loop").isTrue();
    }

    @Test
    void workerPodsMapToTheirLLMDeploymentByInstanceLabel() {
        Pod pod = new PodBuilder().withNewMetadata().withName("chat-7d9c-abcde").withNamespace("llm")
                .addToLabels("app.kubernetes.io/instance", "chat").endMetadata().build();
        assertThat(LLMDeploymentReconciler.ownerOf(pod)).containsExactly(new ResourceID("chat", "llm"));
        Pod stray = new PodBuilder().withNewMetadata().withName("x").withNamespace("llm").endMetadata().build();
        assertThat(LLMDeploymentReconciler.ownerOf(stray)).isEmpty();
    }
}
