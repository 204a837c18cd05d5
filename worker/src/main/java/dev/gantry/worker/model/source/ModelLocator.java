package dev.gantry.worker.model.source;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.ModelLoadException.Kind;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the model a user named into a readable local file.
 *
 * <p>{@link #resolve(String)} accepts:
 * <ul>
 *   <li>a local path, absolute, relative to the working directory, or starting with {@code ~/};</li>
 *   <li>a {@code file:///absolute/path} URI ({@code file://localhost/...} too);</li>
 *   <li>{@code hf://owner/repo/path/in/repo.gguf} or {@code hf://owner/repo@revision/path}: a file
 *       in a Hugging Face-compatible hub, fetched from
 *       {@code {endpoint}/{owner}/{repo}/resolve/{revision}/{path}} into the cache folder at
 *       {@code <cache>/<owner>/<repo>/<revision>/<path>} (see {@link HubSettings} for the endpoint,
 *       token, offline switch and cache folder).</li>
 * </ul>
 *
 * <p>A cached file is used as it is, without asking the hub whether the revision moved on, so a
 * branch such as {@code main} is pinned to what was fetched first; name a commit hash, or delete
 * the cached file, to get another version. A download goes to {@code <file>.part} and is renamed
 * to its final name only once complete and checked: its size against the announced
 * {@code X-Linked-Size} or {@code Content-Length}, and its SHA-256 when the hub announces one as
 * the linked ETag (as Hugging Face does for LFS files). A download that breaks off is resumed
 * with a {@code Range} request, within the same call up to {@link HubSettings#retries()} times and
 * otherwise on the next call.
 *
 * <p>Resolving the same file from several threads downloads it once: the others wait and get the
 * finished file. Processes sharing a cache folder (pods on one volume) do the same through a
 * file lock on {@code <file>.lock}, which stays in the cache beside the file.
 */
public final class ModelLocator {
    private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", Pattern.DOTALL);

    /**
     * One lock per target file, shared by every locator in the JVM; entries stay for the JVM's
     * life, which is one per file ever downloaded, a handful.
     */
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private final HubSettings settings;
    private final DownloadListener listener;

    /**
     * @param settings the hub and cache to use for {@code hf://} URIs
     * @param listener told how downloads go
     */
    public ModelLocator(HubSettings settings, DownloadListener listener) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** A locator that draws download progress on standard error. */
    public ModelLocator(HubSettings settings) {
        this(settings, ConsoleProgress.stderr());
    }

    /** A locator configured from the environment ({@link HubSettings#fromEnvironment()}). */
    public static ModelLocator fromEnvironment() {
        return new ModelLocator(HubSettings.fromEnvironment());
    }

    public HubSettings settings() {
        return settings;
    }

    /**
     * The local file for a model path or URI, downloading it first when it is a hub file not in the
     * cache yet.
     *
     * @return an absolute, normalised path to a readable regular file
     * @throws ModelLoadException with a message for the user when the file is missing, the URI is
     *     malformed or unsupported, or the download fails
     */
    public Path resolve(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new ModelLoadException(Kind.BAD_REFERENCE,
                    "no model given: name a GGUF file path or an hf://owner/repo/file.gguf URI");
        }
        String trimmed = uri.strip();
        Matcher m = SCHEME.matcher(trimmed);
        // Only hf:, file: and anything with :// are URIs; "my:model.gguf" is a file name.
        if (m.matches() && (m.group(2).startsWith("//") || m.group(1).equalsIgnoreCase("hf")
                || m.group(1).equalsIgnoreCase("file"))) {
            String scheme = m.group(1).toLowerCase(Locale.ROOT);
            return switch (scheme) {
                case "hf" -> resolveHub(HubFile.parse("hf:" + m.group(2)));
                case "file" -> checkLocal(fileUri(trimmed));
                default -> throw new ModelLoadException(Kind.BAD_REFERENCE,
                        "unsupported model URI scheme '" + m.group(1) + "' in '"
                        + trimmed + "': use a local path, file:///path/to/model.gguf or"
                        + " hf://owner/repo/path/to/model.gguf");
            };
        }
        return checkLocal(localPath(trimmed));
    }

    /** Where {@code file} is, or will be once downloaded, in the cache. */
    public Path cachePath(HubFile file) {
        return file.cachePath(settings.cacheDir());
    }

    private Path resolveHub(HubFile file) {
        Path target = cachePath(file);
        if (!target.normalize().startsWith(settings.cacheDir())) {
            // HubFile's checks make this unreachable; it guards the cache folder's boundary anyway.
            throw new ModelLoadException(Kind.BAD_REFERENCE,
                    file + " would be stored outside the cache folder " + settings.cacheDir());
        }
        if (Files.isRegularFile(target)) {
            return target;
        }
        if (settings.offline()) {
            Path part = HubDownloader.partFile(target);
            throw new ModelLoadException(Kind.NOT_FOUND,
                    file + " is not in the cache (" + target + ") and HF_HUB_OFFLINE is set:"
                    + " fetch it once with the network on, or put the file there"
                    + (Files.exists(part) ? " (a partial download is at " + part + ")" : ""));
        }
        Path key;
        try {
            Files.createDirectories(target.getParent());
            // The real path, so two spellings of one cache folder share a lock: a second FileLock
            // on the same file in one JVM would throw rather than wait.
            key = target.getParent().toRealPath().resolve(target.getFileName());
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    "cannot create the cache folder " + target.getParent() + " for " + file
                    + ": " + e, e);
        }
        ReentrantLock lock = LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    "interrupted while waiting for another download of " + file, e);
        }
        try {
            Path lockFile = key.resolveSibling(key.getFileName() + ".lock");
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                // Whoever held the lock before may have finished the file.
                if (!Files.isRegularFile(target)) {
                    new HubDownloader(settings, listener).download(file, target);
                }
            }
            return target;
        } catch (IOException e) {
            throw new ModelLoadException(Kind.DOWNLOAD_FAILED,
                    "cannot lock " + file + " in the cache folder " + settings.cacheDir()
                    + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    private static Path fileUri(String uri) {
        try {
            URI parsed = new URI(uri);
            String authority = parsed.getRawAuthority();
            if (authority != null && authority.equalsIgnoreCase("localhost")) {
                parsed = new URI("file", null, parsed.getPath(), parsed.getQuery(), parsed.getFragment());
            }
            return Path.of(parsed);
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new ModelLoadException(Kind.BAD_REFERENCE,
                    "malformed file URI '" + uri + "': expected file:///absolute/path/to/model.gguf"
                    + " (" + e.getMessage() + ")", e);
        }
    }

    private static Path localPath(String path) {
        try {
            if (path.equals("~") || path.startsWith("~/")) {
                return Path.of(System.getProperty("user.home")).resolve(path.substring(Math.min(2, path.length())));
            }
            return Path.of(path);
        } catch (InvalidPathException e) {
            throw new ModelLoadException(Kind.BAD_REFERENCE,
                    "model path is not valid: '" + path + "' (" + e.getReason() + ")", e);
        }
    }

    private static Path checkLocal(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw new ModelLoadException(Kind.NOT_FOUND, "model file not found: " + p);
        }
        if (!Files.isRegularFile(p)) {
            throw new ModelLoadException(Kind.NOT_FOUND, "model file not found: " + p + (Files.isDirectory(p)
                    ? " is a directory: name the model file in it" : " is not a regular file"));
        }
        if (!Files.isReadable(p)) {
            throw new ModelLoadException(Kind.NOT_FOUND, "model file not readable: " + p + " (check its permissions)");
        }
        return p;
    }
}
