package dev.gantry.e2e;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Figures the scenarios measured, collected in target/e2e/figures.json for the README and notes. */
final class Figures {
    private static final Path FILE = Cluster.OUT.resolve("figures.json");

    private Figures() {
    }

    static synchronized void record(String name, Object value) {
        try {
            Files.createDirectories(FILE.getParent());
            ObjectNode all = Files.exists(FILE) ? (ObjectNode) Manifests.JSON.readTree(FILE.toFile())
                    : Manifests.JSON.createObjectNode();
            all.set(name, Manifests.JSON.valueToTree(value));
            Files.writeString(FILE, all.toPrettyString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
