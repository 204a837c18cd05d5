package dev.gantry.worker.api.tools;

import dev.gantry.worker.api.OpenAiDtos;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.model.tokenizer.ChatTemplate;
import dev.gantry.worker.model.tokenizer.ChatTemplateException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Renders a conversation with tools into prompt text.
 *
 * <p>A template that knows tools (its text uses a {@code tools} variable, as Qwen2.5's, Hermes' and
 * Llama 3.1's do) gets them as vLLM passes them: {@code tools} is the list of {@link
 * ToolDefinition#templateValue()}, and messages keep their {@code tool_calls}, {@code tool_call_id}
 * and {@code name}. As vLLM by default ({@code --exclude-tools-when-tool-choice-none} unset), the
 * tools are rendered for {@code tool_choice: none} too.
 *
 * <p>A template that does not (plain ChatML, SmolLM2's) would drop them silently, so this class
 * writes the tools into the system message itself: each function's name, description and
 * parameter schema, and the instruction to answer with {@code <tool_call>{"name": ..., "arguments":
 * ...}</tool_call>} blocks, which {@link ToolCallParser} reads. Earlier calls of the assistant are
 * written back in that form; tool results stay {@code tool} messages when the template renders that
 * role, and become user messages wrapped in {@code <tool_response>} tags when it refuses it.
 */
public final class ToolPrompt {
    private static final Pattern USES_TOOLS = Pattern.compile("\\btools\\b");

    private ToolPrompt() {}

    /**
     * The prompt text of a conversation.
     *
     * @param tools the request's tools, or null for none
     * @throws ChatTemplateException when the template cannot render the conversation
     */
    public static String render(ChatTemplate template, List<ChatMessage> messages, ToolSettings tools,
            boolean addGenerationPrompt) {
        if (knowsTools(template)) {
            return template.render(messages, addGenerationPrompt, tools == null ? Map.of() : Map.of("tools", toolValues(tools)));
        }
        boolean toolMessages = messages.stream().anyMatch(m -> !m.toolCalls().isEmpty() || m.role().equals("tool"));
        if (tools == null && !toolMessages) {
            return template.render(messages, addGenerationPrompt);
        }
        String instructions = tools == null ? null : instructions(tools);
        List<ChatMessage> calls = withCallsAsText(messages);
        ChatTemplateException first = null;
        // most faithful first: a system message and tool messages; then results as user messages;
        // then the instructions in the first user message, for templates that refuse system roles
        for (int attempt = 0; attempt < 3; attempt++) {
            List<ChatMessage> attemptMessages = attempt == 0 ? calls : withResultsAsUser(calls);
            if (instructions != null) {
                attemptMessages = attempt < 2 ? withSystem(attemptMessages, instructions)
                        : withFirstUser(attemptMessages, instructions);
            }
            try {
                return template.render(attemptMessages, addGenerationPrompt);
            } catch (ChatTemplateException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        throw first;
    }

    /** Whether the template renders tools itself: its text uses a {@code tools} variable. */
    public static boolean knowsTools(ChatTemplate template) {
        return USES_TOOLS.matcher(template.template()).find();
    }

    /** The {@code tools} variable of templates. */
    public static List<Map<String, Object>> toolValues(ToolSettings tools) {
        return tools.tools().stream().map(ToolDefinition::templateValue).toList();
    }

    /** What templates that know nothing of tools get in the system message. */
    static String instructions(ToolSettings tools) {
        StringBuilder out = new StringBuilder("# Tools\n\nYou can call functions to help you answer. Each function"
                + " is described below by a JSON object with its name, its description and the JSON Schema of its"
                + " arguments:\n");
        for (ToolDefinition t : tools.tools()) {
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", t.name());
            if (t.description() != null) {
                function.put("description", t.description());
            }
            if (t.parameters() != null) {
                function.put("parameters", OpenAiDtos.JSON.convertValue(t.parameters(), Object.class));
            } else {
                Map<String, Object> none = new LinkedHashMap<>();
                none.put("type", "object");
                none.put("properties", Map.of());
                function.put("parameters", none);
            }
            out.append('\n').append(ChatTemplate.toJson(function));
        }
        out.append("\n\nTo call a function, answer with a JSON object holding its name and its arguments between"
                + " <tool_call> and </tool_call> tags, one such block for each call:\n<tool_call>\n"
                + "{\"name\": \"the function's name\", \"arguments\": {\"argument name\": \"value\"}}\n</tool_call>\n"
                + "The result of each call will be given to you in a later message, inside <tool_response>"
                + " </tool_response> tags or as a tool message.");
        out.append(switch (tools.choice().mode()) {
            case REQUIRED -> " You must call at least one function now.";
            case FUNCTION -> " You must call the function " + tools.choice().function() + " now.";
            default -> " When no function is needed, answer directly.";
        });
        return out.toString();
    }

    /** The Hermes form {@link ToolCallParser} reads: {@code <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>}. */
    static String callText(ChatMessage.ToolCall call) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", call.name());
        json.put("arguments", call.argumentsValue());
        return "<tool_call>\n" + ChatTemplate.toJson(json) + "\n</tool_call>";
    }

    private static List<ChatMessage> withCallsAsText(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            if (m.toolCalls().isEmpty()) {
                out.add(m);
                continue;
            }
            StringBuilder text = new StringBuilder(m.content() == null ? "" : m.content());
            for (ChatMessage.ToolCall call : m.toolCalls()) {
                if (!text.isEmpty()) {
                    text.append('\n');
                }
                text.append(callText(call));
            }
            out.add(new ChatMessage(m.role(), text.toString(), m.name(), List.of(), null));
        }
        return out;
    }

    /** Consecutive tool results become one user message, each result in its tags (as Qwen2.5 writes them). */
    private static List<ChatMessage> withResultsAsUser(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        StringBuilder results = null;
        for (ChatMessage m : messages) {
            if (m.role().equals("tool")) {
                results = results == null ? new StringBuilder() : results.append('\n');
                results.append("<tool_response>\n").append(m.content() == null ? "" : m.content()).append("\n</tool_response>");
                continue;
            }
            if (results != null) {
                out.add(new ChatMessage("user", results.toString()));
                results = null;
            }
            out.add(m);
        }
        if (results != null) {
            out.add(new ChatMessage("user", results.toString()));
        }
        return out;
    }

    private static List<ChatMessage> withSystem(List<ChatMessage> messages, String instructions) {
        List<ChatMessage> out = new ArrayList<>(messages.size() + 1);
        if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
            ChatMessage system = messages.getFirst();
            String text = system.content() == null || system.content().isEmpty() ? instructions
                    : system.content() + "\n\n" + instructions;
            out.add(new ChatMessage("system", text, system.name(), List.of(), null));
            out.addAll(messages.subList(1, messages.size()));
        } else {
            out.add(new ChatMessage("system", instructions));
            out.addAll(messages);
        }
        return out;
    }

    private static List<ChatMessage> withFirstUser(List<ChatMessage> messages, String instructions) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        boolean done = false;
        String system = null;
        for (ChatMessage m : messages) {
            if (!done && m.role().equals("system")) {
                system = m.content();
                continue;
            }
            if (!done && m.role().equals("user")) {
                String prefix = (system == null || system.isEmpty() ? "" : system + "\n\n") + instructions + "\n\n";
                out.add(new ChatMessage("user", prefix + (m.content() == null ? "" : m.content()), m.name(), List.of(), null));
                done = true;
                continue;
            }
            out.add(m);
        }
        return done ? out : messages;
    }
}
