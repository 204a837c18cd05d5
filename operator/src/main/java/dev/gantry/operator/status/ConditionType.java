package dev.gantry.operator.status;

/** The condition types of an LLMDeployment's status, following Kubernetes' Deployment conventions. */
public final class ConditionType {
    /** Every desired worker is up to date and available: the URL serves. */
    public static final String READY = "Ready";
    /** A rollout or scale-up is under way. */
    public static final String PROGRESSING = "Progressing";
    /** Something needs a human: workers crash, cannot pull their image, or cannot be scheduled. */
    public static final String DEGRADED = "Degraded";
    /**
     * Autoscaled LLMDeployments only: the HorizontalPodAutoscaler reads its metrics and sets the
     * replica count (False with the HPA's reason and message when it cannot).
     */
    public static final String AUTOSCALING = "Autoscaling";

    private ConditionType() {
    }
}
