package dev.gantry.worker.api;

import dev.gantry.worker.api.GenerationRequest.Prompt;
import dev.gantry.worker.api.tools.ToolPrompt;
import dev.gantry.worker.api.tools.ToolSettings;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.tokenizer.ChatTemplateException;
import dev.gantry.worker.model.tokenizer.Tokenizer;

/** Turns a request's prompt into the token ids the engine continues, as {@code gantry generate} does. */
final class PromptTokens {

    private PromptTokens() {}

    static int[] of(Prompt prompt, Model model) {
        return of(prompt, null, model);
    }

    /** With chat's tools, which the model's template shows it (or the system message, where it knows none). */
    static int[] of(Prompt prompt, ToolSettings tools, Model model) {
        Tokenizer tok = model.tokenizer();
        return switch (prompt) {
            // An empty prompt is "start of text": BOS alone, as llama.cpp and gantry generate do.
            case Prompt.Text t when t.text().isEmpty() -> new int[] {tok.bosId()};
            case Prompt.Text t -> tok.encode(t.text(), tok.addBosByDefault(), true);
            case Prompt.Tokens t -> checked(t.ids(), tok.vocabSize());
            case Prompt.Chat c -> {
                String rendered;
                try {
                    rendered = ToolPrompt.render(model.chatTemplate(), c.messages(), tools, true);
                } catch (ChatTemplateException e) {
                    throw ApiException.badRequest("messages", e.getMessage() + ".");
                }
                // Templates that write the BOS token themselves must not get a second one.
                boolean addBos = tok.addBosByDefault() && !rendered.startsWith(tok.piece(tok.bosId()));
                yield tok.encode(rendered, addBos, true);
            }
        };
    }

    private static int[] checked(int[] ids, int vocabSize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= vocabSize) {
                throw ApiException.badRequest("prompt", "prompt token ids must be below the vocabulary size "
                        + vocabSize + ", got " + ids[i] + " at index " + i + ".");
            }
        }
        return ids;
    }
}
