package dev.gantry.worker.model.source;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A hub on 127.0.0.1 that serves files the way Hugging Face's {@code resolve} endpoint and its
 * CDN do (Range requests, redirects carrying {@code X-Linked-Size} and {@code X-Linked-Etag}), and
 * misbehaves on request: drops the connection, stalls, lies about sizes, ignores ranges. It
 * records every request so tests can assert what the client sent.
 */
final class FakeHub implements AutoCloseable {
    /** One request as the server saw it. */
    record Request(String path, String range, String authorization) {}

    private record Redirect(int status, String location, long linkedSize, String linkedEtag) {}

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");
    private static final int CHUNK = 16 * 1024;

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final Map<String, Redirect> redirects = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicLong bytesSent = new AtomicLong();

    /** Cut the connection after this many body bytes, for the next {@link #dropsLeft} responses. */
    volatile long dropAfterBytes = -1;
    final AtomicInteger dropsLeft = new AtomicInteger();
    /** Stop sending, connection open, after this many body bytes, for the next stalls. */
    volatile long stallAfterBytes = -1;
    final AtomicInteger stallsLeft = new AtomicInteger();
    /** Wait this long before answering at all. */
    volatile long delayHeadersMillis;
    /** Pause between chunks of a body, to keep a download running while other threads arrive. */
    volatile long chunkDelayMillis;
    /** Sent as {@code X-Linked-Size} on file responses when not negative, whatever the real size. */
    volatile long announcedSize = -1;
    /** Answer 200 with the whole file even to a Range request. */
    volatile boolean ignoreRange;
    /** When set, only requests with {@code Authorization: Bearer <token>} get files. */
    volatile String requiredToken;
    /** When positive, every request gets this status and no body. */
    volatile int forcedStatus;

    private FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    static FakeHub start() throws IOException {
        return new FakeHub();
    }

    /** The base URL, to use as the hub endpoint. */
    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    void serve(String path, byte[] content) {
        files.put(path, content);
    }

    /** Answers {@code path} with a redirect carrying the hub's linked-file headers. */
    void redirect(String path, int status, String location, long linkedSize, String linkedEtag) {
        redirects.put(path, new Redirect(status, location, linkedSize, linkedEtag));
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    long bytesSent() {
        return bytesSent.get();
    }

    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            String range = exchange.getRequestHeaders().getFirst("Range");
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            requests.add(new Request(path, range, auth));
            if (delayHeadersMillis > 0 && closed.await(delayHeadersMillis, TimeUnit.MILLISECONDS)) {
                return;
            }
            var headers = exchange.getResponseHeaders();
            if (requiredToken != null && !("Bearer " + requiredToken).equals(auth)) {
                headers.add("X-Error-Code", "GatedRepo");
                exchange.sendResponseHeaders(auth == null ? 401 : 403, -1);
                return;
            }
            if (forcedStatus > 0) {
                exchange.sendResponseHeaders(forcedStatus, -1);
                return;
            }
            Redirect redirect = redirects.get(path);
            if (redirect != null) {
                headers.add("Location", redirect.location());
                if (redirect.linkedSize() >= 0) {
                    headers.add("X-Linked-Size", Long.toString(redirect.linkedSize()));
                }
                if (redirect.linkedEtag() != null) {
                    headers.add("X-Linked-Etag", "\"" + redirect.linkedEtag() + "\"");
                }
                exchange.sendResponseHeaders(redirect.status(), -1);
                return;
            }
            byte[] content = files.get(path);
            if (content == null) {
                headers.add("X-Error-Code", "EntryNotFound");
                headers.add("X-Error-Message", "Entry not found");
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            sendFile(exchange, content, range);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void sendFile(HttpExchange exchange, byte[] content, String range)
            throws IOException, InterruptedException {
        var headers = exchange.getResponseHeaders();
        headers.add("Accept-Ranges", "bytes");
        headers.add("Content-Type", "application/octet-stream");
        if (announcedSize >= 0) {
            headers.add("X-Linked-Size", Long.toString(announcedSize));
        }
        int start = 0;
        Matcher m = range == null ? null : RANGE.matcher(range);
        if (m != null && m.matches() && !ignoreRange) {
            long from = Long.parseLong(m.group(1));
            if (from >= content.length) {
                headers.add("Content-Range", "bytes */" + content.length);
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            start = (int) from;
            headers.add("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
            exchange.sendResponseHeaders(206, content.length - start);
        } else {
            exchange.sendResponseHeaders(200, content.length);
        }
        boolean drop = dropAfterBytes >= 0 && dropsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
        boolean stall = stallAfterBytes >= 0 && stallsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
        OutputStream body = exchange.getResponseBody();
        long sent = 0;
        for (int off = start; off < content.length; ) {
            if (drop && sent >= dropAfterBytes) {
                // The bytes so far reach the client; closing short of Content-Length cuts the connection.
                body.flush();
                return;
            }
            if (stall && sent >= stallAfterBytes) {
                body.flush();
                closed.await();
                return;
            }
            long limit = Math.min(CHUNK, content.length - off);
            if (drop) {
                limit = Math.min(limit, dropAfterBytes - sent);
            }
            if (stall) {
                limit = Math.min(limit, stallAfterBytes - sent);
            }
            body.write(content, off, (int) limit);
            off += (int) limit;
            sent += limit;
            bytesSent.addAndGet(limit);
            if (chunkDelayMillis > 0) {
                body.flush();
                Thread.sleep(chunkDelayMillis);
            }
        }
    }
}
