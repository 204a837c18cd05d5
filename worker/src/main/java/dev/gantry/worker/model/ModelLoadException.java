package dev.gantry.worker.model;

/**
 * A model file or URI that cannot be used, with a message meant for the person who gave it: it
 * names the file and the problem (not GGUF, truncated, unsupported tensor type or architecture,
 * missing tensor, download failure), so callers print {@link #getMessage()} and nothing deeper.
 */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
