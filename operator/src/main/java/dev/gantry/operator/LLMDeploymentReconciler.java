package dev.gantry.operator;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentStatus;
import dev.gantry.operator.dependent.ApiKeySecrets;
import dev.gantry.operator.dependent.AutoscalingEnabled;
import dev.gantry.operator.dependent.IngressEnabled;
import dev.gantry.operator.dependent.MultipleWorkers;
import dev.gantry.operator.dependent.ServiceMonitorCrdPresent;
import dev.gantry.operator.dependent.ServiceMonitorDependent;
import dev.gantry.operator.dependent.WorkerAutoscalerDependent;
import dev.gantry.operator.dependent.WorkerDeploymentDependent;
import dev.gantry.operator.dependent.WorkerDisruptionBudgetDependent;
import dev.gantry.operator.dependent.WorkerIngressDependent;
import dev.gantry.operator.dependent.WorkerServiceDependent;
import dev.gantry.operator.desired.WorkerLabels;
import dev.gantry.operator.status.StatusAggregator;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.quarkiverse.operatorsdk.annotations.RBACRule;
import io.quarkiverse.operatorsdk.annotations.RBACVerbs;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Reconciles an LLMDeployment: the workflow applies the dependents (server-side apply, owner
 * references, deletion of those whose precondition stops holding); this class only writes the
 * status, computed by {@link StatusAggregator} from what the informers observed, and only when it
 * differs from the current one.
 *
 * <p>Outside Quarkus (tests against a real API server), start it with {@link StandaloneOperator}.
 */
@Workflow(dependents = {
        @Dependent(name = LLMDeploymentReconciler.DEPLOYMENT, type = WorkerDeploymentDependent.class),
        @Dependent(name = "service", type = WorkerServiceDependent.class),
        @Dependent(name = "autoscaler", type = WorkerAutoscalerDependent.class,
                reconcilePrecondition = AutoscalingEnabled.class, dependsOn = LLMDeploymentReconciler.DEPLOYMENT),
        @Dependent(name = "disruption-budget", type = WorkerDisruptionBudgetDependent.class,
                reconcilePrecondition = MultipleWorkers.class),
        @Dependent(name = "ingress", type = WorkerIngressDependent.class, reconcilePrecondition = IngressEnabled.class),
        @Dependent(name = "service-monitor", type = ServiceMonitorDependent.class,
                activationCondition = ServiceMonitorCrdPresent.class),
})
// The periodic reconcile picks up what no watched event announces: a ServiceMonitor CRD installed
// later (see ServiceMonitorCrdPresent). Cheap: reads come from the informers' caches, and an
// unchanged status and unchanged dependents write nothing.
@ControllerConfiguration(name = "llmdeployment",
        maxReconciliationInterval = @MaxReconciliationInterval(interval = 10, timeUnit = TimeUnit.MINUTES))
// Beyond the dependents' rules, which quarkus-operator-sdk derives: the pod informer of the status,
// the Secret informer of the API keys (ApiKeySecrets), and ServiceMonitorCrdPresent's look-up of
// the ServiceMonitor CRD.
@RBACRule(apiGroups = "", resources = "pods", verbs = {RBACVerbs.GET, RBACVerbs.LIST, RBACVerbs.WATCH})
@RBACRule(apiGroups = "", resources = "secrets", verbs = {RBACVerbs.GET, RBACVerbs.LIST, RBACVerbs.WATCH})
@RBACRule(apiGroups = "apiextensions.k8s.io", resources = "customresourcedefinitions", verbs = RBACVerbs.GET)
public class LLMDeploymentReconciler implements Reconciler<LLMDeployment> {
    static final String DEPLOYMENT = "deployment";
    static final String WORKER_PODS = "worker-pods";

    private final Clock clock;

    public LLMDeploymentReconciler() {
        this(Clock.systemUTC());
    }

    LLMDeploymentReconciler(Clock clock) {
        this.clock = clock;
    }

    /**
     * Worker pods, watched for the status only (crash loops, unschedulable pods). Pods are owned
     * by ReplicaSets, not by the LLMDeployment, so they map to it through the instance label.
     * And the API keys' Secrets, for the Deployment's {@code ApiKeyHash} and the status.
     */
    @Override
    public List<EventSource<?, LLMDeployment>> prepareEventSources(EventSourceContext<LLMDeployment> context) {
        var config = InformerEventSourceConfiguration.from(Pod.class, LLMDeployment.class)
                .withName(WORKER_PODS)
                .withLabelSelector(WorkerLabels.MANAGED_BY + "=" + WorkerLabels.OPERATOR)
                .withSecondaryToPrimaryMapper(LLMDeploymentReconciler::ownerOf)
                .build();
        return List.of(new InformerEventSource<>(config, context), ApiKeySecrets.eventSource(context));
    }

    static Set<ResourceID> ownerOf(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        String instance = labels == null ? null : labels.get(WorkerLabels.INSTANCE);
        return instance == null ? Set.of() : Set.of(new ResourceID(instance, pod.getMetadata().getNamespace()));
    }

    @Override
    public UpdateControl<LLMDeployment> reconcile(LLMDeployment llmd, Context<LLMDeployment> context) {
        Optional<Deployment> deployment = context.getSecondaryResource(Deployment.class);
        List<Pod> pods = List.copyOf(context.getSecondaryResources(Pod.class));
        Optional<Secret> apiKeySecret = ApiKeySecrets.observed(llmd, context);
        Optional<HorizontalPodAutoscaler> autoscaler = context.getSecondaryResource(HorizontalPodAutoscaler.class);
        LLMDeploymentStatus status = StatusAggregator.aggregate(llmd, deployment, pods, apiKeySecret, autoscaler,
                clock.instant());
        if (status.equals(llmd.getStatus())) {
            return UpdateControl.noUpdate();
        }
        llmd.setStatus(status);
        return UpdateControl.patchStatus(llmd);
    }

    /** A failed reconcile (the API server refused an object, say) shows as Degraded. */
    @Override
    public ErrorStatusUpdateControl<LLMDeployment> updateErrorStatus(LLMDeployment llmd, Context<LLMDeployment> context,
            Exception e) {
        LLMDeploymentStatus status = StatusAggregator.failed(llmd, e, clock.instant());
        if (status.equals(llmd.getStatus())) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        llmd.setStatus(status);
        return ErrorStatusUpdateControl.patchStatus(llmd);
    }
}
