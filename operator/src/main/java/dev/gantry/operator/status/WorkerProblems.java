package dev.gantry.operator.status;

import dev.gantry.operator.desired.WorkerContainer;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/** Finds, among the worker pods, the problem that makes an LLMDeployment Degraded. */
final class WorkerProblems {
    /** Waiting reasons that do not clear by themselves: a human must fix the image, spec or Secret. */
    static final Set<String> STUCK_WAITING_REASONS = Set.of(
            "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
            "CreateContainerConfigError", "CreateContainerError");

    /**
     * The reasons a worker that cannot start writes first in its termination message
     * ({@code <Reason>: <message>}, the worker's {@code StartFailure}); they become Degraded's reason.
     */
    static final Set<String> WORKER_START_REASONS = Set.of(
            "ModelNotFound", "ModelInvalid", "ModelDownloadFailed", "InvalidConfiguration", "GpuUnavailable", "StartFailed");

    /** The longest worker message carried into the condition: the kubelet allows 4 KiB, a condition less is kinder. */
    static final int MAX_WORKER_MESSAGE = 1024;

    /** A problem: the condition's reason and message. */
    record Problem(String reason, String message) {
    }

    private WorkerProblems() {
    }

    /**
     * The first problem, pods in name order so that the message is stable between reconciles
     * (a changing message would rewrite the status every time). A worker that said why it exited
     * comes first: its reason is the most precise there is.
     */
    static Optional<Problem> find(List<Pod> pods) {
        List<Pod> sorted = pods.stream()
                .filter(p -> p.getMetadata() != null && p.getMetadata().getDeletionTimestamp() == null)
                .sorted(Comparator.comparing(p -> p.getMetadata().getName()))
                .toList();
        for (Pod pod : sorted) {
            Optional<Problem> failed = workerStartFailure(pod, sorted.size());
            if (failed.isPresent()) {
                return failed;
            }
        }
        for (Pod pod : sorted) {
            Optional<Problem> stuck = stuckContainer(pod, sorted.size());
            if (stuck.isPresent()) {
                return stuck;
            }
        }
        for (Pod pod : sorted) {
            Optional<Problem> unschedulable = unschedulable(pod);
            if (unschedulable.isPresent()) {
                return unschedulable;
            }
        }
        return Optional.empty();
    }

    /**
     * The worker container exited non-zero with a classified termination message, and is not
     * ready since. Seen from the first exit on: the kubelet shows it as the current state for a
     * moment, then as the last state while the container waits in CrashLoopBackOff or runs (and
     * loads) again; only a ready worker has left it behind.
     */
    private static Optional<Problem> workerStartFailure(Pod pod, int podCount) {
        if (pod.getStatus() == null) {
            return Optional.empty();
        }
        return stream(pod.getStatus().getContainerStatuses())
                .filter(cs -> WorkerContainer.NAME.equals(cs.getName()) && !Boolean.TRUE.equals(cs.getReady()))
                .flatMap(cs -> lastFailure(cs).stream())
                .flatMap(t -> classified(t.getMessage()).stream()
                        .map(reason -> new Problem(reason, "pod " + pod.getMetadata().getName() + " (of " + podCount
                                + "): the worker exited with code " + t.getExitCode() + ": "
                                + oneLine(t.getMessage()))))
                .findFirst();
    }

    /** The container's latest non-zero exit: the current state while it is terminated, else the last one. */
    private static Optional<ContainerStateTerminated> lastFailure(ContainerStatus cs) {
        ContainerStateTerminated now = cs.getState() == null ? null : cs.getState().getTerminated();
        ContainerStateTerminated last = cs.getLastState() == null ? null : cs.getLastState().getTerminated();
        ContainerStateTerminated latest = now != null ? now : last;
        return latest != null && latest.getExitCode() != null && latest.getExitCode() != 0
                ? Optional.of(latest) : Optional.empty();
    }

    /** The reason a termination message starts with, when it is one of the worker's. */
    static Optional<String> classified(String message) {
        if (message == null) {
            return Optional.empty();
        }
        String text = message.strip();
        int colon = text.indexOf(':');
        return colon > 0 && WORKER_START_REASONS.contains(text.substring(0, colon))
                ? Optional.of(text.substring(0, colon)) : Optional.empty();
    }

    /** The first line (the worker writes one; a log tail under FallbackToLogsOnError has more), bounded. */
    private static String oneLine(String message) {
        String text = message.strip();
        int newline = text.indexOf('\n');
        String line = newline < 0 ? text : text.substring(0, newline).strip();
        return line.length() <= MAX_WORKER_MESSAGE ? line : line.substring(0, MAX_WORKER_MESSAGE) + "...";
    }

    private static Optional<Problem> stuckContainer(Pod pod, int podCount) {
        if (pod.getStatus() == null) {
            return Optional.empty();
        }
        return Stream.concat(
                        stream(pod.getStatus().getInitContainerStatuses()),
                        stream(pod.getStatus().getContainerStatuses()))
                .filter(cs -> cs.getState() != null && cs.getState().getWaiting() != null
                        && STUCK_WAITING_REASONS.contains(cs.getState().getWaiting().getReason()))
                .findFirst()
                .map(cs -> {
                    String reason = cs.getState().getWaiting().getReason();
                    String detail = cs.getState().getWaiting().getMessage();
                    // The kubelet's CrashLoopBackOff message only says how long the back-off is, which
                    // grows each time; the last exit is what tells the user something, and it is stable.
                    if ("CrashLoopBackOff".equals(reason) && cs.getLastState() != null
                            && cs.getLastState().getTerminated() != null) {
                        var t = cs.getLastState().getTerminated();
                        detail = "last exit code " + t.getExitCode()
                                + (t.getReason() == null ? "" : " (" + t.getReason() + ")");
                    }
                    return new Problem(reason, "pod " + pod.getMetadata().getName() + " (of " + podCount
                            + "), container " + cs.getName() + ": " + reason
                            + (detail == null || detail.isBlank() ? "" : ": " + detail));
                });
    }

    /** The scheduler's verdict on a pod it cannot place, with its per-node reasons (resources, taints, affinity). */
    private static Optional<Problem> unschedulable(Pod pod) {
        if (pod.getStatus() == null) {
            return Optional.empty();
        }
        return stream(pod.getStatus().getConditions())
                .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())
                        && "Unschedulable".equals(c.getReason()))
                .findFirst()
                .map((PodCondition c) -> new Problem("Unschedulable", "pod " + pod.getMetadata().getName()
                        + " cannot be scheduled" + (c.getMessage() == null || c.getMessage().isBlank()
                                ? " (the scheduler gave no reason)" : ": " + c.getMessage())));
    }

    private static <T> Stream<T> stream(List<T> list) {
        return list == null ? Stream.empty() : list.stream();
    }
}
