package dev.gantry.worker.model.sample;

import java.io.Serial;

/**
 * A sampling parameter outside its allowed range. The message names the field by its API name
 * and the range; {@link #param()} is that name alone, for the {@code param} of an OpenAI error.
 */
public final class InvalidSamplingParamsException extends IllegalArgumentException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String param;

    public InvalidSamplingParamsException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The request field at fault, as the API spells it (e.g. {@code top_p}). */
    public String param() {
        return param;
    }
}
