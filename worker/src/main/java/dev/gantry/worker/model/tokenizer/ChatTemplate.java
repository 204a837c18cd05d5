package dev.gantry.worker.model.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import dev.gantry.worker.model.gguf.GgufFile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A model's chat template ({@code tokenizer.chat_template}, a Jinja template written for Hugging
 * Face's renderer) that turns a conversation into prompt text, rendered with Jinjava set up like
 * Hugging Face's environment (see {@link JinjaSupport}). Templates see {@code messages} (each with
 * {@code role} and {@code content}, and {@code name}, {@code tool_calls}, {@code tool_call_id} where
 * the message has them), {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token} and {@code raise_exception}.
 *
 * <p>The rendered text holds special tokens written out ({@code <|im_start|>}, {@code <s>}), so it
 * is tokenized with {@code parseSpecial}. Instances are immutable and thread-safe.
 */
public final class ChatTemplate {
    private static final System.Logger LOG = System.getLogger(ChatTemplate.class.getName());

    /** ChatML, which llama.cpp also falls back to when a model has no template. */
    public static final String CHATML = "{% for message in messages %}"
            + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final Jinjava JINJAVA = JinjaSupport.newJinjava();

    private final String template;
    /** What Jinjava renders: Jinja2 drops one trailing newline of a template, Jinjava does not. */
    private final String renderable;
    private final String bosToken;
    private final String eosToken;
    private final boolean fallback;

    private ChatTemplate(String template, String bosToken, String eosToken, boolean fallback) {
        this.template = template;
        this.renderable = JinjaSupport.preprocess(template.endsWith("\r\n") ? template.substring(0, template.length() - 2)
                : template.endsWith("\n") ? template.substring(0, template.length() - 1) : template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.fallback = fallback;
    }

    /**
     * The template of a GGUF file, with its tokenizer's BOS and EOS texts. A file without a template
     * gets {@link #CHATML}; so does one whose template cannot be compiled, with a warning (as
     * llama.cpp's server does), so that the model stays usable for plain completions.
     */
    public static ChatTemplate fromGguf(GgufFile gguf, Tokenizer tokenizer) {
        String bos = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : "";
        String eos = tokenizer.eosId() >= 0 ? tokenizer.piece(tokenizer.eosId()) : "";
        String source = gguf.getString("tokenizer.chat_template", null);
        if (source == null || source.isBlank()) {
            return new ChatTemplate(CHATML, bos, eos, true);
        }
        try {
            return of(source, bos, eos);
        } catch (ChatTemplateException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: {1}; using ChatML instead", gguf.path(), e.getMessage());
            return new ChatTemplate(CHATML, bos, eos, true);
        }
    }

    /**
     * Compiles a template.
     *
     * @throws ChatTemplateException if it is not valid Jinja
     */
    public static ChatTemplate of(String template, String bosToken, String eosToken) {
        Objects.requireNonNull(template, "template");
        JinjavaInterpreter interpreter = JINJAVA.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            interpreter.parse(JinjaSupport.preprocess(template));
        } catch (RuntimeException e) {
            throw new ChatTemplateException("the chat template is not valid Jinja: " + e.getMessage(), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        List<TemplateError> fatal = fatal(interpreter.getErrors());
        if (!fatal.isEmpty()) {
            throw new ChatTemplateException("the chat template is not valid Jinja: " + describe(fatal));
        }
        return new ChatTemplate(template, Objects.requireNonNull(bosToken, "bosToken"),
                Objects.requireNonNull(eosToken, "eosToken"), false);
    }

    /** ChatML with the given BOS and EOS texts. */
    public static ChatTemplate chatMl(String bosToken, String eosToken) {
        return new ChatTemplate(CHATML, bosToken, eosToken, true);
    }

    /** The Jinja source. */
    public String template() {
        return template;
    }

    /** Whether this is ChatML standing in for a missing or unusable template. */
    public boolean isFallback() {
        return fallback;
    }

    /** {@link #render(List, boolean, Map)} with no extra variables. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt end with the opening of an assistant turn, for the model to complete
     * @param variables           more variables for the template (e.g. {@code tools}); the standard
     *                            ones take precedence
     * @throws ChatTemplateException when the template raises an error or cannot be evaluated
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            msgs.add(m.templateView());
        }
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(renderable, context);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("cannot render the chat template: " + e.getMessage(), e);
        }
        List<TemplateError> fatal = fatal(result.getErrors());
        if (!fatal.isEmpty()) {
            for (TemplateError error : fatal) {
                for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                    if (t instanceof JinjaSupport.RaisedException raised) {
                        throw new ChatTemplateException("the chat template rejected the conversation: "
                                + raised.getMessage());
                    }
                }
            }
            throw new ChatTemplateException("cannot render the chat template: " + describe(fatal));
        }
        return result.getOutput();
    }

    /**
     * JSON as templates' {@code tojson} writes it (Python's {@code json.dumps}: {@code ", "} and
     * {@code ": "}, non-ASCII as is), for text that sits in a prompt beside what templates write.
     */
    public static String toJson(Object value) {
        StringBuilder out = new StringBuilder();
        JinjaSupport.writeJson(out, value, -1, 0);
        return out.toString();
    }

    private static List<TemplateError> fatal(List<TemplateError> errors) {
        return errors.stream().filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
    }

    private static String describe(List<TemplateError> errors) {
        return errors.stream()
                .map(e -> e.getMessage() + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""))
                .collect(Collectors.joining("; "));
    }

    @Override
    public String toString() {
        return fallback ? "ChatTemplate[ChatML fallback]" : "ChatTemplate[" + template.length() + " chars]";
    }
}
