package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Prompt;
import dev.gantry.worker.config.ServingPlan;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.tokenizer.ChatTemplateException;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * vLLM's {@code POST /tokenize}, {@code POST /detokenize} and {@code GET /version}, which clients
 * use to count a prompt's tokens against {@code max_model_len} before they send it: the same
 * tokenizer and chat template as generation, so the count is the one the engine will see.
 */
@ApplicationScoped
public class TokenizeHandler {
    private static final Set<String> TOKENIZE_FIELDS = Set.of("model", "prompt", "messages", "add_special_tokens",
            "add_generation_prompt", "return_token_strs");
    private static final Set<String> DETOKENIZE_FIELDS = Set.of("model", "tokens");

    @Inject
    WorkerLifecycle lifecycle;

    @Inject
    ErrorResponder errors;

    @ConfigProperty(name = "quarkus.application.version", defaultValue = "unknown")
    String version;

    /**
     * {"prompt": text} (a BOS first where the model adds one, unless {@code add_special_tokens} is
     * false) or {"messages": [...]} rendered by the chat template (with the assistant's opening
     * unless {@code add_generation_prompt} is false) to {"count", "max_model_len", "tokens",
     * "token_strs"}: token_strs, the vocabulary's spelling of each, only when {@code return_token_strs}.
     */
    void tokenize(RoutingContext ctx) {
        JsonNode body = body(ctx, TOKENIZE_FIELDS);
        boolean chat = RequestParser.field(body, "messages") != null;
        if (chat && RequestParser.field(body, "prompt") != null) {
            throw ApiException.badRequest("prompt", "send either prompt or messages, not both.");
        }
        Prompt prompt = chat ? RequestParser.messages(body) : text(body);
        Boolean addSpecial = RequestParser.bool(body, "add_special_tokens");
        Boolean addGenerationPrompt = RequestParser.bool(body, "add_generation_prompt");
        boolean tokenStrs = Boolean.TRUE.equals(RequestParser.bool(body, "return_token_strs"));
        Model model = lifecycle.model();
        ServingPlan plan = lifecycle.plan();
        blocking(ctx, () -> {
            Tokenizer tok = model.tokenizer();
            int[] ids = switch (prompt) {
                case Prompt.Chat c -> {
                    String rendered;
                    try {
                        rendered = model.chatTemplate().render(c.messages(), addGenerationPrompt == null || addGenerationPrompt);
                    } catch (ChatTemplateException e) {
                        throw ApiException.badRequest("messages", e.getMessage() + ".");
                    }
                    // vLLM's default for chat: the template writes the special tokens itself.
                    yield tok.encode(rendered, Boolean.TRUE.equals(addSpecial) && tok.addBosByDefault(), true);
                }
                case Prompt.Text t -> tok.encode(t.text(), (addSpecial == null || addSpecial) && tok.addBosByDefault(), true);
                case Prompt.Tokens t -> throw new IllegalStateException("not a tokenize prompt");
            };
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("count", ids.length);
            out.put("max_model_len", plan.engine().maxModelLen());
            out.put("tokens", ids);
            List<String> strs = null;
            if (tokenStrs) {
                strs = new ArrayList<>(ids.length);
                for (int id : ids) {
                    strs.add(tok.tokenText(id));
                }
            }
            out.put("token_strs", strs);
            return out;
        });
    }

    /** {"tokens": [ids]} to {"prompt": their text}, special tokens written out (vLLM's decode). */
    void detokenize(RoutingContext ctx) {
        JsonNode body = body(ctx, DETOKENIZE_FIELDS);
        JsonNode tokens = RequestParser.field(body, "tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiException.badRequest("tokens", "tokens must be an array of token ids"
                    + (tokens == null ? "." : ", got " + RequestParser.describe(tokens) + "."));
        }
        Model model = lifecycle.model();
        int vocab = model.tokenizer().vocabSize();
        int[] ids = new int[tokens.size()];
        for (int k = 0; k < ids.length; k++) {
            JsonNode e = tokens.get(k);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0 || e.intValue() >= vocab) {
                throw ApiException.badRequest("tokens", "tokens must be token ids in [0, " + vocab + "), got "
                        + RequestParser.describe(e) + " at index " + k + ".");
            }
            ids[k] = e.intValue();
        }
        blocking(ctx, () -> Map.of("prompt", model.tokenizer().decode(ids, true)));
    }

    void version(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "application/json").end(OpenAiDtos.write(Map.of("version", version)));
    }

    private JsonNode body(RoutingContext ctx, Set<String> fields) {
        return body(ctx, fields, lifecycle);
    }

    /** The JSON body, every field known, the model (when named) the one served. */
    static JsonNode body(RoutingContext ctx, Set<String> fields, WorkerLifecycle lifecycle) {
        JsonNode body = GenerationHandler.readJson(RequestBodyReader.body(ctx));
        if (!body.isObject()) {
            throw ApiException.badRequest(null, "The request body must be a JSON object, got " + RequestParser.describe(body) + ".");
        }
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            if (!fields.contains(e.getKey()) && !e.getValue().isNull()) {
                throw ApiException.badRequest(e.getKey(), "Unrecognized request argument supplied: " + e.getKey() + ".");
            }
        }
        String model = RequestParser.string(body, "model");
        ServingPlan plan = lifecycle.plan();
        if (plan == null || lifecycle.model() == null) {
            throw ApiException.unavailable("model_loading", "The model is still loading; try again shortly.");
        }
        if (model != null && !model.equals(plan.servedModelName())) {
            throw ApiException.modelNotFound(model);
        }
        return body;
    }

    private static Prompt text(JsonNode body) {
        JsonNode prompt = RequestParser.field(body, "prompt");
        if (prompt == null || !prompt.isTextual()) {
            throw ApiException.badRequest("prompt", prompt == null ? "prompt or messages is required."
                    : "prompt must be a string, got " + RequestParser.describe(prompt) + ".");
        }
        return new Prompt.Text(prompt.asText());
    }

    /** Tokenizing a long prompt takes a while: off the event loop, the answer back on it. */
    private void blocking(RoutingContext ctx, java.util.concurrent.Callable<Object> work) {
        ctx.vertx().executeBlocking(work, false).onComplete(ar -> {
            if (ar.failed()) {
                errors.send(ctx, ar.cause());
            } else {
                ctx.response().putHeader("Content-Type", "application/json").end(OpenAiDtos.write(ar.result()));
            }
        });
    }
}
