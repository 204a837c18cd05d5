package dev.gantry.worker.engine;

/**
 * Receives one request's progress. Called on the engine's step thread: implementations must
 * return quickly and never block (hand the data to an event loop or a queue).
 */
public interface RequestListener {

    /**
     * Tokens sampled for this request in one step, and the text that became final with them
     * (complete UTF-8 characters, stop strings held back and cut; may be empty).
     */
    void onOutput(int[] newTokenIds, String textDelta);

    /** The request ended (normally, cancelled or failed); no call follows this one. */
    void onFinish(RequestResult result);
}
