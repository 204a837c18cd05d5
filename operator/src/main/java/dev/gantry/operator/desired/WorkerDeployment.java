package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import dev.gantry.operator.api.ModelCacheSpec;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStrategy;
import io.fabric8.kubernetes.api.model.apps.DeploymentStrategyBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The desired Deployment of an LLMDeployment's workers. */
public final class WorkerDeployment {

    private WorkerDeployment() {
    }

    /** The Deployment of an LLMDeployment whose API-key Secret (if it names one) is not known. */
    public static Deployment of(LLMDeployment llmd, OperatorConfig config) {
        return of(llmd, config, Optional.empty());
    }

    /**
     * @param apiKeySecret the Secret of spec.serving.apiKeySecretRef as observed, for
     *     {@link ApiKeyHash}; empty when there is none or it is missing
     */
    public static Deployment of(LLMDeployment llmd, OperatorConfig config, Optional<Secret> apiKeySecret) {
        LLMDeploymentSpec spec = llmd.getSpec();
        List<Volume> volumes = volumes(ModelSource.of(spec.model.uri), spec.model.cache, config);
        Container worker = WorkerContainer.of(llmd, config);
        long drainSeconds = config.drainTimeout().toSeconds();
        long graceSeconds = config.preStopDelay().toSeconds() + drainSeconds + config.terminationGraceMargin().toSeconds();

        return new DeploymentBuilder()
                .withMetadata(WorkerLabels.metadata(llmd))
                .withNewSpec()
                // Under autoscaling the field is left out: with server-side apply the operator then
                // does not own spec.replicas, and the HPA alone sets it.
                .withReplicas(desiredReplicas(spec))
                .withSelector(WorkerLabels.labelSelector(llmd))
                .withStrategy(strategy(spec))
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(WorkerLabels.of(llmd))
                .withAnnotations(podAnnotations(llmd, worker, volumes, ApiKeyHash.of(llmd, apiKeySecret)))
                .endMetadata()
                .withNewSpec()
                .withContainers(worker)
                .withVolumes(volumes)
                .withTerminationGracePeriodSeconds(graceSeconds)
                // Workers need no in-cluster API access and no env var per Service in the namespace.
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .withRunAsUser(config.runAsUser())
                .withFsGroup(config.runAsUser())
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .withNodeSelector(spec.nodeSelector == null || spec.nodeSelector.isEmpty() ? null : spec.nodeSelector)
                .withTolerations(spec.tolerations == null || spec.tolerations.isEmpty() ? null : spec.tolerations)
                .withAffinity(spec.affinity)
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    /** spec.replicas of the Deployment: null (field absent) under autoscaling, else the fixed count (default 1). */
    static Integer desiredReplicas(LLMDeploymentSpec spec) {
        if (spec.autoscaling != null) {
            return null;
        }
        return spec.replicas == null ? 1 : spec.replicas;
    }

    /**
     * GPU workers replace one at a time without a surge: a surge pod would need a spare GPU that a
     * full node pool does not have, and the rollout would hang. CPU workers surge first, so
     * capacity never drops during a rollout.
     */
    static DeploymentStrategy strategy(LLMDeploymentSpec spec) {
        boolean gpus = WorkerContainer.gpusOf(spec.resources) > 0;
        return new DeploymentStrategyBuilder()
                .withType("RollingUpdate")
                .withNewRollingUpdate()
                .withMaxSurge(new IntOrString(gpus ? 0 : 1))
                .withMaxUnavailable(new IntOrString(gpus ? 1 : 0))
                .endRollingUpdate()
                .build();
    }

    static Map<String, String> podAnnotations(LLMDeployment llmd, Container worker, List<Volume> volumes,
            Optional<String> apiKeyHash) {
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put("prometheus.io/scrape", "true");
        annotations.put("prometheus.io/port", String.valueOf(ServingSpec.portOf(llmd.getSpec().serving)));
        annotations.put("prometheus.io/path", WorkerContainer.METRICS_PATH);
        annotations.put(ConfigHash.ANNOTATION, ConfigHash.of(worker, volumes));
        apiKeyHash.ifPresent(hash -> annotations.put(ApiKeyHash.ANNOTATION, hash));
        return annotations;
    }

    /** @param cache spec.model.cache, or null */
    static List<Volume> volumes(ModelSource source, ModelCacheSpec cache, OperatorConfig config) {
        List<Volume> volumes = new ArrayList<>();
        volumes.add(new VolumeBuilder().withName(WorkerContainer.TMP_VOLUME).withNewEmptyDir().endEmptyDir().build());
        if (source.fromClaim()) {
            volumes.add(new VolumeBuilder().withName(WorkerContainer.MODEL_VOLUME)
                    .withNewPersistentVolumeClaim(source.claimName().orElseThrow(), true)
                    .build());
        } else if (cache != null) {
            // Shared and written to: the first worker downloads, the others find the file.
            volumes.add(new VolumeBuilder().withName(WorkerContainer.CACHE_VOLUME)
                    .withNewPersistentVolumeClaim(cache.claimName, false)
                    .build());
        } else {
            volumes.add(new VolumeBuilder().withName(WorkerContainer.CACHE_VOLUME)
                    .withNewEmptyDir()
                    .withSizeLimit(config.modelCacheSizeLimit().map(io.fabric8.kubernetes.api.model.Quantity::new).orElse(null))
                    .endEmptyDir()
                    .build());
        }
        return volumes;
    }
}
