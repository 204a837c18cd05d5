package dev.gantry.worker.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jboss.logging.Logger;

/**
 * The response cache in Redis, shared by every worker that points at the same server. Entries are
 * stored as {@code SET gantry:rc:<key> <body> PX <ttl>} and read with {@code GET}; bodies travel
 * as UTF-8.
 *
 * <p>Redis bounds the cache's size itself: give the server a {@code maxmemory} and an evicting
 * {@code maxmemory-policy} such as {@code allkeys-lru} (with {@code noeviction} a full server
 * rejects stores, which this class counts as errors). Here only bodies above the maximum entry
 * size are skipped.
 *
 * <p>Every operation is cut off after the configured timeout so a slow server cannot hold a
 * request. When the server cannot be reached or times out, the cache stops trying for
 * {@link #BACKOFF} and answers misses straight away, so a dead Redis costs one timeout a second
 * rather than one per request. Error replies from a live server (a full {@code noeviction}
 * instance, say) do not trigger that pause.
 */
public final class RedisResponseCache implements ResponseCache {
    /** Prefix of every key this cache writes, so it can share a Redis database. */
    public static final String KEY_PREFIX = "gantry:rc:";
    /** How long the cache rests after a failure to reach Redis. */
    static final Duration BACKOFF = Duration.ofSeconds(1);

    private static final Logger LOG = Logger.getLogger(RedisResponseCache.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final Redis redis;
    private final String safeUrl;
    private final long ttlMillis;
    private final long maxEntryBytes;
    private final long timeoutMillis;
    private final ThrottledLog failures = new ThrottledLog(LOG, Duration.ofMinutes(1));
    private volatile long restUntilNanos = System.nanoTime();
    private volatile boolean closed;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder errors = new LongAdder();

    /** A cache at {@code config.redisUrl()}, which must be present. */
    public RedisResponseCache(Vertx vertx, ResponseCacheConfig config) {
        this(vertx, config.redisUrl().orElseThrow(() -> new IllegalArgumentException("no Redis URL configured")),
                config.ttl(), config.maxEntryBytes(), config.timeout());
    }

    /**
     * A cache at {@code url} ({@code redis://[[user]:password@]host[:port][/db]} or
     * {@code rediss://} for TLS). Connections are made lazily, so a server that is down now is not
     * an error here; a URL that cannot be parsed is.
     */
    public RedisResponseCache(Vertx vertx, String url, Duration ttl, long maxEntryBytes, Duration timeout) {
        Objects.requireNonNull(vertx, "vertx");
        this.safeUrl = validate(url);
        if (ttl.toMillis() < 1 || timeout.toMillis() < 1 || maxEntryBytes <= 0) {
            throw new IllegalArgumentException("Redis response cache needs ttl and timeout of at least 1 ms and a"
                    + " positive max entry size: ttl=" + ttl + " timeout=" + timeout + " maxEntryBytes=" + maxEntryBytes);
        }
        this.ttlMillis = ttl.toMillis();
        this.maxEntryBytes = maxEntryBytes;
        this.timeoutMillis = timeout.toMillis();
        RedisOptions options = new RedisOptions()
                .setConnectionString(url)
                .setMaxPoolSize(8)
                // Requests wait for a pooled connection; the per-operation timeout bounds the wait.
                .setMaxPoolWaiting(1024);
        options.getNetClientOptions().setConnectTimeout((int) CONNECT_TIMEOUT.toMillis()).setTcpNoDelay(true);
        this.redis = Redis.createClient(vertx, options);
    }

    /** Checks the URL's shape and returns it with any password replaced by {@code ***}. */
    static String validate(String url) {
        Objects.requireNonNull(url, "Redis URL");
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("Redis URL is not a URI: " + e.getMessage());
        }
        String scheme = uri.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new IllegalArgumentException("Redis URL must start with redis:// or rediss://, got scheme "
                    + scheme + " in " + redact(uri));
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("Redis URL has no host: " + redact(uri));
        }
        String path = uri.getPath();
        if (path != null && !path.isEmpty() && !path.equals("/") && !path.substring(1).matches("\\d{1,5}")) {
            throw new IllegalArgumentException("Redis URL path must be a database number like /0, got "
                    + path + " in " + redact(uri));
        }
        return redact(uri);
    }

    private static String redact(URI uri) {
        String port = uri.getPort() < 0 ? "" : ":" + uri.getPort();
        String user = uri.getRawUserInfo() == null ? "" : "***@";
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        return uri.getScheme() + "://" + user + uri.getHost() + port + path;
    }

    @Override
    public CompletionStage<Optional<String>> get(String key) {
        Objects.requireNonNull(key, "key");
        if (closed) {
            misses.increment();
            return CompletableFuture.completedFuture(Optional.empty());
        }
        if (resting()) {
            misses.increment();
            errors.increment();
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return send(Request.cmd(Command.GET).arg(KEY_PREFIX + key))
                .map(response -> {
                    Optional<String> body = response == null ? Optional.empty()
                            : Optional.of(response.toString(StandardCharsets.UTF_8));
                    (body.isPresent() ? hits : misses).increment();
                    return body;
                })
                .otherwise(failure -> {
                    misses.increment();
                    failed("GET", failure);
                    return Optional.empty();
                })
                .toCompletionStage();
    }

    @Override
    public CompletionStage<Void> put(String key, String body) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(body, "body");
        // A UTF-8 body is at least as many bytes as chars: skip the encoding for the obvious cases.
        if (closed || body.length() > maxEntryBytes) {
            return CompletableFuture.completedFuture(null);
        }
        byte[] utf8 = body.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > maxEntryBytes) {
            return CompletableFuture.completedFuture(null);
        }
        if (resting()) {
            errors.increment();
            return CompletableFuture.completedFuture(null);
        }
        Request set = Request.cmd(Command.SET).arg(KEY_PREFIX + key).arg(Buffer.buffer(utf8)).arg("PX").arg(ttlMillis);
        return send(set)
                .<Void>mapEmpty()
                .otherwise(failure -> {
                    failed("SET", failure);
                    return null;
                })
                .toCompletionStage();
    }

    private Future<Response> send(Request request) {
        try {
            return redis.send(request).timeout(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    private boolean resting() {
        return System.nanoTime() - restUntilNanos < 0;
    }

    private void failed(String command, Throwable failure) {
        errors.increment();
        // A Response is an error reply from a server that is up; anything else (refused, reset,
        // timed out, pool exhausted) means Redis is unreachable for now.
        if (!(failure instanceof Response)) {
            restUntilNanos = System.nanoTime() + BACKOFF.toNanos();
        }
        failures.warn("response cache " + command + " on " + safeUrl + " failed, serving as a miss", failure);
    }

    @Override
    public String describe() {
        return "Redis response cache at " + safeUrl + " (ttl " + Duration.ofMillis(ttlMillis) + ", max "
                + maxEntryBytes + " bytes per entry, timeout " + timeoutMillis + " ms; size bound by Redis maxmemory)";
    }

    @Override
    public long hits() {
        return hits.sum();
    }

    @Override
    public long misses() {
        return misses.sum();
    }

    @Override
    public long errors() {
        return errors.sum();
    }

    @Override
    public void close() {
        closed = true;
        redis.close();
    }
}
