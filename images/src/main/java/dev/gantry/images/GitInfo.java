package dev.gantry.images;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * The commit the images are built from: its id is the OCI revision label, its time the images'
 * creation time (so that rebuilding one commit gives the same image, not one dated now).
 *
 * @param revision the commit id, with "-dirty" when the work tree has uncommitted changes; "unknown" outside git
 * @param commitTime the committer time; the epoch outside git
 */
public record GitInfo(String revision, Instant commitTime) {

    public static GitInfo of(Path repoRoot) {
        try {
            String id = Processes.run(List.of("git", "rev-parse", "HEAD"), repoRoot, "git rev-parse").strip();
            String time = Processes.run(List.of("git", "log", "-1", "--format=%cI"), repoRoot, "git log").strip();
            String status = Processes.run(List.of("git", "status", "--porcelain", "--untracked-files=no"), repoRoot,
                    "git status").strip();
            return new GitInfo(status.isEmpty() ? id : id + "-dirty", java.time.OffsetDateTime.parse(time).toInstant());
        } catch (Exception e) {
            // A source tarball without .git still builds; the label then says so.
            System.err.println("gantry-images: no git revision (" + e.getMessage().lines().findFirst().orElse("") + ")");
            return new GitInfo("unknown", Instant.EPOCH);
        }
    }
}
