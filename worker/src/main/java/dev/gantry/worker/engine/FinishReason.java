package dev.gantry.worker.engine;

/** Why a request stopped generating. */
public enum FinishReason {
    /** EOS, a stop token or a stop string. */
    STOP("stop"),
    /** {@code max_tokens} reached, or the context is full. */
    LENGTH("length"),
    /** Cancelled: the client went away, timed out, or the engine shut down. */
    ABORT("abort"),
    /** The engine failed on this request; see {@link RequestResult#error()}. */
    ERROR("error");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    /** The value of OpenAI's (and vLLM's) {@code finish_reason}. */
    public String openAi() {
        return openAi;
    }
}
