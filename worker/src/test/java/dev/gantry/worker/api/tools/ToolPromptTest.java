package dev.gantry.worker.api.tools;

import static dev.gantry.worker.api.tools.ToolTestData.AUTO;
import static dev.gantry.worker.api.tools.ToolTestData.conversation;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.model.tokenizer.ChatTemplate;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import dev.gantry.worker.testing.TestModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Conversations with tools rendered through real templates; the expected texts are what
 * transformers' apply_chat_template writes for them (read off the templates, with vLLM's tool
 * dicts: description and parameters always present).
 */
class ToolPromptTest {

    private static final String WEATHER_JSON = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"description\": \"Get the current weather in a city\", \"parameters\": {\"type\": \"object\","
            + " \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name\"}, \"unit\":"
            + " {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"]}}}";
    private static final String TIME_JSON = "{\"type\": \"function\", \"function\": {\"name\": \"get_time\","
            + " \"description\": null, \"parameters\": null}}";

    @Test
    void qwen25RendersToolsCallsAndResults() {
        String text = ToolPrompt.render(ToolTestData.qwen25(), conversation(), AUTO, true);
        assertThat(text).isEqualTo("<|im_start|>system\nYou are a weather bot.\n\n# Tools\n\n"
                + "You may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + WEATHER_JSON + "\n" + TIME_JSON + "\n</tools>\n\n"
                + "For each function call, return a json object with function name and arguments within"
                + " <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\":"
                + " <args-json-object>}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
                + " \"unit\": \"celsius\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n22 degrees\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void qwen25GroupsConsecutiveToolResultsAndKeepsContentBeforeCalls() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "Weather and time?"),
                new ChatMessage("assistant", "Let me look.", null, List.of(
                        new ChatMessage.ToolCall("a", "get_weather", "{\"city\": \"Oslo\"}", java.util.Map.of("city", "Oslo")),
                        new ChatMessage.ToolCall("b", "get_time", "not json")), null),
                new ChatMessage("tool", "-3", null, List.of(), "a"),
                new ChatMessage("tool", "12:00", null, List.of(), "b"));
        String text = ToolPrompt.render(ToolTestData.qwen25(), messages, AUTO, false);
        assertThat(text).endsWith("<|im_start|>user\nWeather and time?<|im_end|>\n"
                + "<|im_start|>assistant\nLet me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\":"
                + " \"not json\"}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n-3\n</tool_response>\n<tool_response>\n12:00\n</tool_response>"
                + "<|im_end|>\n");
    }

    @Test
    void llama31PutsToolsInTheFirstUserMessage() {
        String text = ToolPrompt.render(ToolTestData.llama31(), conversation(), ToolTestData.settings(ToolChoice.AUTO,
                true, ToolTestData.WEATHER), true);
        assertThat(text).isEqualTo("""
                <|begin_of_text|><|start_header_id|>system<|end_header_id|>

                Environment: ipython
                Cutting Knowledge Date: December 2023
                Today Date: 26 Jul 2024

                You are a weather bot.<|eot_id|><|start_header_id|>user<|end_header_id|>

                Given the following functions, please respond with a JSON for a function call with its proper \
                arguments that best answers the given prompt.

                Respond in the format {"name": function name, "parameters": dictionary of argument name and its \
                value}.Do not use variables.

                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Get the current weather in a city",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {
                                    "type": "string",
                                    "description": "City name"
                                },
                                "unit": {
                                    "type": "string",
                                    "enum": [
                                        "celsius",
                                        "fahrenheit"
                                    ]
                                }
                            },
                            "required": [
                                "city"
                            ]
                        }
                    }
                }

                What's the weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                {"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}<|eot_id|>\
                <|start_header_id|>ipython<|end_header_id|>

                "22 degrees"<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                """);
    }

    @Test
    void llama31WithoutToolsIsThePlainConversation() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", " Hi "));
        assertThat(ToolPrompt.render(ToolTestData.llama31(), messages, null, true)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
                        + "Today Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama31RefusesParallelCallsInHistoryAsItsTemplateDoes() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "x"), new ChatMessage("assistant", "", null,
                List.of(new ChatMessage.ToolCall("a", "get_time", "{}"), new ChatMessage.ToolCall("b", "get_time", "{}")), null));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ToolPrompt.render(ToolTestData.llama31(), messages, AUTO, true))
                .hasMessageContaining("This model only supports single tool-calls at once!");
    }

    @Test
    void templatesWithoutToolsGetThemInTheSystemMessage() {
        ChatTemplate chatMl = ChatTemplate.chatMl("", "");
        assertThat(ToolPrompt.knowsTools(chatMl)).isFalse();
        assertThat(ToolPrompt.knowsTools(ToolTestData.qwen25())).isTrue();
        String text = ToolPrompt.render(chatMl, conversation(), AUTO, true);
        assertThat(text).isEqualTo("<|im_start|>system\nYou are a weather bot.\n\n" + ToolPrompt.instructions(AUTO)
                + "<|im_end|>\n<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
                + " \"unit\": \"celsius\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>tool\n22 degrees<|im_end|>\n<|im_start|>assistant\n");
        assertThat(ToolPrompt.instructions(AUTO)).startsWith("# Tools\n\n")
                .contains("\n{\"name\": \"get_weather\", \"description\": \"Get the current weather in a city\","
                        + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\",")
                .contains("\n{\"name\": \"get_time\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}\n")
                .contains("<tool_call>\n{\"name\": \"the function's name\", \"arguments\": {")
                .endsWith("When no function is needed, answer directly.");
        assertThat(ToolPrompt.instructions(ToolTestData.settings(ToolChoice.function("get_time"), true,
                ToolTestData.TIME))).endsWith("You must call the function get_time now.");
    }

    @Test
    void smolLm2sTemplateKnowsNoToolsAndGetsThemInItsSystemMessage() {
        try (GgufFile gguf = GgufFile.open(TestModels.smolLm2())) {
            ChatTemplate template = ChatTemplate.fromGguf(gguf, Tokenizer.fromGguf(gguf));
            assertThat(ToolPrompt.knowsTools(template)).isFalse();
            String text = ToolPrompt.render(template, List.of(new ChatMessage("user", "Weather in Paris?")), AUTO, true);
            assertThat(text).isEqualTo("<|im_start|>system\n" + ToolPrompt.instructions(AUTO) + "<|im_end|>\n"
                    + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n");
            // no tools, no tool messages: the template as it is, with its own system message
            assertThat(ToolPrompt.render(template, List.of(new ChatMessage("user", "Hi")), null, false))
                    .isEqualTo(template.render(List.of(new ChatMessage("user", "Hi")), false));
        }
    }

    @Test
    void withoutASystemMessageTheInstructionsAreOne() {
        ChatTemplate chatMl = ChatTemplate.chatMl("", "");
        String text = ToolPrompt.render(chatMl, List.of(new ChatMessage("user", "Hi")), AUTO, true);
        assertThat(text).isEqualTo("<|im_start|>system\n" + ToolPrompt.instructions(AUTO) + "<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void toolResultsBecomeUserMessagesWhereTheTemplateRefusesTheRole() {
        ChatTemplate strict = ChatTemplate.of("{% for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}"
                + "{{ raise_exception('unknown role ' + m.role) }}{% endif %}[{{ m.role }}: {{ m.content }}]{% endfor %}", "", "");
        String text = ToolPrompt.render(strict, conversation(), AUTO, false);
        assertThat(text).startsWith("[system: You are a weather bot.\n\n# Tools")
                .endsWith("[user: What's the weather in Paris?][assistant: <tool_call>\n{\"name\": \"get_weather\","
                        + " \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>]"
                        + "[user: <tool_response>\n22 degrees\n</tool_response>]");
    }

    @Test
    void instructionsGoToTheFirstUserMessageWhereSystemIsRefused() {
        ChatTemplate noSystem = ChatTemplate.of("{% for m in messages %}{% if m.role == 'system' %}"
                + "{{ raise_exception('no system') }}{% endif %}[{{ m.role }}: {{ m.content }}]{% endfor %}", "", "");
        String text = ToolPrompt.render(noSystem, List.of(new ChatMessage("system", "Be kind."),
                new ChatMessage("user", "Hi")), AUTO, false);
        assertThat(text).isEqualTo("[user: Be kind.\n\n" + ToolPrompt.instructions(AUTO) + "\n\nHi]");
    }

    @Test
    void toolChoiceNoneStillRendersTheTools() {
        String text = ToolPrompt.render(ToolTestData.qwen25(), List.of(new ChatMessage("user", "Hi")),
                ToolTestData.settings(ToolChoice.NONE, true, ToolTestData.WEATHER), true);
        assertThat(text).contains("<tools>\n" + WEATHER_JSON + "\n</tools>");
    }
}
