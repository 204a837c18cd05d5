package dev.gantry.worker.api.tools;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gantry.worker.api.OpenAiDtos;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.model.tokenizer.ChatTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Tools, conversations and real chat templates shared by the tool tests. */
final class ToolTestData {
    private ToolTestData() {}

    static ObjectNode json(String text) {
        try {
            return (ObjectNode) OpenAiDtos.JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final ToolDefinition WEATHER = new ToolDefinition("get_weather", "Get the current weather in a city",
            json("""
                    {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}"""), null);
    static final ToolDefinition TIME = new ToolDefinition("get_time", null, null, null);

    static ToolSettings settings(ToolChoice choice, boolean parallel, ToolDefinition... tools) {
        return new ToolSettings(List.of(tools), choice, parallel);
    }

    static final ToolSettings AUTO = settings(ToolChoice.AUTO, true, WEATHER, TIME);

    static final String PARIS_ARGS = "{\"city\": \"Paris\", \"unit\": \"celsius\"}";

    /** A user asks, the assistant calls get_weather, the tool answers. */
    static List<ChatMessage> conversation() {
        try {
            Object args = OpenAiDtos.JSON.readValue(PARIS_ARGS, Object.class);
            return List.of(new ChatMessage("system", "You are a weather bot."),
                    new ChatMessage("user", "What's the weather in Paris?"),
                    new ChatMessage("assistant", "", null,
                            List.of(new ChatMessage.ToolCall("call_1", "get_weather", PARIS_ARGS, args)), null),
                    new ChatMessage("tool", "22 degrees", null, List.of(), "call_1"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String resource(String name) {
        try (InputStream in = ToolTestData.class.getResourceAsStream("/tokenizer/templates/" + name)) {
            if (in == null) {
                throw new IllegalStateException("test resource tokenizer/templates/" + name + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Qwen2.5-Instruct's template (Hermes-style tool calls), as its GGUFs carry it. */
    static ChatTemplate qwen25() {
        return ChatTemplate.of(resource("qwen2.5.jinja"), "", "<|im_end|>");
    }

    /** Llama 3.1 Instruct's template, as its GGUFs carry it. */
    static ChatTemplate llama31() {
        return ChatTemplate.of(resource("llama3.1.jinja"), "<|begin_of_text|>", "<|eot_id|>");
    }
}
