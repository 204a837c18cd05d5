package dev.gantry.operator.it;

import dev.gantry.operator.desired.WorkerLabels;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Plays the kubelet where the tests need one: there is no container runtime, so the tests decide
 * what the workers' containers do and write it into pod status through the status subresource,
 * as a kubelet would. The scheduler, ReplicaSet and Deployment controllers then react for real.
 */
public final class FakeKubelet {
    public static final String NODE = "fake-node";

    private final KubernetesClient client;

    public FakeKubelet(KubernetesClient client) {
        this.client = client;
    }

    /**
     * Registers {@link #NODE}: room for CPU workers, no GPUs. The TaintNodesByCondition admission
     * plugin taints every new node not-ready; the node lifecycle controller would lift that after
     * a kubelet's first Ready heartbeat, which never comes, so it is lifted here.
     */
    public void registerNode() {
        Map<String, Quantity> room = Map.of("cpu", new Quantity("64"), "memory", new Quantity("256Gi"),
                "pods", new Quantity("110"));
        client.nodes().resource(new NodeBuilder()
                .withNewMetadata().withName(NODE).addToLabels("kubernetes.io/hostname", NODE).endMetadata()
                .withNewStatus().withCapacity(room).withAllocatable(room)
                .addNewCondition().withType("Ready").withStatus("True").withReason("KubeletReady")
                .withMessage("fake kubelet").endCondition()
                .endStatus()
                .build()).create();
        client.nodes().withName(NODE).edit(n -> {
            n.getSpec().setTaints(List.of());
            return n;
        });
    }

    /** The instance's pods, terminating ones included. */
    public List<Pod> pods(String namespace, String instance) {
        return client.pods().inNamespace(namespace).withLabel(WorkerLabels.INSTANCE, instance).list().getItems();
    }

    /**
     * One pass over the instance's pods: starts every bound pod that is not running yet (running,
     * ready, as after a passing readiness probe) and finishes terminating ones (a bound pod is only
     * removed once its kubelet confirms the containers stopped). Returns how many pods are ready.
     */
    public int sync(String namespace, String instance) {
        int ready = 0;
        for (Pod pod : pods(namespace, instance)) {
            if (pod.getMetadata().getDeletionTimestamp() != null) {
                client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
            } else if (isReady(pod)) {
                ready++;
            } else if (pod.getSpec().getNodeName() != null && !crashLooping(pod)) {
                start(pod);
                ready++;
            }
        }
        return ready;
    }

    /** Deletes the namespace's terminating pods, as a kubelet does once their containers stopped. */
    public void finishTerminations(String namespace) {
        for (Pod pod : client.pods().inNamespace(namespace).list().getItems()) {
            if (pod.getMetadata().getDeletionTimestamp() != null) {
                client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
            }
        }
    }

    /** The worker started and passes its readiness probe. */
    public void start(Pod pod) {
        String now = now();
        List<ContainerStatus> statuses = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage()).withImageID("")
                        .withReady(true).withStarted(true).withRestartCount(0)
                        .withNewState().withNewRunning().withStartedAt(now).endRunning().endState()
                        .build())
                .toList();
        writeStatus(pod, "Running", true, statuses);
    }

    /** The worker exits at once, again and again: the kubelet backs off restarting it. */
    public void crashLoop(Pod pod) {
        String now = now();
        List<ContainerStatus> statuses = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage()).withImageID("")
                        .withReady(false).withStarted(false).withRestartCount(4)
                        .withNewState().withNewWaiting().withReason("CrashLoopBackOff")
                        .withMessage("back-off 1m20s restarting failed container=" + c.getName()).endWaiting().endState()
                        .withNewLastState().withNewTerminated().withExitCode(1).withReason("Error")
                        .withStartedAt(now).withFinishedAt(now).endTerminated().endLastState()
                        .build())
                .toList();
        writeStatus(pod, "Running", false, statuses);
    }

    /**
     * The worker exited with {@code exitCode}, leaving {@code message} in its termination-message
     * file: the first exit, as the kubelet shows it until it restarts the container.
     */
    public void exit(Pod pod, int exitCode, String message) {
        String now = now();
        List<ContainerStatus> statuses = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage()).withImageID("")
                        .withReady(false).withStarted(false).withRestartCount(0)
                        .withNewState().withNewTerminated().withExitCode(exitCode).withReason("Error").withMessage(message)
                        .withStartedAt(now).withFinishedAt(now).endTerminated().endState()
                        .build())
                .toList();
        writeStatus(pod, "Running", false, statuses);
    }

    /** After such an exit: restarted, running (loading again), not ready; the exit is the last state. */
    public void restartAfterExit(Pod pod, int exitCode, String message) {
        String now = now();
        List<ContainerStatus> statuses = pod.getSpec().getContainers().stream()
                .map(c -> new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage()).withImageID("")
                        .withReady(false).withStarted(true).withRestartCount(1)
                        .withNewState().withNewRunning().withStartedAt(now).endRunning().endState()
                        .withNewLastState().withNewTerminated().withExitCode(exitCode).withReason("Error")
                        .withMessage(message).withStartedAt(now).withFinishedAt(now).endTerminated().endLastState()
                        .build())
                .toList();
        writeStatus(pod, "Running", false, statuses);
    }

    public static boolean isReady(Pod pod) {
        return pod.getStatus() != null && pod.getStatus().getConditions() != null && pod.getStatus().getConditions().stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private static boolean crashLooping(Pod pod) {
        return pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null
                && pod.getStatus().getContainerStatuses().stream().anyMatch(cs -> cs.getState() != null
                        && cs.getState().getWaiting() != null
                        && "CrashLoopBackOff".equals(cs.getState().getWaiting().getReason()));
    }

    /** Keeps the scheduler's PodScheduled condition, replaces what a kubelet owns. */
    private void writeStatus(Pod pod, String phase, boolean ready, List<ContainerStatus> containers) {
        String now = now();
        String value = ready ? "True" : "False";
        client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).editStatus(p -> {
            List<PodCondition> conditions = new ArrayList<>();
            if (p.getStatus().getConditions() != null) {
                p.getStatus().getConditions().stream().filter(c -> "PodScheduled".equals(c.getType())).forEach(conditions::add);
            }
            conditions.add(condition("Initialized", "True", now));
            conditions.add(condition("ContainersReady", value, now));
            conditions.add(condition("Ready", value, now));
            p.getStatus().setPhase(phase);
            p.getStatus().setConditions(conditions);
            p.getStatus().setContainerStatuses(containers);
            p.getStatus().setStartTime(p.getStatus().getStartTime() == null ? now : p.getStatus().getStartTime());
            p.getStatus().setHostIP("10.255.0.1");
            return p;
        });
    }

    private static PodCondition condition(String type, String status, String now) {
        return new PodConditionBuilder().withType(type).withStatus(status).withLastTransitionTime(now).build();
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
