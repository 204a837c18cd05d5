package dev.gantry.worker.model.source;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.ModelLoadException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fetches one hub file into its cache path, resuming from {@code <file>.part} when an earlier
 * attempt left one. The caller holds the lock for the target; this class does no locking. Its
 * failures are {@link Kind#DOWNLOAD_FAILED}, but for the hub's "no such file" and "not for you"
 * answers ({@link Kind#NOT_FOUND}).
 */
final class HubDownloader {
    private static final int MAX_REDIRECTS = 10;
    private static final int BUFFER_BYTES = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final String USER_AGENT = "gantry-worker";

    private final HubSettings settings;
    private final DownloadListener listener;

    HubDownloader(HubSettings settings, DownloadListener listener) {
        this.settings = Objects.requireNonNull(settings);
        this.listener = Objects.requireNonNull(listener);
    }

    /** The file's {@code resolve} URL: {@code {endpoint}/{owner}/{repo}/resolve/{revision}/{path}}. */
    static URI resolveUrl(URI endpoint, HubFile file) {
        String base = endpoint.toString();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        StringBuilder b = new StringBuilder(base).append('/').append(encode(file.owner())).append('/')
                .append(encode(file.repo())).append("/resolve/").append(encode(file.revision()));
        for (String segment : file.path().split("/")) {
            b.append('/').append(encode(segment));
        }
        return URI.create(b.toString());
    }

    /** The partial file a download of {@code target} writes to. */
    static Path partFile(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    /**
     * Downloads {@code file} to {@code target}, which must not exist yet.
     *
     * @throws ModelLoadException for every failure; a partial download that can be resumed is kept
     */
    void download(HubFile file, Path target) {
        Path part = partFile(target);
        try {
            Files.createDirectories(target.getParent());
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    "cannot create cache folder " + target.getParent() + ": " + e, e);
        }
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(settings.timeout())
                // Redirects are followed by hand so the token never goes to another host (the CDN).
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        Transfer transfer;
        try {
            int retriesLeft = settings.retries();
            boolean restarted = false;
            while (true) {
                try {
                    transfer = fetch(client, file, part);
                    if (transfer != null) {
                        break;
                    }
                    // The part file could not be resumed and is gone; one fresh start, then give up
                    // rather than loop on a server that answers with the wrong range.
                    if (restarted) {
                        throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "the hub sent a part of " + file
                                + " other than the one asked for, twice (" + resolveUrl(settings.endpoint(), file) + ")");
                    }
                    restarted = true;
                } catch (BrokenTransfer e) {
                    if (retriesLeft-- <= 0) {
                        throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "download of " + file + " broke off after "
                                + ConsoleProgress.formatBytes(e.bytesOnDisk) + ": " + e.getMessage()
                                + "; the partial file " + part + " is kept: resolve again to resume", e);
                    }
                    listener.interrupted(file, e.bytesOnDisk, e.getMessage());
                }
            }
        } finally {
            // Not close(): that waits for exchanges, and one cut off by a stall may never finish.
            client.shutdownNow();
        }
        verify(file, part, transfer);
        try {
            // The same folder, so the rename is atomic: readers see no file or the whole file.
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot move " + part + " to " + target + ": " + e, e);
        }
        listener.finished(file, size(target));
    }

    /** What a completed transfer announced, to check the file against. */
    private record Transfer(long totalBytes, String sha256, URI source) {}

    /** A transfer that broke off with its bytes so far on disk: worth resuming. */
    private static final class BrokenTransfer extends Exception {
        final long bytesOnDisk;

        BrokenTransfer(String message, long bytesOnDisk, Throwable cause) {
            super(message, cause);
            this.bytesOnDisk = bytesOnDisk;
        }
    }

    /** The final response after redirects, with what the hub said about the file on the way. */
    private record Reply(HttpResponse<InputStream> response, URI uri, long linkedSize, String linkedEtag) {}

    /**
     * One request and, when it succeeds, its body appended to the part file.
     *
     * @return the transfer, or {@code null} when the part file was discarded and the download must
     *     start over
     */
    private Transfer fetch(HttpClient client, HubFile file, Path part) throws BrokenTransfer {
        long offset = Files.exists(part) ? size(part) : 0;
        Reply reply = send(client, file, offset);
        HttpResponse<InputStream> response = reply.response();
        int status = response.statusCode();
        long contentLength = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        long total;
        if (status == 200) {
            offset = 0;
            total = reply.linkedSize() >= 0 ? reply.linkedSize() : contentLength;
        } else if (status == 206) {
            Matcher m = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
            if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
                // Not the range asked for: appending it would corrupt the file.
                closeQuietly(response.body());
                delete(part);
                return null;
            }
            long rangeTotal = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
            total = reply.linkedSize() >= 0 ? reply.linkedSize()
                    : rangeTotal >= 0 ? rangeTotal : contentLength >= 0 ? offset + contentLength : -1;
        } else if (status == 416 && offset > 0) {
            // The part file is at or past the end of what the server has: it cannot be resumed.
            closeQuietly(response.body());
            delete(part);
            return null;
        } else {
            throw statusError(file, reply);
        }
        listener.started(file, reply.uri(), offset, total);
        writeBody(file, response.body(), part, offset, total);
        return new Transfer(total, sha256Of(reply.linkedEtag()), reply.uri());
    }

    private Reply send(HttpClient client, HubFile file, long offset) {
        URI uri = resolveUrl(settings.endpoint(), file);
        long linkedSize = -1;
        String linkedEtag = null;
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(settings.timeout())
                    .header("User-Agent", USER_AGENT);
            if (offset > 0) {
                request.header("Range", "bytes=" + offset + "-");
            }
            if (settings.token() != null && sameOrigin(uri, settings.endpoint())) {
                request.header("Authorization", "Bearer " + settings.token());
            }
            HttpResponse<InputStream> response = send(client, request.build(), hop);
            var headers = response.headers();
            // The hub names the real size and hash on its redirect; the CDN after it may not.
            if (linkedSize < 0) {
                linkedSize = headers.firstValueAsLong("X-Linked-Size").orElse(-1);
            }
            if (linkedEtag == null) {
                linkedEtag = headers.firstValue("X-Linked-Etag").orElse(null);
            }
            int status = response.statusCode();
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
                return new Reply(response, uri, linkedSize, linkedEtag);
            }
            closeQuietly(response.body());
            String location = headers.firstValue("Location").orElseThrow(() -> new ModelLoadException(
                    Kind.DOWNLOAD_FAILED, "the hub redirected " + file + " (HTTP " + status + ") without saying where"));
            if (hop >= MAX_REDIRECTS) {
                throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "too many redirects fetching " + file + " from "
                        + settings.endpoint() + " (last: " + location + ")");
            }
            try {
                uri = uri.resolve(location);
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                        "the hub redirected " + file + " to an invalid URL: " + location, e);
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                        "the hub redirected " + file + " to a non-HTTP URL: " + uri);
            }
        }
    }

    private HttpResponse<InputStream> send(HttpClient client, HttpRequest request, int hop) {
        String where = hop == 0 ? "the hub at " + settings.endpoint()
                : origin(request.uri()) + " (where the hub at " + settings.endpoint() + " redirected)";
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "timed out connecting to " + where + " after "
                    + seconds() + ": check HF_ENDPOINT and the network", e);
        } catch (HttpTimeoutException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, where + " did not answer within " + seconds()
                    + " (set HF_HUB_DOWNLOAD_TIMEOUT to wait longer)", e);
        } catch (ConnectException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot connect to " + where + ": connection refused or"
                    + " unreachable; check HF_ENDPOINT and the network", e);
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "request to " + where + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "interrupted while requesting " + request.uri(), e);
        }
    }

    /** Appends the body to the part file (or replaces it when {@code offset} is 0). */
    private void writeBody(HubFile file, InputStream body, Path part, long offset, long total)
            throws BrokenTransfer {
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        long timeoutNanos = settings.timeout().toNanos();
        // The HTTP client times out only until the headers arrive; a body that stops must be cut
        // off here, by closing the stream under the blocked read.
        Thread watchdog = Thread.ofVirtual().name("hub-download-watchdog").start(() -> {
            long tick = Math.max(1_000_000L, Math.min(timeoutNanos / 4, 1_000_000_000L));
            try {
                while (System.nanoTime() - lastData.get() < timeoutNanos) {
                    Thread.sleep(tick / 1_000_000L, (int) (tick % 1_000_000L));
                }
                stalled.set(true);
                closeQuietly(body);
            } catch (InterruptedException e) {
                // The download ended first.
            }
        });
        long done = offset;
        try (InputStream in = body;
             FileChannel out = offset == 0
                     ? FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                             StandardOpenOption.TRUNCATE_EXISTING)
                     : FileChannel.open(part, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            byte[] buffer = new byte[BUFFER_BYTES];
            while (true) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (IOException e) {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                                "interrupted while downloading " + file + "; the partial file "
                                + part + " is kept: resolve again to resume", e);
                    }
                    throw new BrokenTransfer(stalled.get() ? "no data for " + seconds() : "connection lost ("
                            + e.getMessage() + ")", done, e);
                }
                if (n < 0) {
                    break;
                }
                lastData.set(System.nanoTime());
                if (total >= 0 && done + n > total) {
                    out.close();
                    delete(part);
                    throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "the server sent more of " + file + " than the "
                            + total + " bytes announced; the download was discarded");
                }
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                done += n;
                listener.progressed(file, done, total);
            }
            if (stalled.get()) {
                throw new BrokenTransfer("no data for " + seconds(), done, null);
            }
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot write " + part + " (" + e + "); "
                    + ConsoleProgress.formatBytes(done) + " are kept for resuming", e);
        } finally {
            watchdog.interrupt();
        }
    }

    /** Checks the complete part file against what the hub announced. */
    private void verify(HubFile file, Path part, Transfer transfer) {
        long size = size(part);
        if (transfer.totalBytes() >= 0 && size != transfer.totalBytes()) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    "download of " + file + " is incomplete: the hub announced "
                    + transfer.totalBytes() + " bytes but the transfer ended at " + size + " ("
                    + transfer.source() + "); the partial file " + part + " is kept: resolve again to resume");
        }
        if (transfer.sha256() != null) {
            String actual = sha256(part);
            if (!actual.equals(transfer.sha256())) {
                delete(part);
                throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                        "download of " + file + " is corrupt: sha256 " + actual
                        + ", but the hub announced " + transfer.sha256() + "; the file was deleted");
            }
        }
    }

    private ModelLoadException statusError(HubFile file, Reply reply) {
        HttpResponse<InputStream> response = reply.response();
        closeQuietly(response.body());
        int status = response.statusCode();
        String hubMessage = response.headers().firstValue("X-Error-Message").map(m -> " (hub: " + m + ")")
                .orElse("");
        String errorCode = response.headers().firstValue("X-Error-Code").orElse("");
        String from = " (HTTP " + status + " from " + origin(reply.uri()) + ")";
        return switch (status) {
            // Not found, as far as this worker can tell: the hub answers 401 for a repository that
            // does not exist as for one it may not see.
            case 401, 403 -> new ModelLoadException(Kind.NOT_FOUND, settings.token() == null
                    ? "gated or private repository: set HF_TOKEN to a token with access to " + file.repoId()
                            + (errorCode.equals("RepoNotFound") ? " (or the repository does not exist)" : "")
                            + hubMessage + from
                    : "gated or private repository: the HF_TOKEN given has no access to " + file.repoId()
                            + "; request access on the hub or use another token" + hubMessage + from);
            case 404 -> new ModelLoadException(Kind.NOT_FOUND, "not found on hub: " + file.repoId() + "/" + file.path()
                    + " at revision " + file.revision() + hubMessage + from);
            case 429 -> new ModelLoadException(Kind.DOWNLOAD_FAILED, "the hub is rate limiting requests for " + file
                    + ": wait and try again, or set HF_TOKEN" + hubMessage + from);
            default -> new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    (status >= 500 ? "the hub failed to serve " : "the hub refused ")
                    + file + hubMessage + from);
        };
    }

    private String seconds() {
        long millis = settings.timeout().toMillis();
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis / 1000.0 + "s";
    }

    /** The hub sends an LFS file's sha256 as its linked ETag; other ETags are opaque. */
    private static String sha256Of(String etag) {
        if (etag == null) {
            return null;
        }
        String v = etag.trim();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        v = v.replace("\"", "").toLowerCase(Locale.ROOT);
        return SHA256.matcher(v).matches() ? v : null;
    }

    private static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[BUFFER_BYTES];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot read " + file + " to check it: " + e, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return origin(a).equalsIgnoreCase(origin(b));
    }

    private static String origin(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort() >= 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
        return scheme + "://" + uri.getHost() + ":" + port;
    }

    private static String encode(String segment) {
        StringBuilder b = new StringBuilder();
        for (byte x : segment.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return b.toString();
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot read the size of " + file + ": " + e, e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED, "cannot delete " + file + ": " + e, e);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // Nothing more is read from it; the connection is dropped either way.
        }
    }
}
