package dev.gantry.images;

import java.nio.file.Path;

/**
 * What every image of one build shares.
 *
 * @param base "scratch", or a Jib image reference of a base with a JRE 25 at /opt/java/openjdk
 * @param repository where the images would be pushed, e.g. ghcr.io/gantry-dev
 * @param version the tag and the OCI version label (the Maven project version)
 * @param source the OCI source label: the project's repository URL
 * @param git the commit built
 * @param out where the tarballs and the build's scratch files go (images/target)
 */
public record BuildSettings(String base, String repository, String version, String source, GitInfo git, Path out) {

    public boolean scratch() {
        return base == null || base.isBlank() || base.equals("scratch");
    }
}
