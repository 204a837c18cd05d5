package dev.gantry.worker.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/**
 * Sends {@link ApiException}s as OpenAI error bodies and counts the requests refused
 * ({@code gantry:requests_rejected_total{reason, model_name}}). Anything else thrown while
 * handling a request becomes a 500 with its message, and is logged: the worker keeps serving.
 */
@Singleton
public class ErrorResponder {
    private static final Logger LOG = Logger.getLogger(ErrorResponder.class);

    /** Micrometer name; Prometheus shows it with {@code _total}. */
    static final String REJECTED_METRIC = "gantry:requests_rejected";

    @Inject
    MeterRegistry registry;

    @Inject
    WorkerLifecycle lifecycle;

    /** Sends any failure of a request: ApiExceptions as they are, anything else as a 500. */
    public void send(RoutingContext ctx, Throwable failure) {
        ApiException api;
        if (failure instanceof ApiException a) {
            api = a;
        } else {
            LOG.errorf(failure, "%s %s failed", ctx.request().method(), ctx.request().path());
            api = ApiException.internal("Internal error: " + failure);
        }
        send(ctx, api);
    }

    public void send(RoutingContext ctx, ApiException e) {
        String reason = rejectionReason(e);
        if (reason != null) {
            Counter.builder(REJECTED_METRIC)
                    .description("Requests refused before generating, by reason")
                    .tag("reason", reason)
                    .tag("model_name", lifecycle.modelLabel())
                    .register(registry)
                    .increment();
        }
        HttpServerResponse response = ctx.response();
        if (response.ended() || response.closed()) {
            return;
        }
        if (response.headWritten()) {
            // A stream that already started cannot change its status: end it where it is.
            response.end();
            return;
        }
        response.setStatusCode(e.status()).putHeader("Content-Type", "application/json");
        if (e.status() == 429) {
            response.putHeader("Retry-After", "1");
        } else if (e.status() == 401) {
            response.putHeader("WWW-Authenticate", "Bearer");
        }
        response.end(OpenAiDtos.write(e.toBody()));
    }

    /** The {@code reason} label of a refusal, or null for errors that are not refusals (404 route, 500, 504). */
    static String rejectionReason(ApiException e) {
        return switch (e.status()) {
            case 400 -> "context_length_exceeded".equals(e.code()) ? "context_length" : "invalid_request";
            case 401 -> "unauthorized";
            case 404 -> "model_not_found".equals(e.code()) ? "model_not_found" : null;
            case 413 -> "body_too_large";
            case 429 -> "queue_full";
            case 503 -> e.code() != null ? e.code() : "unavailable";
            default -> null;
        };
    }
}
