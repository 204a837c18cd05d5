package dev.gantry.worker.api;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads a {@code /v1} request body into memory up to a limit, and answers a larger one with an
 * OpenAI-style 413: at once when {@code Content-Length} says so, else as soon as the chunks read
 * pass the limit. Unlike Vert.x's BodyHandler it never decodes forms, so a client that sends JSON
 * as {@code application/x-www-form-urlencoded} (curl -d) is read the same as any other.
 */
final class RequestBodyReader implements Handler<RoutingContext> {
    private static final String BODY = RequestBodyReader.class.getName() + ".body";

    private final long limit;

    RequestBodyReader(long limit) {
        this.limit = limit;
    }

    /** The body this handler read; empty when there was none. */
    static Buffer body(RoutingContext ctx) {
        Buffer body = ctx.get(BODY);
        if (body == null && ctx.body() != null && ctx.body().available()) {
            body = ctx.body().buffer(); // another body handler got there first
        }
        return body != null ? body : Buffer.buffer();
    }

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String length = request.getHeader("Content-Length");
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest(null, "The Content-Length header is not a number: '" + length + "'.");
            }
            if (declared > limit) {
                tooLarge(ctx);
                return;
            }
        }
        if (request.isEnded()) {
            ctx.put(BODY, Buffer.buffer());
            ctx.next();
            return;
        }
        Buffer body = Buffer.buffer();
        boolean[] failed = {false};
        request.handler(chunk -> {
            if (failed[0]) {
                return;
            }
            if (body.length() + (long) chunk.length() > limit) {
                failed[0] = true;
                tooLarge(ctx);
                return;
            }
            body.appendBuffer(chunk);
        });
        request.exceptionHandler(e -> {
            if (!failed[0]) {
                failed[0] = true;
                ctx.fail(e);
            }
        });
        request.endHandler(v -> {
            if (!failed[0]) {
                ctx.put(BODY, body);
                ctx.next();
            }
        });
        request.resume();
    }

    private void tooLarge(RoutingContext ctx) {
        // The rest of the body is not read: the connection cannot be reused.
        ctx.response().putHeader("Connection", "close");
        ctx.response().endHandler(v -> ctx.request().connection().close());
        ctx.fail(ApiException.bodyTooLarge(limit));
    }
}
