package dev.gantry.worker.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Chat templates render as Hugging Face's Jinja2 environment renders them (the expected strings
 * were checked with Jinja2 set up as transformers sets it up).
 */
class ChatTemplateTest {
    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "  Be brief.  "),
            new ChatMessage("user", "Hi there, bot!"),
            new ChatMessage("assistant", "Hello  human"),
            new ChatMessage("user", "How are you?"));

    private static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content']"
            + " | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    private static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    @Test
    void smolLm2TemplateRendersChatMl() {
        try (GgufFile gguf = GgufFile.open(TestModels.smolLm2())) {
            ChatTemplate template = ChatTemplate.fromGguf(gguf, Tokenizer.fromGguf(gguf));
            assertThat(template.isFallback()).isFalse();
            String text = template.render(List.of(new ChatMessage("system", "You are a helpful assistant."),
                    new ChatMessage("user", "What is the capital of France?")), true);
            assertThat(text).isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                    + "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
            // without a system message SmolLM2's template supplies its own
            assertThat(template.render(List.of(new ChatMessage("user", "Hi")), false)).isEqualTo(
                    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                            + "<|im_start|>user\nHi<|im_end|>\n");
        }
    }

    @Test
    void renderedSmolLm2PromptTokenizesWithSpecialTokens() {
        try (GgufFile gguf = GgufFile.open(TestModels.smolLm2())) {
            Tokenizer tok = Tokenizer.fromGguf(gguf);
            String text = ChatTemplate.fromGguf(gguf, tok).render(List.of(new ChatMessage("user", "hi")), true);
            int[] ids = tok.encode(text, false, true);
            assertThat(ids).startsWith(1).contains(2);
            assertThat(tok.decode(ids, true)).isEqualTo(text);
        }
    }

    @Test
    void llama3Template() {
        ChatTemplate template = ChatTemplate.of(LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        // trim applies to the content alone: Jinja filters bind tighter than +
        assertThat(template.render(CONVERSATION, true)).isEqualTo("<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there, bot!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello  human<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void mistralTemplateAndItsRaisedError() {
        ChatTemplate template = ChatTemplate.of(MISTRAL, "<s>", "</s>");
        List<ChatMessage> turns = List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"),
                new ChatMessage("user", "Again"));
        assertThat(template.render(turns, true)).isEqualTo("<s>[INST] Hi [/INST]Hello</s>[INST] Again [/INST]");
        assertThatThrownBy(() -> template.render(CONVERSATION, true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("the chat template rejected the conversation: "
                        + "Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void qwen25TemplateWithWhitespaceControl() {
        ChatTemplate template = ChatTemplate.of(VocabVectors.resourceText("templates/qwen2.5.jinja"), "", "<|im_end|>");
        assertThat(template.render(CONVERSATION, true)).isEqualTo("<|im_start|>system\n  Be brief.  <|im_end|>\n"
                + "<|im_start|>user\nHi there, bot!<|im_end|>\n<|im_start|>assistant\nHello  human<|im_end|>\n"
                + "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n");
        assertThat(template.render(List.of(new ChatMessage("user", "Hi")), true)).isEqualTo(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void qwen25TemplateWithToolsUsesPythonJson() {
        ChatTemplate template = ChatTemplate.of(VocabVectors.resourceText("templates/qwen2.5.jinja"), "", "<|im_end|>");
        Map<String, Object> tool = Map.of("type", "function");
        String text = template.render(List.of(new ChatMessage("user", "Hi")), false, Map.of("tools", List.of(tool)));
        assertThat(text).contains("<tools>\n{\"type\": \"function\"}\n</tools>");
    }

    @Test
    void namespacesLoopsAndPythonStringMethods() {
        ChatTemplate template = ChatTemplate.of(VocabVectors.resourceText("templates/features.jinja"), "<s>", "</s>");
        assertThat(template.render(CONVERSATION, true)).isEqualTo("[BE BRIEF.|3]\n"
                + "1/3 user greets: Hi_there,_bot!\n2/3 assistant: Hello_human\n3/3 user: How_are_you? (last)\n"
                + "[\"system\", \"user\", \"assistant\", \"user\"] {\"role\": \"system\", \"content\": \"  Be brief.  \"}\n"
                + "ends loud i there, bot a|b||c  y |Hello World|abc");
    }

    private static String render(String template, Map<String, ?> variables) {
        return ChatTemplate.of(template, "", "").render(List.of(new ChatMessage("user", "hi")), false, variables);
    }

    @Test
    void notBindsLooserThanTestsAndComparisonsAsInJinja2() {
        Map<String, Object> vars = Map.of("tools", List.of(1, 2), "m", Map.of("calls", List.of(1, 2)));
        assertThat(render("{% if not tools is defined %}A{% else %}B{% endif %}", vars)).isEqualTo("B");
        assertThat(render("{% if not nothing is defined %}A{% else %}B{% endif %}", vars)).isEqualTo("A");
        assertThat(render("{{ not tools is none }} {{ not tools is not none }} {{ not tools is string }}", vars))
                .isEqualTo("true false true");
        assertThat(render("{{ not m.calls|length == 1 }} {{ not m['calls'] | length != 2 }} {{ not 3 in tools }}"
                + " {{ not tools[0] == 1 and true }} {{ not false }}", vars)).isEqualTo("true true true false true");
        assertThat(JinjaSupport.preprocess("{{ 'not a is b' }} {% if not x.y[0] is defined %}"))
                .isEqualTo("{{ 'not a is b' }} {% if not (x.y[0] is defined) %}");
    }

    @Test
    void lstripBlocksStripsOnlyWhatStartsALine() {
        assertThat(render("{{ 'a' }}, {% if true %}x{% endif %}|{% for i in [1, 2] %}{{ i }}, {% endfor %}|", Map.of()))
                .isEqualTo("a, x|1, 2, |");
        assertThat(render("a\n  {% if true %}x{% endif %}\n\t{# note #}\nb {# c #} c\n  {%+ if true %}y{% endif %}", Map.of()))
                .isEqualTo("a\nxb  c\n  y"); // trim_blocks takes the newline after a block or comment
    }

    @Test
    void stringsAreIterableAndMappingsHaveItems() {
        Map<String, Object> tool = new java.util.LinkedHashMap<>();
        tool.put("name", "f");
        tool.put("n", 2);
        Map<String, Object> vars = Map.of("tool", tool);
        assertThat(render("{{ 'a' is iterable }} {{ 'a' is sequence }} {{ tool is iterable }} {{ 3 is iterable }}"
                + " {{ tool is mapping }} {{ 'a' is mapping }} {{ 'a' is string }}", vars))
                .isEqualTo("true true true false true false true");
        assertThat(render("{% for k, v in tool | items %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}", vars))
                .isEqualTo("name=f, n=2");
        assertThat(render("{{ tool | tojson(indent=2) }}|{{ [tool] | tojson(indent=None) }}|{{ [] | tojson(indent=2) }}", vars))
                .isEqualTo("{\n  \"name\": \"f\",\n  \"n\": 2\n}|[{\"name\": \"f\", \"n\": 2}]|[]");
        assertThat(render("{{ [tool, {'name': 'g'}] | selectattr('name', 'equalto', 'g') | list | length }}"
                + "{% set ns = namespace(found=false) %}{% for t in [tool] %}{% if t.name == 'f' %}{% set ns.found = true %}"
                + "{% endif %}{% endfor %} {{ ns.found }}", vars)).isEqualTo("1 true");
    }

    @Test
    void messagesShowToolFieldsOnlyWhereTheyHaveThem() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "hi"),
                new ChatMessage("assistant", "", null, List.of(new ChatMessage.ToolCall("c1", "f", "{\"a\": 1}",
                        Map.of("a", 1))), null),
                new ChatMessage("tool", "42", "f", List.of(), "c1"));
        String template = "{% for m in messages %}{{ m.role }}:{{ 'tool_calls' in m }}/{{ m.name is defined }}"
                + "/{{ m.tool_call_id is defined }}{% for c in m.tool_calls %} {{ c.id }} {{ c.type }} {{ c.function.name }}"
                + " {{ c.function.arguments | tojson }} {{ c.function.arguments.a }}{% endfor %}{% if m.tool_call_id %}"
                + " {{ m.tool_call_id }} {{ m.name }}{% endif %};{% endfor %}";
        assertThat(ChatTemplate.of(template, "", "").render(messages, false)).isEqualTo(
                "user:false/false/false;assistant:true/false/false c1 function f {\"a\": 1} 1;tool:false/true/true c1 f;");
    }

    @Test
    void strftimeNowIsAvailable() {
        String year = String.valueOf(java.time.Year.now().getValue());
        assertThat(ChatTemplate.of("{{ strftime_now('%Y') }}", "", "").render(List.of(), false)).isIn(year,
                String.valueOf(Integer.parseInt(year) + 1));
    }

    @Test
    void missingTemplateFallsBackToChatMl() {
        try (GgufFile gguf = GgufFile.open(TestModels.stories260K())) {
            ChatTemplate template = ChatTemplate.fromGguf(gguf, Tokenizer.fromGguf(gguf));
            assertThat(template.isFallback()).isTrue();
            assertThat(template.render(List.of(new ChatMessage("user", "Hi")), true))
                    .isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        }
    }

    @Test
    void invalidTemplateIsRejectedWithTheReason() {
        assertThatThrownBy(() -> ChatTemplate.of("{% for m in messages %}{{ m.content }}", "", ""))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageStartingWith("the chat template is not valid Jinja")
                .hasMessageContaining("endfor");
    }

    @Test
    void templateErrorsAtRenderTimeAreReported() {
        ChatTemplate template = ChatTemplate.of("{{ no_such_function(messages) }}", "", "");
        assertThatThrownBy(() -> template.render(List.of(new ChatMessage("user", "Hi")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageStartingWith("cannot render the chat template")
                .hasMessageContaining("no_such_function");
    }
}
