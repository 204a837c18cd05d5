package dev.gantry.worker.api.tools;

/**
 * A call the model made, as the response's {@code message.tool_calls} holds it.
 *
 * @param id       {@code call_} and 24 letters and digits, as vLLM makes them
 * @param type     always {@code function}
 * @param function the function's name and its arguments, a JSON object's text
 */
public record ToolCall(String id, String type, Function function) {
    public ToolCall(String id, String name, String arguments) {
        this(id, "function", new Function(name, arguments));
    }

    public record Function(String name, String arguments) {}
}
