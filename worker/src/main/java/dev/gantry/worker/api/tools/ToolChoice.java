package dev.gantry.worker.api.tools;

import java.util.Objects;

/**
 * A request's {@code tool_choice}.
 *
 * @param function the function a {@link Mode#FUNCTION} choice names; null otherwise
 */
public record ToolChoice(Mode mode, String function) {
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public ToolChoice {
        Objects.requireNonNull(mode, "mode");
        if ((mode == Mode.FUNCTION) != (function != null)) {
            throw new IllegalArgumentException("a function is named by, and only by, a FUNCTION choice");
        }
    }

    public static ToolChoice function(String name) {
        return new ToolChoice(Mode.FUNCTION, name);
    }

    public enum Mode {
        /** {@code "none"}: the model writes text; the output is not read for calls. */
        NONE,
        /** {@code "auto"}: the model may call tools; calls are read out of its text. */
        AUTO,
        /** {@code "required"}: the output is forced to be one or more calls. */
        REQUIRED,
        /** {@code {"type": "function", "function": {"name": ...}}}: the output is forced to call that function. */
        FUNCTION
    }
}
