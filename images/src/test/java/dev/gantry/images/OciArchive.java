package dev.gantry.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An OCI image archive (oci-layout, index.json, blobs/sha256/...) as the tests read it: the
 * manifest, the config, and each layer's entries, read straight from the tarball as a container
 * runtime would, not from what the builder meant to write.
 */
record OciArchive(JsonNode manifest, JsonNode config, List<Layer> layers) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tar entry of a layer: path without the leading slash, mode bits, owner, kind, size, time. */
    record Entry(String path, int mode, long uid, long gid, boolean directory, boolean symlink, long size,
            long mtimeSeconds) {
        boolean executableByAll() {
            return (mode & 0111) == 0111;
        }

        boolean writableByGroupOrOthers() {
            return (mode & 0022) != 0;
        }
    }

    record Layer(String digest, Map<String, Entry> entries) {
    }

    static OciArchive read(Path tarball) throws IOException {
        Map<String, byte[]> files = new HashMap<>();
        try (var in = new TarArchiveInputStream(Files.newInputStream(tarball))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                if (e.isFile()) {
                    files.put(e.getName(), in.readAllBytes());
                }
            }
        }
        JsonNode index = JSON.readTree(required(files, "index.json"));
        JsonNode manifest = JSON.readTree(blob(files, index.path("manifests").get(0).path("digest").asText()));
        JsonNode config = JSON.readTree(blob(files, manifest.path("config").path("digest").asText()));
        List<Layer> layers = new ArrayList<>();
        for (JsonNode layer : manifest.path("layers")) {
            String digest = layer.path("digest").asText();
            layers.add(new Layer(digest, entries(blob(files, digest))));
        }
        return new OciArchive(manifest, config, layers);
    }

    /** Every path of the image's file system, the upper layers over the lower. */
    Map<String, Entry> fileSystem() {
        Map<String, Entry> all = new LinkedHashMap<>();
        layers.forEach(l -> all.putAll(l.entries()));
        return all;
    }

    private static Map<String, Entry> entries(byte[] gzippedTar) throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (InputStream gz = new GZIPInputStream(new ByteArrayInputStream(gzippedTar));
                var tar = new TarArchiveInputStream(gz)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String path = e.getName().replaceFirst("^\\./", "").replaceFirst("^/", "").replaceFirst("/$", "");
                entries.put(path, new Entry(path, e.getMode(), e.getLongUserId(), e.getLongGroupId(), e.isDirectory(),
                        e.isSymbolicLink(), e.getSize(), e.getModTime().getTime() / 1000));
            }
        }
        return entries;
    }

    private static byte[] blob(Map<String, byte[]> files, String digest) throws IOException {
        return required(files, "blobs/" + digest.replace(':', '/'));
    }

    private static byte[] required(Map<String, byte[]> files, String name) throws IOException {
        byte[] bytes = files.get(name);
        if (bytes == null) {
            throw new IOException("no " + name + " in the archive; it has " + files.keySet());
        }
        return bytes;
    }
}
