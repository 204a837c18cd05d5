package dev.gantry.operator.api;

import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The LLMDeployment CRD as fabric8's CRD generator writes it from the classes, the same generator
 * (and version) that quarkus-operator-sdk runs at build time into target/kubernetes/.
 */
final class GeneratedCrd {
    static final String FILE_NAME = "llmdeployments.gantry.dev-v1.yml";

    private GeneratedCrd() {
    }

    static String yaml() {
        try {
            Path dir = Files.createTempDirectory("gantry-crd");
            new CRDGenerator()
                    .customResourceClasses(LLMDeployment.class)
                    .forCRDVersions("v1")
                    .inOutputDir(dir.toFile())
                    .generate();
            Path file = dir.resolve(FILE_NAME);
            String yaml = Files.readString(file);
            Files.delete(file);
            Files.delete(dir);
            return yaml;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static CustomResourceDefinition parsed() {
        return Serialization.unmarshal(yaml(), CustomResourceDefinition.class);
    }
}
