package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.api.WorkerResources;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The worker container of the pod template: image, environment, probes, resources, hardening. */
public final class WorkerContainer {
    public static final String NAME = "worker";
    public static final String READY_PATH = "/health/ready";
    public static final String LIVE_PATH = "/health/live";
    public static final String METRICS_PATH = "/metrics";
    static final String TMP_VOLUME = "tmp";
    static final String CACHE_VOLUME = "model-cache";
    static final String MODEL_VOLUME = "model";

    private WorkerContainer() {
    }

    public static Container of(LLMDeployment llmd, OperatorConfig config) {
        LLMDeploymentSpec spec = llmd.getSpec();
        int port = ServingSpec.portOf(spec.serving);
        ModelSource source = ModelSource.of(spec.model.uri);
        OperatorConfig.Probes probes = config.probes();
        return new ContainerBuilder()
                .withName(NAME)
                .withImage(imageOf(llmd, config))
                .withImagePullPolicy(config.imagePullPolicy())
                .withArgs(spec.engine == null || spec.engine.args == null || spec.engine.args.isEmpty() ? null : spec.engine.args)
                .withEnv(WorkerEnvironment.of(llmd, config))
                .addNewPort().withName(WorkerLabels.HTTP_PORT_NAME).withContainerPort(port).withProtocol("TCP").endPort()
                // Startup and readiness share /health/ready: the worker is ready once the model is
                // loaded. The startup probe holds off liveness until then (downloads take minutes).
                .withStartupProbe(httpProbe(READY_PATH, probes.startup()))
                .withReadinessProbe(httpProbe(READY_PATH, probes.readiness()))
                .withLivenessProbe(httpProbe(LIVE_PATH, probes.liveness()))
                .withResources(resourcesOf(spec.resources, config))
                // Sleep (no shell needed, Kubernetes 1.30+) while endpoints stop routing to this
                // pod; only then SIGTERM starts the worker's drain.
                .withNewLifecycle().withNewPreStop().withNewSleep(config.preStopDelay().toSeconds())
                .endPreStop().endLifecycle()
                .withSecurityContext(hardened())
                .withVolumeMounts(mounts(source))
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .build();
    }

    public static String imageOf(LLMDeployment llmd, OperatorConfig config) {
        String image = llmd.getSpec().image;
        return image == null || image.isBlank() ? config.workerImage() : image;
    }

    static Probe httpProbe(String path, OperatorConfig.ProbeTiming timing) {
        return new ProbeBuilder()
                .withNewHttpGet().withPath(path).withNewPort(WorkerLabels.HTTP_PORT_NAME).endHttpGet()
                .withPeriodSeconds(timing.periodSeconds())
                .withTimeoutSeconds(timing.timeoutSeconds())
                .withFailureThreshold(timing.failureThreshold())
                .build();
    }

    static ResourceRequirements resourcesOf(WorkerResources resources, OperatorConfig config) {
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        if (resources != null) {
            if (resources.requests != null) {
                putIfSet(requests, "cpu", resources.requests.cpu);
                putIfSet(requests, "memory", resources.requests.memory);
            }
            if (resources.limits != null) {
                putIfSet(limits, "cpu", resources.limits.cpu);
                putIfSet(limits, "memory", resources.limits.memory);
            }
            if (resources.gpus != null && resources.gpus > 0) {
                // Extended resources cannot be overcommitted: the request must equal the limit.
                Quantity gpus = new Quantity(String.valueOf(resources.gpus));
                requests.put(gpuResourceName(resources, config), gpus);
                limits.put(gpuResourceName(resources, config), gpus);
            }
        }
        // Empty maps as null: the API server drops empty maps, and a desired object that keeps them
        // would never match the observed one (an update on every reconcile).
        return new ResourceRequirementsBuilder()
                .withRequests(requests.isEmpty() ? null : requests)
                .withLimits(limits.isEmpty() ? null : limits)
                .build();
    }

    public static String gpuResourceName(WorkerResources resources, OperatorConfig config) {
        return resources == null || resources.gpuResourceName == null || resources.gpuResourceName.isBlank()
                ? config.gpuResourceName() : resources.gpuResourceName;
    }

    public static int gpusOf(WorkerResources resources) {
        return resources == null || resources.gpus == null ? 0 : resources.gpus;
    }

    static SecurityContext hardened() {
        return new SecurityContextBuilder()
                .withRunAsNonRoot(true)
                .withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities()
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .build();
    }

    static List<VolumeMount> mounts(ModelSource source) {
        List<VolumeMount> mounts = new ArrayList<>();
        // The root filesystem is read-only; the JVM and Vert.x still need a writable /tmp.
        mounts.add(new VolumeMountBuilder().withName(TMP_VOLUME).withMountPath("/tmp").build());
        if (source.fromClaim()) {
            mounts.add(new VolumeMountBuilder().withName(MODEL_VOLUME).withMountPath(ModelSource.PVC_MOUNT)
                    .withReadOnly(true).build());
        } else {
            mounts.add(new VolumeMountBuilder().withName(CACHE_VOLUME).withMountPath(ModelSource.CACHE_MOUNT).build());
        }
        return mounts;
    }

    private static void putIfSet(Map<String, Quantity> map, String key, Quantity value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
