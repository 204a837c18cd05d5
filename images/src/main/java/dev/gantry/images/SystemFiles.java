package dev.gantry.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collection;

/**
 * The bottom layer of a scratch-based image, staged as a folder: what an empty base lacks for a
 * JVM to start and run as a non-root user.
 */
public final class SystemFiles {

    private SystemFiles() {
    }

    /**
     * Stages the layer in {@code dir}: /etc/passwd and /etc/group with the application user (its
     * home is /tmp, the one place that is writable when the root file system is read-only, so the
     * JVM's user.home and the worker's default cache ~/.cache/gantry work there), /etc/nsswitch.conf
     * (host names from /etc/hosts, then DNS), a world-writable /tmp for runtimes that mount none,
     * and the C libraries at the paths the loader looks them up.
     */
    public static Path stage(Path dir, Collection<Path> libraries) throws IOException {
        JavaRuntime.deleteRecursively(dir);
        Path etc = Files.createDirectories(dir.resolve("etc"));
        int uid = ImageSpec.UID;
        Files.writeString(etc.resolve("passwd"), "root:x:0:0:root:/root:/sbin/nologin\n"
                + "gantry:x:" + uid + ":" + uid + ":Gantry:/tmp:/sbin/nologin\n"
                + "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n");
        Files.writeString(etc.resolve("group"), "root:x:0:\ngantry:x:" + uid + ":\nnogroup:x:65534:\n");
        Files.writeString(etc.resolve("nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        for (Path library : libraries) {
            Path target = dir.resolve(library.toString().substring(1));
            Files.createDirectories(target.getParent());
            // The file the link points to, under the name the loader asks for (no links in the layer).
            Files.copy(library.toRealPath(), target, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        // The JVM's binaries name the dynamic loader (ld-linux-*.so.*) as their interpreter: without it nothing starts.
        if (libraries.stream().noneMatch(l -> l.getFileName().toString().startsWith("ld-linux"))) {
            throw new IOException("no dynamic loader (ld-linux-*) among " + libraries);
        }
        return dir;
    }
}
