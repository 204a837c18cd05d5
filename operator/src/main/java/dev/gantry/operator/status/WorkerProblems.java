package dev.gantry.operator.status;

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
            "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
            "CreateContainerConfigError", "CreateContainerError");

    /** A problem: the condition's reason and message. */
    record Problem(String reason, String message) {
    }

    private WorkerProblems() {
    }

    /**
     * The first problem, pods in name order so that the message is stable between reconciles
     * (a changing message would rewrite the status every time).
     */
    static Optional<Problem> find(List<Pod> pods) {
        List<Pod> sorted = pods.stream()
                .filter(p -> p.getMetadata() != null && p.getMetadata().getDeletionTimestamp() == null)
                .sorted(Comparator.comparing(p -> p.getMetadata().getName()))
                .toList();
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

    private static Optional<Problem> unschedulable(Pod pod) {
        if (pod.getStatus() == null) {
            return Optional.empty();
        }
        return stream(pod.getStatus().getConditions())
                .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())
                        && "Unschedulable".equals(c.getReason()))
                .findFirst()
                .map((PodCondition c) -> new Problem("Unschedulable", "pod " + pod.getMetadata().getName()
                        + " cannot be scheduled" + (c.getMessage() == null ? "" : ": " + c.getMessage())));
    }

    private static <T> Stream<T> stream(List<T> list) {
        return list == null ? Stream.empty() : list.stream();
    }
}
