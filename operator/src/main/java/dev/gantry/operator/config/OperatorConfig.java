package dev.gantry.operator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * The operator's own settings: defaults for what an LLMDeployment leaves unset, and the timings of
 * the workers' probes and shutdown. Each is also an environment variable of the operator
 * ({@code gantry.operator.worker-image} is {@code GANTRY_OPERATOR_WORKER_IMAGE}).
 */
@ConfigMapping(prefix = "gantry.operator")
public interface OperatorConfig {

    /** The worker image of LLMDeployments that set no spec.image. */
    @WithDefault("ghcr.io/gantry-dev/gantry-worker:latest")
    String workerImage();

    /** The workers' imagePullPolicy. */
    @WithDefault("IfNotPresent")
    String imagePullPolicy();

    /** The extended resource that counts GPUs, when spec.resources.gpuResourceName is unset. */
    @WithDefault("nvidia.com/gpu")
    String gpuResourceName();

    /**
     * The numeric user the workers run as. Numeric because the kubelet can only check
     * runAsNonRoot against a number; 185 is the user of the UBI OpenJDK images Quarkus builds on.
     */
    @WithDefault("185")
    long runAsUser();

    /** How long a worker drains in-flight requests after SIGTERM (the worker's gantry.drain-timeout). */
    @WithDefault("30s")
    Duration drainTimeout();

    /**
     * How long a worker sleeps in preStop before it gets SIGTERM: time for the endpoint controller
     * and every kube-proxy/ingress to stop sending it new requests, so draining starts on a quiet pod.
     */
    @WithDefault("5s")
    Duration preStopDelay();

    /** Added to preStop delay plus drain timeout for terminationGracePeriodSeconds: JVM exit, log flush. */
    @WithDefault("10s")
    Duration terminationGraceMargin();

    /**
     * The hub that workers of hf:// models download from (their HF_ENDPOINT), e.g. an in-cluster
     * mirror; none: the worker's default, https://huggingface.co. An LLMDeployment's spec.env
     * setting HF_ENDPOINT wins.
     */
    Optional<String> hfEndpoint();

    /** Size limit of the emptyDir that caches downloaded (hf://) models; none: bounded only by the node. */
    Optional<String> modelCacheSizeLimit();

    /** Probe timings of the workers. */
    Probes probes();

    /** Defaults and metric names of autoscaled LLMDeployments. */
    Autoscaling autoscaling();

    /** Leader election among replicas of the operator (see {@link LeaderElectionProducer}). */
    LeaderElection leaderElection();

    interface LeaderElection {
        /**
         * Whether replicas elect a leader through a Lease, and only the leader reconciles. Off for
         * one replica (nothing to elect, and no Lease RBAC needed); the Helm chart turns it on
         * when it runs more than one.
         */
        @WithDefault("false")
        boolean enabled();

        /** The Lease's name. */
        @WithDefault("gantry-operator")
        String leaseName();

        /** The Lease's namespace; default: the operator's own (its service account's). */
        Optional<String> leaseNamespace();
    }

    interface Probes {
        /** Covers model download and load: the pod gets period × failureThreshold (30 min) to become ready. */
        StartupProbe startup();

        ReadinessProbe readiness();

        LivenessProbe liveness();
    }

    /** The timing fields of a probe, as Kubernetes names them. */
    interface ProbeTiming {
        int periodSeconds();

        int timeoutSeconds();

        int failureThreshold();
    }

    interface StartupProbe extends ProbeTiming {
        @Override
        @WithDefault("10")
        int periodSeconds();

        @Override
        @WithDefault("5")
        int timeoutSeconds();

        @Override
        @WithDefault("180")
        int failureThreshold();
    }

    interface ReadinessProbe extends ProbeTiming {
        @Override
        @WithDefault("5")
        int periodSeconds();

        @Override
        @WithDefault("3")
        int timeoutSeconds();

        @Override
        @WithDefault("3")
        int failureThreshold();
    }

    interface LivenessProbe extends ProbeTiming {
        @Override
        @WithDefault("10")
        int periodSeconds();

        @Override
        @WithDefault("5")
        int timeoutSeconds();

        /** Lenient: a worker busy with a long prefill answers late, and a restart loses the loaded model. */
        @Override
        @WithDefault("6")
        int failureThreshold();
    }

    interface Autoscaling {
        /** Waiting requests per worker to aim for when an LLMDeployment's autoscaling sets no target. */
        @WithDefault("5")
        int defaultTargetQueueDepth();

        /** The Pods metric of waiting requests, as the custom-metrics adapter exposes it. */
        @WithDefault("vllm:num_requests_waiting")
        String queueDepthMetric();

        /** The Pods metric of GPU utilization in percent (NVIDIA DCGM exporter's gauge). */
        @WithDefault("DCGM_FI_DEV_GPU_UTIL")
        String gpuUtilizationMetric();

        /**
         * The Pods metric of generation requests arriving per second at a worker (the chart's
         * adapter rules serve it as the rate of the workers' gantry:requests_received_total).
         */
        @WithDefault("gantry:requests_per_second")
        String requestsPerSecondMetric();
    }
}
