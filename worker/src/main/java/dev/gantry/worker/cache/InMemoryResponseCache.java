package dev.gantry.worker.cache;

import java.time.Duration;
import java.time.InstantSource;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The response cache in this process's heap: least-recently-used eviction under a bound on total
 * bytes and on entry count, and a time-to-live per entry.
 *
 * <p>Sizes are estimates of heap use: key and body as UTF-16 (two bytes a char) plus
 * {@link #ENTRY_OVERHEAD_BYTES} for the map node, entry and string headers. Every operation is a
 * few map steps under one lock, so the stages it returns are already complete; nothing here blocks
 * for longer than another thread's map update.
 *
 * <p>Expired entries are dropped when they are looked up or when they reach the cold end of the
 * LRU order, so until then they count against the bounds; with a single TTL for all entries that
 * costs at most what the bounds already allow.
 */
public final class InMemoryResponseCache implements ResponseCache {
    /** Approximate heap cost of one entry beyond its characters. */
    static final long ENTRY_OVERHEAD_BYTES = 96;

    private final long maxBytes;
    private final int maxEntries;
    private final long maxEntryBytes;
    private final long ttlMillis;
    private final InstantSource clock;

    private final ReentrantLock lock = new ReentrantLock();
    /** Access-ordered: iteration starts at the least recently used entry. Guarded by {@link #lock}. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;
    private boolean closed;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    private record Entry(String body, long bytes, long expiresAtMillis) {}

    /** A cache with the bounds and TTL of {@code config}, timed by the system clock. */
    public InMemoryResponseCache(ResponseCacheConfig config) {
        this(config.maxBytes(), config.maxEntries(), config.maxEntryBytes(), config.ttl(), InstantSource.system());
    }

    /** A cache with explicit bounds; {@code clock} decides expiry (tests pass a settable one). */
    public InMemoryResponseCache(long maxBytes, int maxEntries, long maxEntryBytes, Duration ttl, InstantSource clock) {
        if (maxBytes <= 0 || maxEntries <= 0 || maxEntryBytes <= 0) {
            throw new IllegalArgumentException("cache bounds must be positive: maxBytes=" + maxBytes
                    + " maxEntries=" + maxEntries + " maxEntryBytes=" + maxEntryBytes);
        }
        if (ttl.toMillis() < 1) {
            throw new IllegalArgumentException("cache ttl must be at least 1 ms, got " + ttl);
        }
        this.maxBytes = maxBytes;
        this.maxEntries = maxEntries;
        this.maxEntryBytes = maxEntryBytes;
        this.ttlMillis = ttl.toMillis();
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The estimated heap bytes an entry with this key and body takes. */
    public static long sizeOf(String key, String body) {
        return 2L * (key.length() + body.length()) + ENTRY_OVERHEAD_BYTES;
    }

    @Override
    public CompletionStage<Optional<String>> get(String key) {
        Objects.requireNonNull(key, "key");
        String body = null;
        lock.lock();
        try {
            Entry entry = entries.get(key);
            if (entry != null) {
                if (clock.millis() >= entry.expiresAtMillis()) {
                    remove(key);
                } else {
                    body = entry.body();
                }
            }
        } finally {
            lock.unlock();
        }
        (body != null ? hits : misses).increment();
        return CompletableFuture.completedFuture(Optional.ofNullable(body));
    }

    @Override
    public CompletionStage<Void> put(String key, String body) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(body, "body");
        long size = sizeOf(key, body);
        if (size > maxEntryBytes || size > maxBytes) {
            return CompletableFuture.completedFuture(null);
        }
        lock.lock();
        try {
            if (closed) {
                return CompletableFuture.completedFuture(null);
            }
            Entry previous = entries.put(key, new Entry(body, size, clock.millis() + ttlMillis));
            bytes += size - (previous == null ? 0 : previous.bytes());
            evictToBounds();
        } finally {
            lock.unlock();
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Drops least recently used entries until both bounds hold. The newest entry always fits. */
    private void evictToBounds() {
        Iterator<Map.Entry<String, Entry>> coldestFirst = entries.entrySet().iterator();
        while ((bytes > maxBytes || entries.size() > maxEntries) && coldestFirst.hasNext()) {
            bytes -= coldestFirst.next().getValue().bytes();
            coldestFirst.remove();
        }
    }

    private void remove(String key) {
        Entry removed = entries.remove(key);
        if (removed != null) {
            bytes -= removed.bytes();
        }
    }

    /** The number of entries held now, expired ones not yet dropped included. */
    public int size() {
        lock.lock();
        try {
            return entries.size();
        } finally {
            lock.unlock();
        }
    }

    /** The estimated bytes held now, by {@link #sizeOf}. */
    public long bytes() {
        lock.lock();
        try {
            return bytes;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String describe() {
        return "in-memory response cache (max " + maxBytes + " bytes, " + maxEntries + " entries, "
                + maxEntryBytes + " bytes per entry, ttl " + Duration.ofMillis(ttlMillis) + ")";
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
        return 0;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            entries.clear();
            bytes = 0;
        } finally {
            lock.unlock();
        }
    }
}
