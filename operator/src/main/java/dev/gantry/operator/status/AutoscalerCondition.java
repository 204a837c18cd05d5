package dev.gantry.operator.status;

import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerCondition;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The {@code Autoscaling} condition of an autoscaled LLMDeployment: whether its
 * HorizontalPodAutoscaler can read its metrics and set the replica count, in the HPA's own reason
 * and message. When it cannot (adapter or metrics-server down, a metric missing), the HPA holds
 * the replicas where they are and so does the operator, which never writes spec.replicas under
 * autoscaling; this condition is how a user learns that scaling has stopped.
 */
final class AutoscalerCondition {
    /** Reason while the HPA does not exist yet or has not reported. */
    static final String PENDING = "Pending";

    private AutoscalerCondition() {
    }

    /** Empty when the spec has no autoscaling (no condition at all then). */
    static Optional<Condition> of(LLMDeployment llmd, Optional<HorizontalPodAutoscaler> hpa, List<Condition> previous,
            long generation, Instant now) {
        if (llmd.getSpec().autoscaling == null) {
            return Optional.empty();
        }
        String name = llmd.getMetadata().getName();
        HorizontalPodAutoscalerStatus status = hpa.map(HorizontalPodAutoscaler::getStatus).orElse(null);
        List<HorizontalPodAutoscalerCondition> conditions = status == null || status.getConditions() == null
                ? List.of() : status.getConditions();
        if (hpa.isEmpty() || conditions.isEmpty()) {
            String message = hpa.isEmpty() ? "creating the HorizontalPodAutoscaler"
                    : "the HorizontalPodAutoscaler has not computed a replica count yet";
            return Optional.of(StatusAggregator.condition(previous, ConditionType.AUTOSCALING, "Unknown", PENDING,
                    message, generation, now));
        }
        String held = "; replicas held at " + count(status.getCurrentReplicas());
        Optional<HorizontalPodAutoscalerCondition> failing = find(conditions, "AbleToScale", "False")
                .or(() -> find(conditions, "ScalingActive", "False"));
        if (failing.isPresent()) {
            HorizontalPodAutoscalerCondition c = failing.get();
            return Optional.of(StatusAggregator.condition(previous, ConditionType.AUTOSCALING, "False", c.getReason(),
                    "HorizontalPodAutoscaler " + name + ": " + c.getMessage() + held, generation, now));
        }
        String reason = find(conditions, "ScalingActive", "True").map(HorizontalPodAutoscalerCondition::getReason)
                .orElse("ScalingActive");
        String message = count(status.getCurrentReplicas()) + " workers, " + count(status.getDesiredReplicas())
                + " desired"
                + find(conditions, "ScalingLimited", "True").map(c -> "; limited: " + c.getMessage()).orElse("");
        return Optional.of(StatusAggregator.condition(previous, ConditionType.AUTOSCALING, "True", reason, message,
                generation, now));
    }

    private static Optional<HorizontalPodAutoscalerCondition> find(List<HorizontalPodAutoscalerCondition> conditions,
            String type, String status) {
        return conditions.stream().filter(c -> type.equals(c.getType()) && status.equals(c.getStatus())).findFirst();
    }

    private static int count(Integer n) {
        return n == null ? 0 : n;
    }
}
