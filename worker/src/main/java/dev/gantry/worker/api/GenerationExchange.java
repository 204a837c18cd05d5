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
import dev.gantry.worker.api.tools.ParsedToolCalls;
import dev.gantry.worker.api.tools.StreamDelta;
import dev.gantry.worker.api.tools.StreamingToolCallParser;
import dev.gantry.worker.api.tools.ToolCallParser;
import dev.gantry.worker.engine.FinishReason;
import dev.gantry.worker.engine.RequestHandle;
import dev.gantry.worker.engine.RequestListener;
import dev.gantry.worker.engine.RequestResult;
import dev.gantry.worker.model.sample.TokenLogprobs;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * One request in the engine, seen from its HTTP response: its choices ({@code n}, or
 * {@code best_of} sequences of which the n most likely are returned), each a sequence in the
 * engine with its own listener. The engine calls the listeners on its step thread; they only hand
 * data to the request's Vert.x context, which does all the writing, so the engine never waits for
 * a client. A streamed response gets one server-sent event per engine output and choice; a
 * buffered one gets the whole text of every choice once all have ended.
 *
 * <p>The request is cancelled in the engine when the client goes away (connection closed or
 * reset), when {@code gantry.request-timeout} passes, and when a streaming client stops reading
 * for {@link #SLOW_CLIENT_MILLIS}.
 */
final class GenerationExchange {
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
    private final int[] promptTokens;
    /** The text the response starts with ({@code echo}), or null. */
    private final String echoText;
    private final LogprobsFormat format;
    private final Consumer<String> cacheStore;
    private final List<Choice> choices = new ArrayList<>();
    /** A cacheable stream's events as sent, for the response cache to replay; null when not recorded. */
    private final StringBuilder recorded;

    // The rest is touched only on the request's context.
    private RequestHandle handle;
    private long timeoutTimer = -1;
    private long slowClientTimer = -1;
    private boolean timedOut;
    private boolean streamOpen;
    private int ended;
    /** The prompt's log-probabilities (echo with logprobs), once the engine has them. */
    private volatile List<TokenLogprobs> promptLogprobs;

    GenerationExchange(RoutingContext ctx, Context context, GenerationRequest request, String id, String model,
            int[] promptTokens, String echoText, LogprobsFormat format, boolean recordStream, Consumer<String> cacheStore) {
        this.ctx = ctx;
        this.response = ctx.response();
        this.context = context;
        this.request = request;
        this.id = id;
        this.model = model;
        this.promptTokens = promptTokens;
        this.echoText = echoText;
        this.format = format;
        this.cacheStore = cacheStore;
        this.recorded = recordStream ? new StringBuilder() : null;
        for (int i = 0; i < request.bestOf(); i++) {
            choices.add(new Choice(i));
        }
    }

    /** One listener per sequence in the engine, in choice order. */
    List<RequestListener> listeners() {
        return List.copyOf(choices);
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
     * Starts a streamed response: its head and, for every choice, chat's assistant role chunk or
     * an echoing completion's prompt. Once.
     */
    private void openStream() {
        if (streamOpen) {
            return;
        }
        streamOpen = true;
        for (int i = 0; i < request.n(); i++) {
            if (request.endpoint() == Endpoint.CHAT) {
                sendEvent(chatChunk(i, new Delta("assistant", ""), null, null));
            } else if (echoText != null && !echoText.isEmpty()) {
                sendEvent(completionChunk(i, echoText, echoLogprobs(), null));
            }
        }
    }

    /** Chat with tools (other than tool_choice none): the output is read for tool calls. */
    private boolean readsToolCalls() {
        return request.tools() != null && request.tools().parsesOutput();
    }

    /** The prompt's part of a completion's logprobs (echo), or null. */
    private Object echoLogprobs() {
        List<TokenLogprobs> prompt = promptLogprobs;
        return prompt == null ? null : format.completion(promptTokens[0], prompt, request.logprobs(), 0);
    }

    /** One sequence of the request: its listener, and what it produced so far. */
    private final class Choice implements RequestListener {
        final int index;
        /** Touched only by the engine's thread until the choice ends. */
        final StringBuilder text = new StringBuilder();
        final List<TokenLogprobs> logprobs = new ArrayList<>();
        double cumulativeLogprob;
        /** Characters of token text before the next token (completions' text_offset). */
        int textOffset;
        RequestResult result;
        /** Reads a streamed chat choice's text for tool calls (tools asked for), else null; engine thread. */
        final StreamingToolCallParser toolStream;
        /** The stream ended in tool calls: finish_reason tool_calls. */
        volatile boolean calledTools;

        Choice(int index) {
            this.index = index;
            this.toolStream = request.stream() && readsToolCalls() ? new StreamingToolCallParser(request.tools()) : null;
        }

        @Override
        public void onPromptLogprobs(List<TokenLogprobs> lps) {
            promptLogprobs = lps;
        }

        @Override
        public void onOutput(int[] newTokenIds, String textDelta, TokenLogprobs[] lps) {
            if (lps != null) {
                for (TokenLogprobs lp : lps) {
                    cumulativeLogprob += lp.logprob();
                }
            }
            if (!request.stream()) {
                text.append(textDelta);
                if (lps != null && request.logprobs() >= 0) {
                    logprobs.addAll(List.of(lps));
                }
                return;
            }
            List<TokenLogprobs> chunkLogprobs = lps == null || request.logprobs() < 0 ? null : List.of(lps);
            if (textDelta.isEmpty() && chunkLogprobs == null) {
                return;
            }
            Object lpBody = null;
            if (chunkLogprobs != null) {
                lpBody = request.endpoint() == Endpoint.CHAT ? format.chat(chunkLogprobs, request.logprobs())
                        : format.completion(-1, chunkLogprobs, request.logprobs(), streamedOffset());
                textOffset += format.length(chunkLogprobs);
            }
            Object lpFinal = lpBody;
            if (toolStream != null) {
                sendToolDeltas(toolStream.feed(textDelta), lpFinal);
                return;
            }
            context.runOnContext(v -> {
                if (!response.closed() && !response.ended()) {
                    openStream();
                    sendEvent(request.endpoint() == Endpoint.CHAT ? chatChunk(index, new Delta(null, textDelta), lpFinal, null)
                            : completionChunk(index, textDelta, lpFinal, null));
                }
            });
        }

        /**
         * A streamed chat choice read for tool calls: content and call deltas as the parser lets
         * them out, one chunk each; log-probabilities ride on the first (or on an empty chunk).
         */
        private void sendToolDeltas(List<StreamDelta> deltas, Object logprobs) {
            if (deltas.isEmpty() && logprobs == null) {
                return;
            }
            context.runOnContext(v -> {
                if (response.closed() || response.ended()) {
                    return;
                }
                openStream();
                if (deltas.isEmpty()) {
                    sendEvent(chatChunk(index, new Delta(null, ""), logprobs, null));
                }
                for (int i = 0; i < deltas.size(); i++) {
                    StreamDelta d = deltas.get(i);
                    sendEvent(chatChunk(index, new Delta(null, d.content(), d.toolCalls()), i == 0 ? logprobs : null, null));
                }
            });
        }

        /** Where this choice's next streamed token starts: after the echoed prompt's tokens, if any. */
        private int streamedOffset() {
            List<TokenLogprobs> prompt = promptLogprobs;
            int base = prompt == null ? 0 : format.text(promptTokens[0]).length() + format.length(prompt);
            return base + textOffset;
        }

        @Override
        public void onFinish(RequestResult r) {
            if (toolStream != null) {
                StreamingToolCallParser.Finish f = toolStream.finish();
                calledTools = f.toolCalls();
                sendToolDeltas(f.deltas(), null);
            }
            context.runOnContext(v -> {
                try {
                    result = r;
                    choiceEnded(this);
                } catch (RuntimeException e) {
                    LOG.errorf(e, "request %s: cannot send its end", id);
                    response.reset();
                }
            });
        }
    }

    /** On the context: one choice ended; the response ends with the last. */
    private void choiceEnded(Choice choice) {
        ended++;
        FinishReason reason = choice.result.finishReason();
        boolean ok = reason == FinishReason.STOP || reason == FinishReason.LENGTH;
        if (!ok) {
            handle.cancel(); // one failed choice fails the request: the others stop too
        } else if (request.stream() && !response.closed() && !response.ended()) {
            openStream();
            sendEvent(request.endpoint() == Endpoint.CHAT
                    ? chatChunk(choice.index, new Delta(null, null), null,
                            choice.calledTools && reason == FinishReason.STOP ? "tool_calls" : reason.openAi())
                    : completionChunk(choice.index, "", null, reason.openAi()));
        }
        if (ended == choices.size()) {
            finish();
        }
    }

    private void finish() {
        cancelTimers();
        if (response.closed() || response.ended()) {
            return; // the client is gone; the engine already freed the request
        }
        RequestResult failed = choices.stream().map(c -> c.result)
                .filter(r -> r.finishReason() != FinishReason.STOP && r.finishReason() != FinishReason.LENGTH)
                .min(Comparator.comparing(r -> r.finishReason() == FinishReason.ERROR ? 0 : 1)).orElse(null);
        if (failed != null) {
            fail(failed);
            return;
        }
        int completionTokens = choices.stream().mapToInt(c -> c.result.completionTokens()).sum();
        Usage usage = Usage.of(choices.getFirst().result.promptTokens(), completionTokens);
        if (request.stream()) {
            if (request.includeUsage()) {
                sendEvent(request.endpoint() == Endpoint.CHAT
                        ? new ChatCompletionChunk(id, Endpoint.CHAT.chunkObject(), created, model, List.of(), usage)
                        : new Completion(id, Endpoint.COMPLETIONS.chunkObject(), created, model, List.of(), usage));
            }
            response.end("data: [DONE]\n\n");
            if (recorded != null) {
                cacheStore.accept(recorded.append("data: [DONE]\n\n").toString());
            }
            return;
        }
        // best_of: the n sequences of the highest cumulative log-probability, in that order.
        List<Choice> returned = request.bestOf() > request.n()
                ? choices.stream().sorted(Comparator.comparingDouble((Choice c) -> -c.cumulativeLogprob)).limit(request.n()).toList()
                : choices;
        String body;
        if (request.endpoint() == Endpoint.CHAT) {
            List<ChatChoice> out = new ArrayList<>();
            for (int i = 0; i < returned.size(); i++) {
                Choice c = returned.get(i);
                Object lp = request.logprobs() >= 0 ? format.chat(c.logprobs, request.logprobs()) : null;
                String text = c.text.toString();
                ParsedToolCalls calls = readsToolCalls() ? new ToolCallParser(request.tools()).parse(text) : null;
                if (calls != null && calls.hasToolCalls()) {
                    out.add(new ChatChoice(i, new AssistantMessage("assistant", calls.content(), null, calls.toolCalls()),
                            lp, "tool_calls"));
                } else {
                    out.add(new ChatChoice(i, new AssistantMessage("assistant", text, null), lp, c.result.finishReason().openAi()));
                }
            }
            body = OpenAiDtos.write(new ChatCompletion(id, Endpoint.CHAT.object(), created, model, out, usage));
        } else {
            List<CompletionChoice> out = new ArrayList<>();
            for (int i = 0; i < returned.size(); i++) {
                Choice c = returned.get(i);
                out.add(new CompletionChoice(i, (echoText == null ? "" : echoText) + c.text, completionLogprobs(c),
                        c.result.finishReason().openAi()));
            }
            body = OpenAiDtos.write(new Completion(id, Endpoint.COMPLETIONS.object(), created, model, out, usage));
        }
        response.putHeader("Content-Type", "application/json").end(body);
        cacheStore.accept(body);
    }

    /** A buffered completion's logprobs: the echoed prompt's tokens, then the choice's. */
    private Object completionLogprobs(Choice c) {
        if (request.logprobs() < 0) {
            return null;
        }
        List<TokenLogprobs> prompt = promptLogprobs;
        if (prompt == null) {
            return format.completion(-1, c.logprobs, request.logprobs(), 0);
        }
        List<TokenLogprobs> all = new ArrayList<>(prompt);
        all.addAll(c.logprobs);
        return format.completion(promptTokens[0], all, request.logprobs(), 0);
    }

    private void fail(RequestResult result) {
        FinishReason reason = result.finishReason();
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

    private Completion completionChunk(int index, String delta, Object logprobs, String finishReason) {
        return new Completion(id, Endpoint.COMPLETIONS.chunkObject(), created, model,
                List.of(new CompletionChoice(index, delta, logprobs, finishReason)), null);
    }

    private ChatCompletionChunk chatChunk(int index, Delta delta, Object logprobs, String finishReason) {
        return new ChatCompletionChunk(id, Endpoint.CHAT.chunkObject(), created, model,
                List.of(new ChatChunkChoice(index, delta, logprobs, finishReason)), null);
    }

    /**
     * Writes one event. Vert.x queues what the socket cannot take yet; the engine produces tokens
     * slowly enough that the queue stays small unless the client stops reading, and such a client
     * is dropped after {@link #SLOW_CLIENT_MILLIS} rather than buffered without end.
     */
    private void sendEvent(Object chunk) {
        String event = "data: " + OpenAiDtos.write(chunk) + "\n\n";
        response.write(event);
        if (recorded != null) {
            recorded.append(event);
        }
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
