package dev.gantry.operator.status;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import dev.gantry.operator.api.LLMDeploymentStatus;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.desired.ApiKeyHash;
import dev.gantry.operator.desired.WorkerIngress;
import dev.gantry.operator.desired.WorkerLabels;
import dev.gantry.operator.desired.WorkerService;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentCondition;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The one place an LLMDeployment's status is computed: a pure function of the resource (its
 * generation, spec and previous status), the observed worker Deployment, the worker pods, the API
 * key's Secret, the HorizontalPodAutoscaler and the time. Same inputs, equal status, so the reconciler writes only real changes; a condition keeps
 * its lastTransitionTime until its status flips, so reason or message updates cause no churn.
 */
public final class StatusAggregator {
    /** Degraded reason: the Secret of spec.serving.apiKeySecretRef does not exist. */
    public static final String API_KEY_SECRET_NOT_FOUND = "ApiKeySecretNotFound";
    /** Degraded reason: that Secret exists but lacks the key. */
    public static final String API_KEY_NOT_IN_SECRET = "ApiKeyNotInSecret";

    private StatusAggregator() {
    }

    /**
     * @param apiKeySecret the Secret spec.serving.apiKeySecretRef names, as observed; empty when
     *     there is no reference or no such Secret
     */
    public static LLMDeploymentStatus aggregate(LLMDeployment llmd, Optional<Deployment> deployment, List<Pod> pods,
            Optional<Secret> apiKeySecret, Instant now) {
        return aggregate(llmd, deployment, pods, apiKeySecret, Optional.empty(), now);
    }

    /**
     * @param autoscaler the workers' HorizontalPodAutoscaler as observed (for the
     *     {@link ConditionType#AUTOSCALING} condition of autoscaled LLMDeployments)
     */
    public static LLMDeploymentStatus aggregate(LLMDeployment llmd, Optional<Deployment> deployment, List<Pod> pods,
            Optional<Secret> apiKeySecret, Optional<HorizontalPodAutoscaler> autoscaler, Instant now) {
        long generation = llmd.getMetadata().getGeneration() == null ? 0 : llmd.getMetadata().getGeneration();
        DeploymentStatus observed = deployment.map(Deployment::getStatus).orElse(null);
        int replicas = count(observed == null ? null : observed.getReplicas());
        int ready = count(observed == null ? null : observed.getReadyReplicas());
        int available = count(observed == null ? null : observed.getAvailableReplicas());
        int updated = count(observed == null ? null : observed.getUpdatedReplicas());
        int desired = desiredReplicas(llmd.getSpec(), deployment);
        boolean caughtUp = deployment.isPresent() && observed != null && observed.getObservedGeneration() != null
                && Objects.equals(observed.getObservedGeneration(), deployment.get().getMetadata().getGeneration());
        boolean rolledOut = caughtUp && updated >= desired && replicas == updated && available >= desired;

        // The missing key first: the pods only say CreateContainerConfigError, this says what to create.
        Optional<WorkerProblems.Problem> problem = apiKeyProblem(llmd, apiKeySecret);
        if (problem.isEmpty()) {
            problem = WorkerProblems.find(pods);
        }
        if (problem.isEmpty()) {
            problem = progressDeadlineExceeded(observed);
        }

        List<Condition> previous = llmd.getStatus() == null ? List.of() : llmd.getStatus().conditions;
        List<Condition> conditions = new ArrayList<>(4);
        if (deployment.isEmpty()) {
            conditions.add(condition(previous, ConditionType.READY, false, "Creating", "creating the worker Deployment", generation, now));
            conditions.add(condition(previous, ConditionType.PROGRESSING, true, "Creating", "creating the worker Deployment", generation, now));
        } else if (desired == 0) {
            conditions.add(condition(previous, ConditionType.READY, false, "ScaledToZero", "no workers are wanted", generation, now));
            conditions.add(condition(previous, ConditionType.PROGRESSING, !rolledOut, rolledOut ? "ScaledToZero" : "ScalingDown",
                    replicas + " workers left to stop", generation, now));
        } else if (rolledOut) {
            String message = available + " of " + desired + " workers available";
            conditions.add(condition(previous, ConditionType.READY, true, "WorkersAvailable", message, generation, now));
            conditions.add(condition(previous, ConditionType.PROGRESSING, false, "RolloutComplete", message, generation, now));
        } else {
            String message = !caughtUp ? "the Deployment controller has not yet seen the latest worker spec"
                    : updated + " of " + desired + " workers updated, " + available + " available";
            conditions.add(condition(previous, ConditionType.READY, false, "WorkersUnavailable", message, generation, now));
            conditions.add(condition(previous, ConditionType.PROGRESSING, true, "RollingOut", message, generation, now));
        }
        conditions.add(problem
                .map(p -> condition(previous, ConditionType.DEGRADED, true, p.reason(), p.message(), generation, now))
                .orElseGet(() -> condition(previous, ConditionType.DEGRADED, false, "AsExpected", "no worker problems seen", generation, now)));
        AutoscalerCondition.of(llmd, autoscaler, previous, generation, now).ifPresent(conditions::add);

        LLMDeploymentStatus status = new LLMDeploymentStatus();
        status.conditions = conditions;
        status.replicas = replicas;
        status.readyReplicas = ready;
        status.url = url(llmd);
        status.observedGeneration = generation;
        status.selector = WorkerLabels.selectorString(llmd);
        return status;
    }

