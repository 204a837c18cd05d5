package dev.gantry.worker.api;

import dev.gantry.worker.config.InvalidConfigException;
import dev.gantry.worker.model.ModelLoadException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Why a worker could not start, as the one line it leaves in its Kubernetes termination-message
 * file before it exits: {@code <Reason>: <message>}. The operator reads that line from the pod's
 * container status and makes the reason the LLMDeployment's Degraded reason, so the reasons are an
 * interface: add, never rename.
 *
 * @param reason  the class of failure
 * @param message what happened, for a person: the model and the underlying error, on one line
 */
public record StartFailure(Reason reason, String message) {
    /** The kubelet keeps at most 4096 bytes of a termination message; a line well under that. */
    static final int MAX_LINE_CHARS = 2048;

    /** The classes of failure, named as the operator's status shows them. */
    public enum Reason {
        /** The model file does not exist: not at the path, not on the hub (404), or not for this token (401/403). */
        MODEL_NOT_FOUND("ModelNotFound"),
        /** The file is there but is no model this worker runs: not GGUF, truncated, unsupported. */
        MODEL_INVALID("ModelInvalid"),
        /** The download failed: the hub's network or answers, or the local cache folder. */
        MODEL_DOWNLOAD_FAILED("ModelDownloadFailed"),
        /** A setting (or the model's URI, or a hub setting) is malformed or out of range. */
        INVALID_CONFIGURATION("InvalidConfiguration"),
        /** The worker was to compute on a GPU (device cuda) and none is usable: no driver, no device, no kernels. */
        GPU_UNAVAILABLE("GpuUnavailable"),
        /** Anything else on the way to ready: the backend, memory, the warm-up request. */
        START_FAILED("StartFailed");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        /** The name written to the termination message and shown in the status. */
        public String label() {
            return label;
        }
    }

    /**
     * Classifies what stopped the start.
     *
     * @param error    what was thrown
     * @param modelUri the model as given (path or URI), or null when not known
     */
    public static StartFailure of(Throwable error, String modelUri) {
        Reason reason;
        String what;
        if (error instanceof ModelLoadException e) {
            reason = switch (e.kind()) {
                case NOT_FOUND -> Reason.MODEL_NOT_FOUND;
                case INVALID -> Reason.MODEL_INVALID;
                case DOWNLOAD_FAILED -> Reason.MODEL_DOWNLOAD_FAILED;
                case BAD_REFERENCE -> Reason.INVALID_CONFIGURATION;
            };
            what = e.getMessage();
        } else if (error instanceof dev.gantry.worker.backend.cuda.CudaUnavailableException) {
            reason = Reason.GPU_UNAVAILABLE;
            what = error.getMessage();
        } else if (error instanceof InvalidConfigException e) {
            reason = Reason.INVALID_CONFIGURATION;
            what = e.getMessage();
        } else {
            reason = Reason.START_FAILED;
            // The class tells an OutOfMemoryError from a bug; the message alone often does not.
            what = error.getMessage() == null ? error.getClass().getName() : error.getClass().getName() + ": "
                    + error.getMessage();
        }
        String model = modelUri == null || modelUri.isBlank() ? "" : "model " + modelUri.strip() + ": ";
        return new StartFailure(reason, model + what);
    }

    /** {@code <Reason>: <message>}, on one line and bounded: what the termination message holds. */
    public String line() {
        String text = reason.label() + ": " + message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        return text.length() <= MAX_LINE_CHARS ? text : text.substring(0, MAX_LINE_CHARS - 3) + "...";
    }

    /**
     * Writes {@link #line()} to the termination-message file. The kubelet mounts that file into
     * the container before it starts, so in a pod it exists; elsewhere (a laptop, a test) it is
     * skipped quietly when its folder does not exist, and never created under {@code /dev}, which
     * is the kernel's: only an existing file is written there.
     *
     * @return whether the line was written
     */
    public boolean writeTo(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)
                || (!Files.exists(file) && parent.equals(Path.of("/dev")))) {
            return false;
        }
        try {
            Files.writeString(file, line() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
