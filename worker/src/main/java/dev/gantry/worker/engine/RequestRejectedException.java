package dev.gantry.worker.engine;

/** The engine refused a request before queueing it; nothing of it is left in the engine. */
public final class RequestRejectedException extends Exception {

    public enum Reason {
        /** The waiting queue is at its bound: try again later (HTTP 429). */
        QUEUE_FULL,
        /** The prompt can never fit: longer than the context, or than the whole KV cache (HTTP 400). */
        PROMPT_TOO_LONG,
        /** The engine is shutting down or closed (HTTP 503). */
        SHUTTING_DOWN
    }

    private final Reason reason;

    public RequestRejectedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
