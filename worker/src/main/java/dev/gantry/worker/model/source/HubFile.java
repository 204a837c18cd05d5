package dev.gantry.worker.model.source;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.ModelLoadException.Kind;
import java.nio.file.Path;
import java.util.List;

/**
 * One file in a Hugging Face-compatible hub repository, parsed from
 * {@code hf://owner/repo[@revision]/path/in/repo}.
 *
 * <p>The revision is a branch, tag or commit hash without {@code /}; it defaults to {@code main}.
 * Every part is checked so that the file's place in the cache ({@link #cachePath(Path)}) can never
 * leave the cache folder: no empty, {@code .} or {@code ..} segments and no backslashes.
 *
 * @param owner    user or organisation, e.g. {@code TheBloke}
 * @param repo     repository name, e.g. {@code Llama-2-7B-GGUF}
 * @param revision branch, tag or commit
 * @param path     the file's path inside the repository, segments separated by {@code /}
 */
public record HubFile(String owner, String repo, String revision, String path) {
    /** The URI scheme this record parses. */
    public static final String SCHEME = "hf://";
    /** The revision used when the URI names none. */
    public static final String DEFAULT_REVISION = "main";

    private static final String EXPECTED = "expected hf://owner/repo[@revision]/path/to/file.gguf";

    public HubFile {
        checkSegment(owner, "owner");
        checkSegment(repo, "repository");
        checkSegment(revision, "revision");
        if (path == null || path.isEmpty()) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, "hub file path is empty: " + EXPECTED);
        }
        for (String segment : path.split("/", -1)) {
            checkSegment(segment, "file path segment");
        }
    }

    /**
     * Parses an {@code hf://} URI.
     *
     * @throws ModelLoadException naming the URI and the expected form when it is malformed
     */
    public static HubFile parse(String uri) {
        if (uri == null || !uri.startsWith("hf:")) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, "not an hf:// URI: '" + uri + "': " + EXPECTED);
        }
        if (!uri.startsWith(SCHEME)) {
            throw malformed(uri, "no // after hf:");
        }
        String rest = uri.substring(SCHEME.length());
        List<String> parts = List.of(rest.split("/", 3));
        if (parts.size() < 3 || parts.get(2).isEmpty()) {
            throw malformed(uri, parts.size() < 2 ? "no repository and no file" : "no file in the repository");
        }
        String owner = parts.get(0);
        String repo = parts.get(1);
        String revision = DEFAULT_REVISION;
        int at = repo.indexOf('@');
        if (at >= 0) {
            revision = repo.substring(at + 1);
            repo = repo.substring(0, at);
        }
        try {
            return new HubFile(owner, repo, revision, parts.get(2));
        } catch (ModelLoadException e) {
            throw malformed(uri, e.getMessage());
        }
    }

    /** {@code owner/repo}, the repository's id on the hub. */
    public String repoId() {
        return owner + "/" + repo;
    }

    /**
     * Where this file lives under a cache folder: {@code cacheDir/owner/repo/revision/path}.
     * The constructor's checks keep the result inside {@code cacheDir}.
     */
    public Path cachePath(Path cacheDir) {
        Path p = cacheDir.resolve(owner).resolve(repo).resolve(revision);
        for (String segment : path.split("/")) {
            p = p.resolve(segment);
        }
        return p;
    }

    /** The canonical URI, with the revision always spelled out. */
    @Override
    public String toString() {
        return SCHEME + owner + "/" + repo + "@" + revision + "/" + path;
    }

    private static ModelLoadException malformed(String uri, String problem) {
        return new ModelLoadException(Kind.BAD_REFERENCE,
                "malformed hub URI '" + uri + "': " + problem + "; " + EXPECTED);
    }

    private static void checkSegment(String segment, String what) {
        if (segment == null || segment.isEmpty()) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, "empty " + what);
        }
        if (segment.equals(".") || segment.equals("..")) {
            throw new ModelLoadException(Kind.BAD_REFERENCE, what + " may not be '" + segment + "'");
        }
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            // A backslash would be a separator on Windows; control characters never name a file.
            if (c == '\\' || c == '/' || Character.isISOControl(c)) {
                throw new ModelLoadException(Kind.BAD_REFERENCE,
                        what + " '" + segment + "' contains an invalid character");
            }
        }
    }
}
