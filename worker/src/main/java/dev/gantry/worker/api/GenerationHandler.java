package dev.gantry.worker.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.config.ServingPlan;
import dev.gantry.worker.engine.EngineRequest;
import dev.gantry.worker.engine.RequestHandle;
import dev.gantry.worker.engine.RequestRejectedException;
import dev.gantry.worker.model.Model;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import dev.gantry.worker.api.tools.ToolConstraint;
import dev.gantry.worker.model.grammar.CompiledGrammar;
import dev.gantry.worker.model.grammar.GrammarCompiler;
import dev.gantry.worker.model.grammar.GrammarException;
import dev.gantry.worker.model.sample.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: parse, check, ask the
 * response cache, tokenize (off the event loop: templates and long prompts take time), check the
 * context length, submit to the engine, and hand the rest to a {@link GenerationExchange}.
 */
@Singleton
public class GenerationHandler {

    @Inject
    WorkerLifecycle lifecycle;

    @Inject
    ErrorResponder errors;

    @Inject
    CompletionCache cache;

    @Inject
    MeterRegistry registry;

    /** Micrometer name; Prometheus shows it with {@code _total}. */
    static final String RECEIVED_METRIC = "gantry:requests_received";
    /** How long a stream from the response cache waits before it is written (see {@link #handle}). */
    static final long STREAM_REPLAY_DELAY_MS = 20;

    void handle(RoutingContext ctx, Endpoint endpoint) {
        long arrival = System.nanoTime();
        countArrival(endpoint);
        JsonNode json = readJson(RequestBodyReader.body(ctx));
        GenerationRequest request = RequestParser.parse(endpoint, json);
        ServingPlan plan = lifecycle.plan();
        if (plan == null || lifecycle.engine() == null) {
            throw ApiException.unavailable("model_loading", "The model is still loading; try again shortly.");
        }
        if (request.model() != null && !request.model().equals(plan.servedModelName())) {
            throw ApiException.modelNotFound(request.model());
        }
        Context context = ctx.vertx().getOrCreateContext();
        cache.lookup(plan.servedModelName(), endpoint, json).whenComplete((hit, error) -> context.runOnContext(v -> {
            try {
                if (error == null && hit.isPresent() && request.stream()) {
                    // A streamed request's entry is its whole event stream, replayed in one write, a
                    // few milliseconds late: an event stream answered at once can beat a Go reverse
                    // proxy's last read of the request body, and the proxy then cuts it (golang/go#40747;
                    // docs/design.md, "Streaming through proxies"), which a generated stream avoids by
                    // answering with its first token.
                    ctx.vertx().setTimer(STREAM_REPLAY_DELAY_MS, t -> {
                        if (!ctx.response().closed()) {
                            ctx.response().putHeader("Content-Type", "text/event-stream; charset=utf-8")
                                    .putHeader("Cache-Control", "no-cache").end(hit.get());
                        }
                    });
                } else if (error == null && hit.isPresent()) {
                    ctx.response().putHeader("Content-Type", "application/json").end(hit.get());
                } else {
                    prepare(ctx, context, request, json, arrival);
                }
            } catch (RuntimeException e) {
                errors.send(ctx, e);
            }
        }));
    }

    /**
     * Every generation request that passed the API-key check, counted on arrival, whatever becomes
     * of it (served, answered from the cache, refused with 429): the demand, which autoscaling on
     * requests per second follows. vLLM has no such counter; its request_success counts completions,
     * which stop growing once a worker is saturated.
     */
    private void countArrival(Endpoint endpoint) {
        arrivals(registry, endpoint, lifecycle.modelLabel()).increment();
    }

    /** The arrivals counter of one endpoint (registered on first use; the lifecycle registers both at load). */
    static Counter arrivals(MeterRegistry registry, Endpoint endpoint, String modelName) {
        return Counter.builder(RECEIVED_METRIC)
                .description("Generation requests received, by endpoint")
                .tag("endpoint", endpoint == Endpoint.CHAT ? "chat" : "completions")
                .tag("model_name", modelName)
                .register(registry);
    }

