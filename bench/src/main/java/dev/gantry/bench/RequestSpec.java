package dev.gantry.bench;

import java.util.List;
import java.util.stream.Collectors;

/**
 * One request a workload asks for: the conversation to send and how many tokens to generate.
 * The single-prompt workloads make one user message (a shared-prefix one adds a system message
 * before it); the chat workload makes several turns.
 *
 * @param messages    the conversation, last message the user's
 * @param maxTokens   the output length asked for (with {@code ignore_eos} and {@code min_tokens})
 * @param promptWords words in all messages: what stands in for prompt tokens when a server sends no usage
 */
public record RequestSpec(List<Message> messages, int maxTokens, int promptWords) {

    /** One chat message. */
    public record Message(String role, String content) {
    }

    public RequestSpec {
        messages = List.copyOf(messages);
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a request needs at least one message");
        }
    }

    /** A request of one user message. */
    public static RequestSpec of(String prompt, int maxTokens, int promptWords) {
        return new RequestSpec(List.of(new Message("user", prompt)), maxTokens, promptWords);
    }

    /**
     * The text {@code /v1/completions} gets: the messages' contents joined by blank lines, so a
     * shared system prompt stays a shared prefix of the completion prompt too.
     */
    public String asPrompt() {
        if (messages.size() == 1) {
            return messages.getFirst().content();
        }
        return messages.stream().map(Message::content).collect(Collectors.joining("\n\n"));
    }
}
