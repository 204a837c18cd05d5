package dev.gantry.worker.engine;

/** A submitted request, as its submitter sees it. */
public interface RequestHandle {

    /**
     * Stops the request at the engine's next step and frees its KV blocks; the listener then gets
     * {@link RequestListener#onFinish} with {@link FinishReason#ABORT}. Safe from any thread, any
     * number of times, also after the request finished.
     */
    void cancel();
}
