package dev.gantry.worker.model.tokenizer;

/**
 * A chat template that cannot be compiled, or that failed while rendering a conversation (a
 * template calling {@code raise_exception}, for instance because roles do not alternate). The
 * message says which and why, and is meant for the person who sent the conversation.
 */
public class ChatTemplateException extends IllegalArgumentException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