    /**
     * The status after a failed reconcile: Degraded with the error, everything else as it was (what
     * was last observed is still the best knowledge of the workers).
     */
    public static LLMDeploymentStatus failed(LLMDeployment llmd, Exception error, Instant now) {
        long generation = llmd.getMetadata().getGeneration() == null ? 0 : llmd.getMetadata().getGeneration();
        LLMDeploymentStatus old = llmd.getStatus() == null ? new LLMDeploymentStatus() : llmd.getStatus();
        LLMDeploymentStatus status = new LLMDeploymentStatus();
        status.conditions = new ArrayList<>(old.conditions.stream()
                .filter(c -> !ConditionType.DEGRADED.equals(c.getType())).toList());
        String message = describe(error);
        status.conditions.add(condition(old.conditions, ConditionType.DEGRADED, true, "ReconcileFailed",
                message, generation, now));
        status.replicas = old.replicas;
        status.readyReplicas = old.readyReplicas;
        status.url = url(llmd);
        status.observedGeneration = old.observedGeneration;
        status.selector = WorkerLabels.selectorString(llmd);
        return status;
    }

    /**
     * One line per failed dependent ("ingress: ..."), without the stack traces JOSDK's aggregated
     * message carries, which would make the condition unreadable.
     */
    static String describe(Exception error) {
        if (error instanceof AggregatedOperatorException aggregated && !aggregated.getAggregatedExceptions().isEmpty()) {
            return new TreeMap<>(aggregated.getAggregatedExceptions()).entrySet().stream()
                    .map(e -> e.getKey() + ": " + messageOf(e.getValue()))
                    .collect(Collectors.joining("; "));
        }
        return messageOf(error);
    }

    private static String messageOf(Throwable error) {
        return error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
    }

    /** Where clients reach the API: the Ingress URL when the Ingress names a host, else the Service's. */
    static String url(LLMDeployment llmd) {
        return WorkerIngress.url(llmd).orElseGet(() -> WorkerService.url(llmd));
    }

    /** The API key's Secret or key is missing: no worker can start until it exists. */
    static Optional<WorkerProblems.Problem> apiKeyProblem(LLMDeployment llmd, Optional<Secret> secret) {
        Optional<SecretKeyRef> ref = ApiKeyHash.ref(llmd);
        if (ref.isEmpty()) {
            return Optional.empty();
        }
        String name = ref.get().name;
        String namespace = llmd.getMetadata().getNamespace();
        if (secret.isEmpty()) {
            return Optional.of(new WorkerProblems.Problem(API_KEY_SECRET_NOT_FOUND, "Secret " + name
                    + " (spec.serving.apiKeySecretRef) not found in namespace " + namespace
                    + ": the workers cannot start without their API key"));
        }
        Map<String, String> data = secret.get().getData();
        if (data == null || !data.containsKey(ref.get().key)) {
            return Optional.of(new WorkerProblems.Problem(API_KEY_NOT_IN_SECRET, "Secret " + name + " in namespace "
                    + namespace + " has no key " + ref.get().key + " (spec.serving.apiKeySecretRef.key)"
                    + (data == null || data.isEmpty() ? "; it has no keys" : "; it has " + String.join(", ",
                            new TreeSet<>(data.keySet())))));
        }
        return Optional.empty();
    }

    /**
     * How many workers should be up: the fixed count, or under autoscaling what the HPA last set on
     * the Deployment (the operator leaves that field to it), else the minimum.
     */
    static int desiredReplicas(LLMDeploymentSpec spec, Optional<Deployment> deployment) {
        if (spec.autoscaling == null) {
            return spec.replicas == null ? 1 : spec.replicas;
        }
        Integer scaled = deployment.map(d -> d.getSpec() == null ? null : d.getSpec().getReplicas()).orElse(null);
        if (scaled != null) {
            return scaled;
        }
        return spec.autoscaling.minReplicas == null ? 1 : spec.autoscaling.minReplicas;
    }

    private static Optional<WorkerProblems.Problem> progressDeadlineExceeded(DeploymentStatus observed) {
        if (observed == null || observed.getConditions() == null) {
            return Optional.empty();
        }
        return observed.getConditions().stream()
                .filter((DeploymentCondition c) -> "Progressing".equals(c.getType()) && "False".equals(c.getStatus())
                        && "ProgressDeadlineExceeded".equals(c.getReason()))
                .findFirst()
                .map(c -> new WorkerProblems.Problem("ProgressDeadlineExceeded", c.getMessage()));
    }

    /** A condition; it keeps the previous lastTransitionTime when its status did not change. */
    static Condition condition(List<Condition> previous, String type, boolean status, String reason, String message,
            long generation, Instant now) {
        return condition(previous, type, status ? "True" : "False", reason, message, generation, now);
    }

    /** The same with the status as a string, for conditions that can be Unknown. */
    static Condition condition(List<Condition> previous, String type, String value, String reason, String message,
            long generation, Instant now) {
        String since = previous.stream()
                .filter(c -> type.equals(c.getType()) && value.equals(c.getStatus()) && c.getLastTransitionTime() != null)
                .map(Condition::getLastTransitionTime)
                .findFirst()
                // Whole seconds: metav1.Time has no more precision, and a finer value would differ
                // from what the server echoes back.
                .orElseGet(() -> now.truncatedTo(ChronoUnit.SECONDS).toString());
        return new ConditionBuilder()
                .withType(type)
                .withStatus(value)
                .withReason(reason)
                .withMessage(message)
                .withObservedGeneration(generation)
                .withLastTransitionTime(since)
                .build();
    }

    private static int count(Integer n) {
        return n == null ? 0 : n;
    }
}
