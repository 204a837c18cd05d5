package dev.gantry.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerCondition;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AutoscalerConditionTest {
    private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-01-01T10:01:00Z");

    private static LLMDeployment autoscaled() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 3;
        return llmd;
    }

    private static HorizontalPodAutoscalerCondition hpaCondition(String type, String status, String reason, String message) {
        return new HorizontalPodAutoscalerConditionBuilder().withType(type).withStatus(status).withReason(reason)
                .withMessage(message).withLastTransitionTime("2026-01-01T09:00:00Z").build();
    }

    /** An HPA as kube-controller-manager reports it. */
    private static HorizontalPodAutoscaler hpa(int current, int desired, HorizontalPodAutoscalerCondition... conditions) {
        return new HorizontalPodAutoscalerBuilder().withNewMetadata().withName("chat").withNamespace("llm").endMetadata()
                .withNewStatus().withCurrentReplicas(current).withDesiredReplicas(desired).withConditions(conditions)
                .endStatus().build();
    }

    private static Condition of(LLMDeployment llmd, Optional<HorizontalPodAutoscaler> hpa, List<Condition> previous,
            Instant now) {
        return AutoscalerCondition.of(llmd, hpa, previous, 4, now).orElseThrow();
    }

    @Test
    void noConditionWithoutAutoscaling() {
        assertThat(AutoscalerCondition.of(Fixtures.llmd(), Optional.empty(), List.of(), 1, T0)).isEmpty();
    }

    @Test
    void unknownUntilTheHpaExistsAndReports() {
        Condition creating = of(autoscaled(), Optional.empty(), List.of(), T0);
        assertThat(creating.getType()).isEqualTo("Autoscaling");
        assertThat(creating.getStatus()).isEqualTo("Unknown");
        assertThat(creating.getReason()).isEqualTo("Pending");
        assertThat(creating.getMessage()).contains("creating");
        Condition silent = of(autoscaled(), Optional.of(hpa(1, 1)), List.of(), T0);
        assertThat(silent.getStatus()).isEqualTo("Unknown");
        assertThat(silent.getMessage()).contains("not computed");
    }

    @Test
    void activeWithTheCountsAndAnyLimit() {
        Condition c = of(autoscaled(), Optional.of(hpa(2, 3,
                hpaCondition("AbleToScale", "True", "SucceededRescale", "the HPA controller was able to update the target scale to 3"),
                hpaCondition("ScalingActive", "True", "ValidMetricFound",
                        "the HPA was able to successfully calculate a replica count from pods metric vllm:num_requests_waiting"),
                hpaCondition("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count"))),
                List.of(), T0);
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("ValidMetricFound");
        assertThat(c.getMessage()).isEqualTo("2 workers, 3 desired; limited: the desired replica count is more than the maximum replica count");
        assertThat(c.getObservedGeneration()).isEqualTo(4L);
    }

    @Test
    void metricsThatCannotBeReadSayWhyAndThatReplicasAreHeld() {
        String hpaMessage = "the HPA was unable to compute the replica count: unable to get metric vllm:num_requests_waiting: "
                + "unable to fetch metrics from custom metrics API: the server is currently unable to handle the request";
        HorizontalPodAutoscaler failing = hpa(2, 2,
                hpaCondition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
                hpaCondition("ScalingActive", "False", "FailedGetPodsMetric", hpaMessage));
        Condition c = of(autoscaled(), Optional.of(failing), List.of(), T0);
        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo("FailedGetPodsMetric");
        assertThat(c.getMessage()).isEqualTo("HorizontalPodAutoscaler chat: " + hpaMessage + "; replicas held at 2");
    }

    @Test
    void aScaleTheHpaCannotGetComesFirst() {
        Condition c = of(autoscaled(), Optional.of(hpa(0, 0,
                hpaCondition("AbleToScale", "False", "FailedGetScale", "deployments/scale.apps \"chat\" not found"),
                hpaCondition("ScalingActive", "False", "FailedGetPodsMetric", "no pods"))), List.of(), T0);
        assertThat(c.getReason()).isEqualTo("FailedGetScale");
    }

    @Test
    void keepsItsTransitionTimeWhileTheStatusHolds() {
        HorizontalPodAutoscaler failing = hpa(1, 1, hpaCondition("ScalingActive", "False", "FailedGetResourceMetric", "a"));
        Condition first = of(autoscaled(), Optional.of(failing), List.of(), T0);
        HorizontalPodAutoscaler stillFailing = hpa(1, 1, hpaCondition("ScalingActive", "False", "FailedGetPodsMetric", "b"));
        Condition later = of(autoscaled(), Optional.of(stillFailing), List.of(first), T1);
        assertThat(later.getLastTransitionTime()).isEqualTo(first.getLastTransitionTime()).isEqualTo("2026-01-01T10:00:00Z");
        assertThat(later.getReason()).isEqualTo("FailedGetPodsMetric");
        HorizontalPodAutoscaler recovered = hpa(1, 1, hpaCondition("ScalingActive", "True", "ValidMetricFound", "ok"));
        assertThat(of(autoscaled(), Optional.of(recovered), List.of(later), T1).getLastTransitionTime())
                .isEqualTo("2026-01-01T10:01:00Z");
    }
}
