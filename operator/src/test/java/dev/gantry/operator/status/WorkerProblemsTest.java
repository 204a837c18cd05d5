package dev.gantry.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Worker pods as a kubelet (1.34, containerd) reports a worker that cannot start: the moment it
 * exited, waiting in CrashLoopBackOff, and running (loading) again after a restart.
 */
class WorkerProblemsTest {
    static final String NOT_FOUND = "ModelNotFound: model hf://acme/missing-GGUF/model.gguf: not found on hub:"
            + " acme/missing-GGUF/model.gguf at revision main (HTTP 404 from http://hub.e2e.svc.cluster.local:80)";

    /** A worker pod's status, the worker container in the given state, as YAML under containerStatuses[0]. */
    private static Pod pod(String name, String containerStatus) {
        String yaml = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: %s
                  namespace: llm
                  labels: {app.kubernetes.io/instance: chat}
                spec:
                  nodeName: node-1
                  containers: [{name: worker, image: "ghcr.io/gantry-dev/gantry-worker:0.1.0"}]
                status:
                  phase: Running
                  hostIP: 10.0.0.4
                  podIP: 10.244.0.12
                  qosClass: Burstable
                  startTime: "2026-01-01T10:00:00Z"
                  conditions:
                  - {type: PodReadyToStartContainers, status: "True", lastTransitionTime: "2026-01-01T10:00:01Z"}
                  - {type: Initialized, status: "True", lastTransitionTime: "2026-01-01T10:00:00Z"}
                  - {type: Ready, status: "False", reason: ContainersNotReady, message: "containers with unready status: [worker]", lastTransitionTime: "2026-01-01T10:00:00Z"}
                  - {type: ContainersReady, status: "False", reason: ContainersNotReady, message: "containers with unready status: [worker]", lastTransitionTime: "2026-01-01T10:00:00Z"}
                  - {type: PodScheduled, status: "True", lastTransitionTime: "2026-01-01T10:00:00Z"}
                  containerStatuses:
                  - name: worker
                    image: ghcr.io/gantry-dev/gantry-worker:0.1.0
                    imageID: ghcr.io/gantry-dev/gantry-worker@sha256:4c0ffee
                    containerID: containerd://0a1b2c
                %s
                """.formatted(name, containerStatus.indent(4).stripTrailing());
        return Serialization.unmarshal(yaml, Pod.class);
    }

    /** The first exit, before the kubelet restarts the container: the current state is terminated. */
    private static Pod justExited(String name, String message) {
        return pod(name, """
                ready: false
                started: false
                restartCount: 0
                state:
                  terminated:
                    exitCode: 1
                    reason: Error
                    message: %s
                    startedAt: "2026-01-01T10:00:02Z"
                    finishedAt: "2026-01-01T10:00:05Z"
                    containerID: containerd://0a1b2c
                lastState: {}
                """.formatted(quoted(message)));
    }

    private static Pod crashLoopBackOff(String name, String message) {
        return pod(name, """
                ready: false
                started: false
                restartCount: 1
                state:
                  waiting:
                    reason: CrashLoopBackOff
                    message: back-off 10s restarting failed container=worker pod=%s_llm(5e1f)
                lastState:
                  terminated:
                    exitCode: 1
                    reason: Error
                    message: %s
                    startedAt: "2026-01-01T10:00:02Z"
                    finishedAt: "2026-01-01T10:00:05Z"
                    containerID: containerd://0a1b2c
                """.formatted(name, quoted(message)));
    }

    /** Restarted, the worker runs (and downloads) again, not ready yet; the last exit stays on record. */
    private static Pod runningAgain(String name, String message, boolean ready) {
        return pod(name, """
                ready: %s
                started: true
                restartCount: 1
                state:
                  running: {startedAt: "2026-01-01T10:00:16Z"}
                lastState:
                  terminated:
                    exitCode: 1
                    reason: Error
                    message: %s
                    startedAt: "2026-01-01T10:00:02Z"
                    finishedAt: "2026-01-01T10:00:05Z"
                    containerID: containerd://0a1b2c
                """.formatted(ready, quoted(message)));
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    @Test
    void theWorkersReasonFromItsFirstExitOn() {
        for (Pod pod : List.of(justExited("chat-7d9c-a", NOT_FOUND), crashLoopBackOff("chat-7d9c-a", NOT_FOUND),
                runningAgain("chat-7d9c-a", NOT_FOUND, false))) {
            WorkerProblems.Problem problem = WorkerProblems.find(List.of(pod)).orElseThrow();
            assertThat(problem.reason()).isEqualTo("ModelNotFound");
            assertThat(problem.message()).isEqualTo("pod chat-7d9c-a (of 1): the worker exited with code 1: " + NOT_FOUND);
        }
    }

    @Test
    void everyReasonTheWorkerWritesIsCarried() {
        for (String reason : List.of("ModelNotFound", "ModelInvalid", "ModelDownloadFailed", "InvalidConfiguration",
                "GpuUnavailable", "StartFailed")) {
            String message = reason + ": model hf://a/b/c.gguf: something";
            assertThat(WorkerProblems.find(List.of(crashLoopBackOff("chat-a", message))).orElseThrow().reason())
                    .isEqualTo(reason);
        }
    }

    @Test
    void aWorkerThatBecameReadyHasLeftItsLastExitBehind() {
        assertThat(WorkerProblems.find(List.of(runningAgain("chat-a", NOT_FOUND, true)))).isEmpty();
    }

    @Test
    void anUnclassifiedCrashStaysCrashLoopBackOffWithItsExitCode() {
        // FallbackToLogsOnError: without a termination message the kubelet puts the log's tail there.
        String logTail = "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat x.y(Z.java:1)";
        Optional<WorkerProblems.Problem> exited = WorkerProblems.find(List.of(justExited("chat-a", logTail)));
        assertThat(exited).as("terminated, not yet waiting: nothing stuck to report").isEmpty();
        WorkerProblems.Problem looping = WorkerProblems.find(List.of(crashLoopBackOff("chat-a", logTail))).orElseThrow();
        assertThat(looping.reason()).isEqualTo("CrashLoopBackOff");
        assertThat(looping.message()).isEqualTo("pod chat-a (of 1), container worker: CrashLoopBackOff: last exit code 1 (Error)");
    }

    @Test
    void onlyTheFirstLineOfALongMessage() {
        String message = "ModelInvalid: model /models/m.gguf: /models/m.gguf is not a GGUF file\nmore\nlines";
        assertThat(WorkerProblems.find(List.of(justExited("chat-a", message))).orElseThrow().message())
                .endsWith("is not a GGUF file").doesNotContain("more");
        String huge = "StartFailed: " + "x".repeat(5000);
        assertThat(WorkerProblems.find(List.of(justExited("chat-a", huge))).orElseThrow().message())
                .hasSizeLessThan(WorkerProblems.MAX_WORKER_MESSAGE + 100).endsWith("...");
    }

    @Test
    void aReasonIsOnlyAReasonAtTheStart() {
        assertThat(WorkerProblems.classified("ModelNotFound: x")).hasValue("ModelNotFound");
        assertThat(WorkerProblems.classified("  ModelNotFound: x\n")).hasValue("ModelNotFound");
        assertThat(WorkerProblems.classified("error: ModelNotFound: x")).isEmpty();
        assertThat(WorkerProblems.classified("ModelNotFoundx: y")).isEmpty();
        assertThat(WorkerProblems.classified(null)).isEmpty();
    }

    @Test
    void theFirstPodByNameSpeaksForAll() {
        Pod b = crashLoopBackOff("chat-b", NOT_FOUND.replace("missing-GGUF", "other-GGUF"));
        Pod a = runningAgain("chat-a", NOT_FOUND, false);
        assertThat(WorkerProblems.find(List.of(b, a)).orElseThrow().message()).startsWith("pod chat-a (of 2)");
    }

    @Test
    void aClassifiedExitComesBeforeAnotherPodsPullProblem() {
        Pod pulling = pod("chat-a", """
                ready: false
                started: false
                restartCount: 0
                state:
                  waiting: {reason: ImagePullBackOff, message: "Back-off pulling image \\"gantry:nope\\""}
                """);
        assertThat(WorkerProblems.find(List.of(pulling, crashLoopBackOff("chat-b", NOT_FOUND))).orElseThrow().reason())
                .isEqualTo("ModelNotFound");
    }

    @Test
    void anImageThatMayNotBePulledIsStuck() {
        Pod never = pod("chat-a", """
                ready: false
                started: false
                restartCount: 0
                state:
                  waiting:
                    reason: ErrImageNeverPull
                    message: Container image "gantry-worker:dev" is not present with pull policy of Never
                """);
        WorkerProblems.Problem problem = WorkerProblems.find(List.of(never)).orElseThrow();
        assertThat(problem.reason()).isEqualTo("ErrImageNeverPull");
        assertThat(problem.message()).contains("gantry-worker:dev").contains("pull policy of Never");
    }

    @Test
    void anUnschedulablePodNamesTheSchedulersReasons() {
        Pod pending = Serialization.unmarshal("""
                apiVersion: v1
                kind: Pod
                metadata: {name: chat-a, namespace: llm}
                spec:
                  containers: [{name: worker, image: gantry}]
                status:
                  phase: Pending
                  qosClass: Burstable
                  conditions:
                  - type: PodScheduled
                    status: "False"
                    reason: Unschedulable
                    lastTransitionTime: "2026-01-01T10:00:00Z"
                    message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
                """, Pod.class);
        WorkerProblems.Problem problem = WorkerProblems.find(List.of(pending)).orElseThrow();
        assertThat(problem.reason()).isEqualTo("Unschedulable");
        assertThat(problem.message()).isEqualTo("pod chat-a cannot be scheduled: 0/1 nodes are available: 1 Insufficient"
                + " memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");
    }
}