    private void prepare(RoutingContext ctx, Context context, GenerationRequest request, JsonNode json, long arrival) {
        Model model = lifecycle.model();
        ServingPlan plan = lifecycle.plan();
        context.owner().executeBlocking(() -> new Prepared(promptTokens(request, model, plan), grammar(request, model)),
                false).onComplete(ar -> {
            try {
                if (ar.failed()) {
                    errors.send(ctx, ar.cause());
                } else {
                    submit(ctx, context, request, json, ar.result().tokens(), ar.result().grammar(), arrival);
                }
            } catch (RuntimeException e) {
                errors.send(ctx, e);
            }
        });
    }

    /** A request made ready for the engine, off the event loop. */
    private record Prepared(int[] tokens, CompiledGrammar grammar) {}

    private volatile GrammarCompiler grammars;

    /**
     * The request's grammar compiled against the model's vocabulary (cached by spec), or null for
     * free output; a grammar that cannot be compiled is a 400 naming its field.
     */
    private CompiledGrammar grammar(GenerationRequest request, Model model) {
        StructuredOutputs.Constraint c = request.constraint();
        // tool_choice required or a named function: the output is a call, valid JSON for its schema.
        var toolSchema = ToolConstraint.schema(request.tools());
        if (toolSchema != null) {
            if (c != null) {
                throw ApiException.badRequest(c.field(), c.field() + " cannot be combined with tool_choice "
                        + request.tools().choice().mode().name().toLowerCase(java.util.Locale.ROOT)
                        + ", which already fixes the output's form.");
            }
            c = new StructuredOutputs.Constraint("tools", new dev.gantry.worker.model.grammar.GrammarSpec.JsonSchema(toolSchema));
        }
        if (c == null) {
            return null;
        }
        GrammarCompiler compiler = grammars;
        if (compiler == null || compiler.tokenizer() != model.tokenizer()) {
            synchronized (this) {
                compiler = grammars;
                if (compiler == null || compiler.tokenizer() != model.tokenizer()) {
                    compiler = grammars = new GrammarCompiler(model.tokenizer());
                }
            }
        }
        try {
            return compiler.compile(c.spec());
        } catch (GrammarException e) {
            throw ApiException.badRequest(c.field(), c.field() + ": " + e.getMessage() + (e.getMessage().endsWith(".") ? "" : "."));
        }
    }

    /** Tokenizes and checks the request against the vocabulary and the context length. */
    static int[] promptTokens(GenerationRequest request, Model model, ServingPlan plan) {
        if (model == null) {
            throw ApiException.unavailable("shutting_down", "The server is shutting down.");
        }
        try {
            request.params().validate(model.config().vocabSize());
        } catch (IllegalArgumentException e) {
            throw RequestParser.badParams(e);
        }
        int[] tokens = PromptTokens.of(request.prompt(), request.tools(), model);
        checkContextLength(request, tokens.length, plan.engine().maxModelLen());
        return tokens;
    }

    /** vLLM's checks and wording: the prompt must leave room, and prompt + max_tokens must fit. */
    static void checkContextLength(GenerationRequest request, int promptTokens, int maxModelLen) {
        String what = request.endpoint() == Endpoint.CHAT ? "messages" : "prompt";
        Integer maxTokens = request.params().maxTokens();
        if (maxTokens != null && (long) promptTokens + maxTokens > maxModelLen) {
            throw ApiException.contextLengthExceeded(what, "This model's maximum context length is " + maxModelLen
                    + " tokens. However, you requested " + ((long) promptTokens + maxTokens) + " tokens ("
                    + promptTokens + " in the " + what + ", " + maxTokens + " in the completion). Please reduce the"
                    + " length of the " + what + " or completion.");
        }
        if (promptTokens >= maxModelLen) {
            throw ApiException.contextLengthExceeded(what, "This model's maximum context length is " + maxModelLen
                    + " tokens. However, you requested " + promptTokens + " tokens in the " + what
                    + ", which leaves no room for the completion. Please reduce the length of the " + what + ".");
        }
    }

