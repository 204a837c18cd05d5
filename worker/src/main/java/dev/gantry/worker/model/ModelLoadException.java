package dev.gantry.worker.model;

import java.util.Objects;

/**
 * A model file or URI that cannot be used, with a message meant for the person who gave it: it
 * names the file and the problem (not GGUF, truncated, unsupported tensor type or architecture,
 * missing tensor, download failure), so callers print {@link #getMessage()} and nothing deeper.
 * Its {@link Kind} says which sort of problem it is, for callers that must tell them apart
 * without reading the message (the worker's termination message, say).
 */
public class ModelLoadException extends RuntimeException {
    /** What went wrong, coarsely. */
    public enum Kind {
        /** The file does not exist: not at the path, not in the hub's repository, or not visible to this token. */
        NOT_FOUND,
        /** The file is there but is no model this worker can run: not GGUF, truncated, unsupported. */
        INVALID,
        /** Getting the file failed: the network, the hub's answers, the local cache folder. */
        DOWNLOAD_FAILED,
        /** The model's name or the hub settings are malformed: nothing was looked for. */
        BAD_REFERENCE
    }

    private final Kind kind;

    /** A problem with the file's contents ({@link Kind#INVALID}), what most of the loading code finds. */
    public ModelLoadException(String message) {
        this(Kind.INVALID, message, null);
    }

    public ModelLoadException(String message, Throwable cause) {
        this(Kind.INVALID, message, cause);
    }

    public ModelLoadException(Kind kind, String message) {
        this(kind, message, null);
    }

    public ModelLoadException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }
}
