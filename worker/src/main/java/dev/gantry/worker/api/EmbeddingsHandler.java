package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.config.ServingPlan;
import dev.gantry.worker.engine.EngineRequest;
import dev.gantry.worker.engine.FinishReason;
import dev.gantry.worker.engine.RequestHandle;
import dev.gantry.worker.engine.RequestListener;
import dev.gantry.worker.engine.RequestRejectedException;
import dev.gantry.worker.engine.RequestResult;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.TokenLogprobs;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import io.vertx.core.Context;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * OpenAI's {@code POST /v1/embeddings}: one input or a batch (texts, token ids, or lists of token
 * ids), each computed by the serving engine as a prompt-only request batched with everything
 * else, its last hidden states pooled as the model says ({@link dev.gantry.worker.model.Pooling}:
 * the GGUF's pooling type for an embedding model, else the mean) and normalised; returned as
 * floats or as base64 of little-endian float32, as OpenAI's SDKs read them.
 */
@ApplicationScoped
public class EmbeddingsHandler {
    private static final Set<String> FIELDS = Set.of("model", "input", "encoding_format", "dimensions", "user");
    /** OpenAI's limit on inputs per request. */
    static final int MAX_INPUTS = 2048;

    @Inject
    WorkerLifecycle lifecycle;

    @Inject
    ErrorResponder errors;

    void embeddings(RoutingContext ctx) {
        long arrival = System.nanoTime();
        JsonNode body = TokenizeHandler.body(ctx, FIELDS, lifecycle);
        List<Object> inputs = inputs(RequestParser.field(body, "input"));
        String format = RequestParser.string(body, "encoding_format");
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiException.badRequest("encoding_format", "encoding_format must be float or base64, got \"" + format + "\".");
        }
        boolean base64 = "base64".equals(format);
        RequestParser.string(body, "user");
        Model model = lifecycle.model();
        ServingPlan plan = lifecycle.plan();
        JsonNode dims = RequestParser.field(body, "dimensions");
        if (dims != null && !(dims.isIntegralNumber() && dims.asInt() == model.config().dim())) {
            throw ApiException.badRequest("dimensions", "dimensions must be this model's embedding size, "
                    + model.config().dim() + " (it cannot shorten them), got " + RequestParser.describe(dims) + ".");
        }
        Context context = ctx.vertx().getOrCreateContext();
        context.owner().executeBlocking(() -> tokenize(inputs, model.tokenizer(), plan.engine().maxModelLen()), false)
                .onComplete(ar -> {
                    try {
                        if (ar.failed()) {
                            errors.send(ctx, ar.cause());
                        } else {
                            submit(ctx, context, ar.result(), model, plan.servedModelName(), base64, arrival);
                        }
                    } catch (RuntimeException e) {
                        errors.send(ctx, e);
                    }
                });
    }

    /** The inputs: each a String or an int[] of token ids. */
    private static List<Object> inputs(JsonNode input) {
        if (input == null) {
            throw ApiException.badRequest("input", "input is required: a string, an array of strings, an array of"
                    + " token ids or an array of arrays of token ids.");
        }
        List<Object> out = new ArrayList<>();
        if (input.isTextual()) {
            out.add(input.asText());
        } else if (input.isArray() && !input.isEmpty() && input.get(0).isIntegralNumber()) {
            out.add(ids(input, "input"));
        } else if (input.isArray() && !input.isEmpty()) {
            for (int i = 0; i < input.size(); i++) {
                JsonNode e = input.get(i);
                if (e.isTextual()) {
                    out.add(e.asText());
                } else if (e.isArray()) {
                    out.add(ids(e, "input[" + i + "]"));
                } else {
                    throw ApiException.badRequest("input", "input[" + i + "] must be a string or an array of token ids, got "
                            + RequestParser.describe(e) + ".");
                }
            }
        } else {
            throw ApiException.badRequest("input", "input must be a non-empty string or array, got "
                    + RequestParser.describe(input) + ".");
        }
        if (out.size() > MAX_INPUTS) {
            throw ApiException.badRequest("input", "input may hold at most " + MAX_INPUTS + " items, got " + out.size() + ".");
        }
        return out;
    }

    private static int[] ids(JsonNode array, String where) {
        int[] ids = new int[array.size()];
        for (int k = 0; k < ids.length; k++) {
            JsonNode e = array.get(k);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0) {
                throw ApiException.badRequest("input", where + " must hold token ids, got " + RequestParser.describe(e)
                        + " at index " + k + ".");
            }
            ids[k] = e.intValue();
        }
        return ids;
    }

    /** Each input's token ids, checked against the vocabulary and the context length. */
    private static List<int[]> tokenize(List<Object> inputs, Tokenizer tok, int maxModelLen) {
        List<int[]> out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            int[] ids = inputs.get(i) instanceof String s ? tok.encode(s, tok.addBosByDefault(), false) : (int[]) inputs.get(i);
            String where = inputs.size() == 1 ? "input" : "input[" + i + "]";
            if (ids.length == 0) {
                throw ApiException.badRequest("input", where + " is empty: there is nothing to embed.");
            }
            for (int id : ids) {
                if (id >= tok.vocabSize()) {
                    throw ApiException.badRequest("input", where + " holds token id " + id
                            + ", outside the vocabulary of " + tok.vocabSize() + ".");
                }
            }
            if (ids.length >= maxModelLen) {
                throw ApiException.contextLengthExceeded("input", "This model's maximum context length is " + maxModelLen
                        + " tokens. However, " + where + " has " + ids.length + " tokens. Please reduce the length of the input.");
            }
            out.add(ids);
        }
        return out;
    }

    private void submit(RoutingContext ctx, Context context, List<int[]> inputs, Model model, String modelName,
            boolean base64, long arrival) {
        if (ctx.response().closed()) {
            return;
        }
        String id = "embd-" + UUID.randomUUID().toString().replace("-", "");
        Batch batch = new Batch(ctx, context, inputs, modelName, base64);
        List<RequestHandle> handles = new ArrayList<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                RequestHandle h = lifecycle.submitIfReady(EngineRequest.embedding(id + "-" + i, inputs.get(i),
                        model.pooling(), arrival), batch.listener(i));
                if (h == null) {
                    throw ApiException.unavailable("shutting_down", "The server is shutting down.");
                }
                handles.add(h);
            }
        } catch (RequestRejectedException | RuntimeException e) {
            handles.forEach(RequestHandle::cancel); // all or none: the accepted ones end as aborted
            batch.failed = true;
            if (e instanceof RequestRejectedException r) {
                throw r.reason() == RequestRejectedException.Reason.QUEUE_FULL
                        ? ApiException.queueFull("The server is at capacity (" + r.getMessage() + "); try again shortly.")
                        : ApiException.unavailable("shutting_down", r.getMessage());
            }
            throw (RuntimeException) e;
        }
        ctx.response().closeHandler(v -> handles.forEach(RequestHandle::cancel));
    }

    /** One request's inputs in the engine; the response goes out when the last ends. */
    private static final class Batch {
        private final RoutingContext ctx;
        private final Context context;
        private final String model;
        private final boolean base64;
        private final float[][] vectors;
        private final int[] tokens;
        private int ended;
        private RequestResult failure;
        volatile boolean failed;

        Batch(RoutingContext ctx, Context context, List<int[]> inputs, String model, boolean base64) {
            this.ctx = ctx;
            this.context = context;
            this.model = model;
            this.base64 = base64;
            this.vectors = new float[inputs.size()][];
            this.tokens = inputs.stream().mapToInt(a -> a.length).toArray();
        }

        RequestListener listener(int index) {
            return new RequestListener() {
                @Override
                public void onOutput(int[] newTokenIds, String textDelta, TokenLogprobs[] logprobs) {}

                @Override
                public void onEmbedding(float[] embedding) {
                    vectors[index] = embedding;
                }

                @Override
                public void onFinish(RequestResult result) {
                    context.runOnContext(v -> ended(result));
                }
            };
        }

        private void ended(RequestResult result) {
            ended++;
            if (result.finishReason() != FinishReason.LENGTH && failure == null) {
                failure = result;
            }
            if (ended < vectors.length || failed || ctx.response().ended() || ctx.response().closed()) {
                return;
            }
            if (failure != null) {
                ApiException error = failure.finishReason() == FinishReason.ERROR
                        ? ApiException.internal("The engine failed on this request: " + failure.error())
                        : ApiException.unavailable("shutting_down", "The request was aborted: the server is shutting down.");
                ctx.response().setStatusCode(error.status()).putHeader("Content-Type", "application/json")
                        .end(OpenAiDtos.write(error.toBody()));
                return;
            }
            List<Map<String, Object>> data = new ArrayList<>();
            int total = 0;
            for (int i = 0; i < vectors.length; i++) {
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("object", "embedding");
                item.put("index", i);
                item.put("embedding", base64 ? encode(vectors[i]) : vectors[i]);
                data.add(item);
                total += tokens[i];
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("object", "list");
            out.put("data", data);
            out.put("model", model);
            out.put("usage", Map.of("prompt_tokens", total, "total_tokens", total));
            ctx.response().putHeader("Content-Type", "application/json").end(OpenAiDtos.write(out));
        }

        private static String encode(float[] v) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            return Base64.getEncoder().encodeToString(b.array());
        }
    }
}
