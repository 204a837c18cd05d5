package dev.gantry.worker.api;

import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.api.OpenAiDtos.AssistantMessage;
import dev.gantry.worker.api.OpenAiDtos.ChatChoice;
import dev.gantry.worker.api.OpenAiDtos.ChatChunkChoice;
import dev.gantry.worker.api.OpenAiDtos.ChatCompletion;
import dev.gantry.worker.api.OpenAiDtos.ChatCompletionChunk;
import dev.gantry.worker.api.OpenAiDtos.Completion;
import dev.gantry.worker.api.OpenAiDtos.CompletionChoice;
import dev.gantry.worker.api.OpenAiDtos.Delta;
import dev.gantry.worker.api.OpenAiDtos.Usage;
import dev.gantry.worker.engine.FinishReason;
import dev.gantry.worker.engine.RequestHandle;
import dev.gantry.worker.engine.RequestListener;
import dev.gantry.worker.engine.RequestResult;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * One request in the engine, seen from its HTTP response. The engine calls the listener methods
 * on its step thread; they only hand data to the request's Vert.x context, which does all the
 * writing, so the engine never waits for a client. A streamed response gets one server-sent event
 * per engine output; a buffered one gets the whole text at the end.
 *
 * <p>The request is cancelled in the engine when the client goes away (connection closed or
 * reset), when {@code gantry.request-timeout} passes, and when a streaming client stops reading
 * for {@link #SLOW_CLIENT_MILLIS}.
 */
final class GenerationExchange implements RequestListener {
    private static final Logger LOG = Logger.getLogger(GenerationExchange.class);
    /** How long a streaming client may leave the socket's send buffer full before it is dropped. */
    static final long SLOW_CLIENT_MILLIS = 30_000;

    private final RoutingContext ctx;
    private final HttpServerResponse response;
    private final Context context;
    private final GenerationRequest request;
    private final String id;
    private final String model;
    private final long created = System.currentTimeMillis() / 1000;
    private final int promptTokens;
    /** The text the response starts with ({@code echo}), or null. */
    private final String echoText;
    private final Consumer<String> cacheStore;

    /** The text so far of a buffered response; touched only by the engine's thread. */
    private final StringBuilder text = new StringBuilder();

    // The rest is touched only on the request's context.
    private RequestHandle handle;
    private long timeoutTimer = -1;
    private long slowClientTimer = -1;
    private boolean timedOut;
    private boolean streamOpen;

    GenerationExchange(RoutingContext ctx, Context context, GenerationRequest request, String id, String model,
            int promptTokens, String echoText, Consumer<String> cacheStore) {
        this.ctx = ctx;
        this.response = ctx.response();
        this.context = context;
        this.request = request;
        this.id = id;
        this.model = model;
        this.promptTokens = promptTokens;
        this.echoText = echoText;
        this.cacheStore = cacheStore;
    }

    /** Called on the context right after the engine accepted the request, before any output reaches it. */
    void start(RequestHandle handle, Optional<Duration> timeout) {
        this.handle = handle;
        response.closeHandler(v -> handle.cancel());
        response.exceptionHandler(e -> handle.cancel());
        timeout.ifPresent(t -> timeoutTimer = ctx.vertx().setTimer(Math.max(1, t.toMillis()), id -> {
            timedOut = true;
            handle.cancel();
        }));
        if (request.stream()) {
            response.setChunked(true)
                    .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache")
                    .putHeader("X-Accel-Buffering", "no");
            // Nothing is written yet: the status line and headers go out with the first event
            // (openStream). Sent at once, they reach a Go reverse proxy (Traefik, Caddy, anything
            // on httputil.ReverseProxy) within a millisecond of the request body, and if that lands
            // before the proxy's own last read of the body, the proxy's HTTP/1 server closes the
            // body under it and the proxy cuts the stream right after the headers
            // (golang/go#40747; docs/design.md, "Streaming through proxies"). Waiting for the
            // first token leaves the proxy the whole prefill to finish that read.
        }
    }

    /**
     * Starts a streamed response: its head and, for chat, the assistant's role chunk, for an
     * echoing completion the prompt. Once.
     */
    private void openStream() {
        if (streamOpen) {
            return;
        }
        streamOpen = true;
        if (request.endpoint() == Endpoint.CHAT) {
            sendEvent(chatChunk(new Delta("assistant", ""), null));
        } else if (echoText != null && !echoText.isEmpty()) {
            sendEvent(completionChunk(echoText, null));
        }
    }

    @Override
    public void onOutput(int[] newTokenIds, String textDelta) {
        if (!request.stream()) {
            text.append(textDelta);
        } else if (!textDelta.isEmpty()) {
            context.runOnContext(v -> {
                if (!response.closed() && !response.ended()) {
                    openStream();
                    sendEvent(request.endpoint() == Endpoint.CHAT ? chatChunk(new Delta(null, textDelta), null)
                            : completionChunk(textDelta, null));
                }
            });
        }
    }

    @Override
    public void onFinish(RequestResult result) {
        String fullText = request.stream() ? null : (echoText == null ? "" : echoText) + text;
        context.runOnContext(v -> {
            try {
                finish(result, fullText);
            } catch (RuntimeException e) {
                LOG.errorf(e, "request %s: cannot send its end", id);
                response.reset();
            }
        });
    }

    private void finish(RequestResult result, String fullText) {
        cancelTimers();
        if (response.closed() || response.ended()) {
            return; // the client is gone; the engine already freed the request
        }
        FinishReason reason = result.finishReason();
        if (reason == FinishReason.STOP || reason == FinishReason.LENGTH) {
            Usage usage = Usage.of(result.promptTokens(), result.completionTokens());
            if (request.stream()) {
                openStream();
                sendEvent(request.endpoint() == Endpoint.CHAT ? chatChunk(new Delta(null, null), reason.openAi())
                        : completionChunk("", reason.openAi()));
                if (request.includeUsage()) {
                    sendEvent(request.endpoint() == Endpoint.CHAT
                            ? new ChatCompletionChunk(id, Endpoint.CHAT.chunkObject(), created, model, List.of(), usage)
                            : new Completion(id, Endpoint.COMPLETIONS.chunkObject(), created, model, List.of(), usage));
                }
                response.end("data: [DONE]\n\n");
            } else {
                String body = OpenAiDtos.write(request.endpoint() == Endpoint.CHAT
                        ? new ChatCompletion(id, Endpoint.CHAT.object(), created, model, List.of(new ChatChoice(0,
                                new AssistantMessage("assistant", fullText, null), null, reason.openAi())), usage)
                        : new Completion(id, Endpoint.COMPLETIONS.object(), created, model,
                                List.of(new CompletionChoice(0, fullText, null, reason.openAi())), usage));
                response.putHeader("Content-Type", "application/json").end(body);
                cacheStore.accept(body);
            }
            return;
        }
        ApiException error = reason == FinishReason.ERROR
                ? ApiException.internal("The engine failed on this request: " + result.error())
                : timedOut ? ApiException.timeout("The request ran longer than gantry.request-timeout and was cancelled.")
                : ApiException.unavailable("shutting_down", "The request was aborted: the server is shutting down.");
        if (streamOpen) {
            // The status line is gone: report the error in the stream, as vLLM does.
            sendEvent(error.toBody());
            response.end("data: [DONE]\n\n");
        } else {
            response.setStatusCode(error.status()).putHeader("Content-Type", "application/json")
                    .end(OpenAiDtos.write(error.toBody()));
        }
    }

    private Completion completionChunk(String delta, String finishReason) {
        return new Completion(id, Endpoint.COMPLETIONS.chunkObject(), created, model,
                List.of(new CompletionChoice(0, delta, null, finishReason)), null);
    }

    private ChatCompletionChunk chatChunk(Delta delta, String finishReason) {
        return new ChatCompletionChunk(id, Endpoint.CHAT.chunkObject(), created, model,
                List.of(new ChatChunkChoice(0, delta, null, finishReason)), null);
    }

    /**
     * Writes one event. Vert.x queues what the socket cannot take yet; the engine produces tokens
     * slowly enough that the queue stays small unless the client stops reading, and such a client
     * is dropped after {@link #SLOW_CLIENT_MILLIS} rather than buffered without end.
     */
    private void sendEvent(Object chunk) {
        response.write("data: " + OpenAiDtos.write(chunk) + "\n\n");
        if (response.writeQueueFull() && slowClientTimer < 0) {
            slowClientTimer = ctx.vertx().setTimer(SLOW_CLIENT_MILLIS, t -> {
                slowClientTimer = -1;
                if (response.writeQueueFull() && !response.ended()) {
                    LOG.infof("request %s: the client stopped reading for %d s; cancelling it", id, SLOW_CLIENT_MILLIS / 1000);
                    handle.cancel();
                    response.reset();
                }
            });
            response.drainHandler(v -> cancelSlowClientTimer());
        }
    }

    private void cancelSlowClientTimer() {
        if (slowClientTimer >= 0) {
            ctx.vertx().cancelTimer(slowClientTimer);
            slowClientTimer = -1;
        }
    }

    private void cancelTimers() {
        if (timeoutTimer >= 0) {
            ctx.vertx().cancelTimer(timeoutTimer);
            timeoutTimer = -1;
        }
        cancelSlowClientTimer();
    }
}