    private void submit(RoutingContext ctx, Context context, GenerationRequest request, JsonNode json, int[] tokens,
            CompiledGrammar grammar, long arrival) {
        if (ctx.response().closed()) {
            return; // the client left while the prompt was being tokenized
        }
        ServingPlan plan = lifecycle.plan();
        if (!lifecycle.ready() || plan == null) {
            throw ApiException.unavailable("shutting_down", "The server is shutting down.");
        }
        String id = request.endpoint().idPrefix() + UUID.randomUUID().toString().replace("-", "");
        // echo gives back the prompt as the client wrote it, or as its token ids read.
        String echo = !request.echo() ? null
                : request.prompt() instanceof GenerationRequest.Prompt.Text t ? t.text() : lifecycle.model().tokenizer().decode(tokens);
        GenerationExchange exchange = new GenerationExchange(ctx, context, request, id, plan.servedModelName(),
                tokens, echo, new LogprobsFormat(lifecycle.model().tokenizer()), request.stream() && cache.accepts(json),
                body -> cache.store(plan.servedModelName(), request.endpoint(), json, body));
        try {
            RequestHandle handle = lifecycle.submitIfReady(engineRequests(request, id, tokens, grammar, arrival),
                    exchange.listeners());
            if (handle == null) {
                throw ApiException.unavailable("shutting_down", "The server is shutting down.");
            }
            exchange.start(handle, lifecycle.settings().requestTimeout());
        } catch (IllegalArgumentException e) {
            // The engine's own prompt checks; the ones before it should have caught these.
            throw ApiException.badRequest(request.endpoint() == Endpoint.CHAT ? "messages" : "prompt", e.getMessage() + ".");
        } catch (RequestRejectedException e) {
            throw switch (e.reason()) {
                case QUEUE_FULL -> ApiException.queueFull("The server is at capacity (" + e.getMessage()
                        + "); try again shortly.");
                case PROMPT_TOO_LONG -> ApiException.contextLengthExceeded(
                        request.endpoint() == Endpoint.CHAT ? "messages" : "prompt", e.getMessage());
                case SHUTTING_DOWN -> ApiException.unavailable("shutting_down", "The server is shutting down.");
            };
        }
    }

    /**
     * The sequences a request runs as: one per choice ({@code best_of} of them), choice i with
     * seed + i when a seed is given (so each has its own stream and a seed gives the same choices
     * every time, as vLLM does). best_of needs every sequence's log-probability to rank them; the
     * prompt's log-probabilities (echo) are computed once, by the first.
     */
    static List<EngineRequest> engineRequests(GenerationRequest request, String id, int[] tokens, CompiledGrammar grammar,
            long arrival) {
        int logprobs = request.bestOf() > request.n() ? Math.max(request.logprobs(), 0) : request.logprobs();
        int promptLogprobs = request.echo() && request.logprobs() >= 0 ? request.logprobs() : -1;
        List<EngineRequest> out = new ArrayList<>(request.bestOf());
        for (int i = 0; i < request.bestOf(); i++) {
            SamplingParams p = request.params();
            if (p.seed() != null) {
                p = p.withSeed(p.seed() + i);
            }
            out.add(new EngineRequest(request.bestOf() == 1 ? id : id + "-" + i, tokens, p, arrival, logprobs,
                    i == 0 ? promptLogprobs : -1, grammar, null));
        }
        return out;
    }

    static JsonNode readJson(Buffer body) {
        if (body == null || body.length() == 0) {
            throw ApiException.badRequest(null, "The request body is empty: send a JSON object.");
        }
        try {
            return OpenAiDtos.JSON.readTree(body.getBytes());
        } catch (JacksonException e) {
            throw ApiException.badRequest(null, "The request body is not valid JSON: " + e.getOriginalMessage()
                    + Optional.ofNullable(e.getLocation()).map(l -> " (line " + l.getLineNr() + ", column "
                            + l.getColumnNr() + ")").orElse("") + ".");
        } catch (java.io.IOException e) {
            throw ApiException.badRequest(null, "The request body cannot be read: " + e.getMessage() + ".");
        }
    }
}
