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
        HttpServerRequest request = ctx.request();
        // The connection cannot be reused. But a client that is still sending (most do not wait
        // for a 100-continue) would see a reset instead of the 413 if the server closed at once:
        // read and drop the rest of the body, up to a bound, and close once both are done.
        boolean[] requestDone = {request.isEnded()};
        boolean[] responseDone = {false};
        long[] dropped = {0};
        Runnable closeWhenDone = () -> {
            if (requestDone[0] && responseDone[0]) {
                request.connection().close();
            }
        };
        if (!request.isEnded()) {
            request.handler(chunk -> {
                dropped[0] += chunk.length();
                if (dropped[0] > DRAIN_LIMIT) {
                    requestDone[0] = true;
                    closeWhenDone.run();
                }
            });
            request.endHandler(v -> {
                requestDone[0] = true;
                closeWhenDone.run();
            });
            request.resume();
        }
        ctx.response().putHeader("Connection", "close");
        ctx.response().endHandler(v -> {
            responseDone[0] = true;
            closeWhenDone.run();
        });
        ctx.fail(ApiException.bodyTooLarge(limit));
    }

    /** The most of a refused body read and dropped before the connection is closed regardless. */
    private static final long DRAIN_LIMIT = 64L << 20;
}
