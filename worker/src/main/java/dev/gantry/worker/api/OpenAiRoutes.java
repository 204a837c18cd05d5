package dev.gantry.worker.api;

import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.api.OpenAiDtos.ModelCard;
import dev.gantry.worker.api.OpenAiDtos.ModelList;
import dev.gantry.worker.config.ServingPlan;
import dev.gantry.worker.config.WorkerConfig;
import dev.gantry.worker.config.WorkerSettings;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI-compatible API under {@code /v1}, and vLLM's {@code /tokenize}, {@code /detokenize}
 * and {@code /version} beside it, as plain Vert.x routes (full control over streaming, body
 * limits and disconnects). Every {@code /v1} request passes, in order: the API
 * key check, the readiness check (503 while loading or draining), the body limit (413), then its
 * endpoint; unknown paths get 404 and wrong methods 405, all as OpenAI error bodies. Health
 * ({@code /health}) and metrics ({@code /metrics}) are Quarkus's and need no key.
 */
@ApplicationScoped
public class OpenAiRoutes {
    /** Each path of the API and the one method it takes. */
    private static final Map<String, String> METHODS = Map.of(
            Endpoint.COMPLETIONS.path(), "POST",
            Endpoint.CHAT.path(), "POST",
            "/v1/models", "GET",
            "/v1/embeddings", "POST",
            "/tokenize", "POST",
            "/detokenize", "POST");
    /** vLLM's paths beside {@code /v1}, passing the same key, readiness and body checks. */
    private static final List<String> TOKENIZER_PATHS = List.of("/tokenize", "/detokenize");

    @Inject
    WorkerLifecycle lifecycle;

    @Inject
    WorkerConfig config;

    @Inject
    GenerationHandler generation;

    @Inject
    ErrorResponder errors;

    @Inject
    TokenizeHandler tokenizer;

    @Inject
    EmbeddingsHandler embeddings;

    private final long startedAt = System.currentTimeMillis() / 1000;
    private volatile ApiKeyCheck keyCheck;
    private volatile String keyCheckFor;

    void register(@Observes Router router) {
        long maxBody = config.maxRequestBody().asLongValue();
        // Before Quarkus's own Content-Length check (order -2), so that an oversized body gets
        // this API's 413, and before any body is read, so that a refused request costs nothing.
        for (String path : concat("/v1/*", TOKENIZER_PATHS)) {
            router.route(path).order(-20).handler(this::admit);
            router.route(path).order(-19).handler(new RequestBodyReader(maxBody));
        }
        router.post(Endpoint.COMPLETIONS.path()).handler(ctx -> generation.handle(ctx, Endpoint.COMPLETIONS));
        router.post(Endpoint.CHAT.path()).handler(ctx -> generation.handle(ctx, Endpoint.CHAT));
        router.get("/v1/models").handler(this::models);
        router.post("/v1/embeddings").handler(embeddings::embeddings);
        router.post("/tokenize").handler(tokenizer::tokenize);
        router.post("/detokenize").handler(tokenizer::detokenize);
        router.get("/version").handler(tokenizer::version); // no key, as vLLM's: it tells nothing about the model
        for (String path : concat("/v1/*", TOKENIZER_PATHS)) {
            router.route(path).handler(this::unknownRoute);
            router.route(path).failureHandler(this::failed);
        }
    }

    private static List<String> concat(String first, List<String> rest) {
        List<String> all = new java.util.ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    private void failed(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure == null) {
            failure = new ApiException(ctx.statusCode() > 0 ? ctx.statusCode() : 500,
                    ctx.statusCode() >= 500 || ctx.statusCode() <= 0 ? "server_error" : "invalid_request_error",
                    null, null, "The request failed with HTTP status " + ctx.statusCode() + ".");
        }
        errors.send(ctx, failure);
    }

    private void admit(RoutingContext ctx) {
        WorkerSettings settings = lifecycle.settings();
        if (settings != null && settings.apiKey().isPresent()) {
            apiKeyCheck(settings.apiKey().get()).check(ctx.request().getHeader("Authorization"));
        }
        switch (lifecycle.state()) {
            case READY -> ctx.next();
            case STARTING, LOADING -> throw ApiException.unavailable("model_loading",
                    "The model is still loading; try again shortly (GET /health/ready answers 200 once it is ready).");
            case FAILED -> throw ApiException.unavailable("start_failed", "The worker failed to start.");
            case DRAINING, STOPPED -> {
                ctx.response().putHeader("Connection", "close");
                throw ApiException.unavailable("shutting_down", "The server is shutting down.");
            }
        }
    }

    private ApiKeyCheck apiKeyCheck(String key) {
        if (keyCheck == null || !key.equals(keyCheckFor)) {
            keyCheck = new ApiKeyCheck(key);
            keyCheckFor = key;
        }
        return keyCheck;
    }

    private void models(RoutingContext ctx) {
        ServingPlan plan = lifecycle.plan();
        ModelCard card = new ModelCard(plan.servedModelName(), "model", startedAt, "gantry", plan.settings().modelUri(),
                plan.engine().maxModelLen());
        ctx.response().putHeader("Content-Type", "application/json")
                .end(OpenAiDtos.write(new ModelList("list", List.of(card))));
    }

    private void unknownRoute(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        String allowed = METHODS.get(path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path);
        String method = ctx.request().method().name();
        if (allowed != null && !allowed.equals(method)) {
            ctx.response().putHeader("Allow", allowed);
            throw ApiException.methodNotAllowed(method, path, allowed);
        }
        throw ApiException.routeNotFound(method, path);
    }
}
