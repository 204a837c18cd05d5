package dev.gantry.worker.model.source;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.ModelLoadException.Kind;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Where and how {@link ModelLocator} fetches {@code hf://} files.
 *
 * <p>{@link #fromEnvironment()} reads the variables the Hugging Face tools use, so a machine set
 * up for {@code huggingface-cli} works unchanged:
 * <ul>
 *   <li>{@code HF_ENDPOINT}: the hub, default {@code https://huggingface.co}; a mirror may have a
 *       path prefix ({@code https://mirror.example/hf}).</li>
 *   <li>{@code HF_TOKEN} (or the older {@code HUGGING_FACE_HUB_TOKEN}): sent as
 *       {@code Authorization: Bearer}, needed for gated and private repositories.</li>
 *   <li>{@code HF_HUB_OFFLINE}: {@code 1}/{@code true}/{@code yes}/{@code on} means never touch the
 *       network, only the cache.</li>
 *   <li>{@code HF_HUB_DOWNLOAD_TIMEOUT}: seconds to wait for a connection, for the response, and
 *       for the next bytes of a body, default 30.</li>
 * </ul>
 * The cache folder is {@code $GANTRY_CACHE_DIR/hub}, else {@code $GANTRY_CACHE/hub}, else
 * {@code $XDG_CACHE_HOME/gantry/hub}, else {@code ~/.cache/gantry/hub}. Files land at
 * {@code <cache>/<owner>/<repo>/<revision>/<path in repo>}: plain files a person can find, copy or
 * delete, unlike the Hugging Face cache's blob store.
 *
 * @param endpoint the hub's base URI
 * @param cacheDir the folder downloaded files are kept in
 * @param token    bearer token, or {@code null} for anonymous access
 * @param offline  use the cache only
 * @param timeout  connect, response and stall timeout
 * @param retries  how many times one resolve resumes a download that broke off (a dropped
 *                 connection or a stall) before it gives up; the partial file stays either way
 */
public record HubSettings(URI endpoint, Path cacheDir, String token, boolean offline, Duration timeout,
                          int retries) {
    /** The public Hugging Face hub. */
    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");
    /** The timeout when none is configured. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Resumptions within one resolve when none are configured. */
    public static final int DEFAULT_RETRIES = 3;

    public HubSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(cacheDir, "cacheDir");
        Objects.requireNonNull(timeout, "timeout");
        String scheme = endpoint.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                || endpoint.getHost() == null) {
            throw new ModelLoadException(Kind.BAD_REFERENCE,
                    "hub endpoint must be an http(s) URL with a host: " + endpoint);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, "hub timeout must be positive: " + timeout);
        }
        if (retries < 0) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, "hub retries must not be negative: " + retries);
        }
        if (token != null && token.isBlank()) {
            token = null;
        }
        cacheDir = cacheDir.toAbsolutePath().normalize();
    }

    /** Settings with the default timeout and retries. */
    public HubSettings(URI endpoint, Path cacheDir, String token, boolean offline) {
        this(endpoint, cacheDir, token, offline, DEFAULT_TIMEOUT, DEFAULT_RETRIES);
    }

    /** Settings from this process's environment, as described on the type. */
    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /**
     * Settings from the given variables, for callers (and tests) that assemble their own
     * environment.
     *
     * @param env  variable names to values; missing and blank values count as unset
     * @param home the user's home folder, for the default cache folder
     */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        URI endpoint = DEFAULT_ENDPOINT;
        String endpointVar = get(env, "HF_ENDPOINT");
        if (endpointVar != null) {
            try {
                endpoint = URI.create(endpointVar);
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException(Kind.BAD_REFERENCE,
                        "HF_ENDPOINT is not a valid URL: '" + endpointVar + "'", e);
            }
        }
        String token = get(env, "HF_TOKEN");
        if (token == null) {
            token = get(env, "HUGGING_FACE_HUB_TOKEN");
        }
        Duration timeout = DEFAULT_TIMEOUT;
        String timeoutVar = get(env, "HF_HUB_DOWNLOAD_TIMEOUT");
        if (timeoutVar != null) {
            try {
                timeout = Duration.ofMillis(Math.round(Double.parseDouble(timeoutVar) * 1000));
            } catch (NumberFormatException e) {
                throw new ModelLoadException(Kind.BAD_REFERENCE, "HF_HUB_DOWNLOAD_TIMEOUT is not a number of seconds: '"
                        + timeoutVar + "'", e);
            }
        }
        return new HubSettings(endpoint, cacheDir(env, home), token, isTrue(get(env, "HF_HUB_OFFLINE")),
                timeout, DEFAULT_RETRIES);
    }

    /** A copy that uses the cache only. */
    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, cacheDir, token, offline, timeout, retries);
    }

    /** A copy with another timeout. */
    public HubSettings withTimeout(Duration timeout) {
        return new HubSettings(endpoint, cacheDir, token, offline, timeout, retries);
    }

    /** A copy with another number of resumptions per resolve. */
    public HubSettings withRetries(int retries) {
        return new HubSettings(endpoint, cacheDir, token, offline, timeout, retries);
    }

    /** A copy with another token ({@code null} for anonymous access). */
    public HubSettings withToken(String token) {
        return new HubSettings(endpoint, cacheDir, token, offline, timeout, retries);
    }

    /** Never prints the token itself: settings end up in logs. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token="
                + (token == null ? "none" : "set") + ", offline=" + offline + ", timeout=" + timeout
                + ", retries=" + retries + "]";
    }

    private static Path cacheDir(Map<String, String> env, Path home) {
        String gantry = get(env, "GANTRY_CACHE_DIR");
        if (gantry == null) {
            // The name the test helpers and other Gantry tools use for the same folder.
            gantry = get(env, "GANTRY_CACHE");
        }
        if (gantry != null) {
            return Path.of(gantry).resolve("hub");
        }
        String xdg = get(env, "XDG_CACHE_HOME");
        Path base = xdg != null ? Path.of(xdg) : home.resolve(".cache");
        return base.resolve("gantry").resolve("hub");
    }

    private static boolean isTrue(String value) {
        return value != null && switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            default -> false;
        };
    }

    private static String get(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? null : v.trim();
    }
}
