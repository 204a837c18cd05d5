package dev.gantry.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The repository's manifests as JSON trees, to apply as they are or with the few changes a 2-core
 * node with no registry and no internet needs (each caller says which and why).
 */
final class Manifests {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();

    private Manifests() {
    }

    /** Every document of a multi-document YAML file in the repository. */
    static List<ObjectNode> load(String relativePath) {
        Path file = Cluster.REPO.resolve(relativePath);
        try (var parser = new YAMLFactory().createParser(Files.readString(file))) {
            List<ObjectNode> docs = new ArrayList<>();
            for (var it = YAML.readValues(parser, ObjectNode.class); it.hasNext(); ) {
                ObjectNode doc = it.next();
                if (doc != null && doc.size() > 0) {
                    docs.add(doc);
                }
            }
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode ofKind(List<ObjectNode> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no " + kind + " among " + docs.size() + " documents"));
    }

    /** {@code kubectl apply -n NS -f -} of the documents, as one List object. */
    static Shell.Result apply(Cluster cluster, String namespace, List<? extends JsonNode> docs) {
        ObjectNode list = JSON.createObjectNode().put("apiVersion", "v1").put("kind", "List");
        ArrayNode items = list.putArray("items");
        docs.forEach(items::add);
        return cluster.kubectlResult(list.toString(), "apply", "-n", namespace, "-f", "-");
    }

    /**
     * Fits a worker spec to the e2e node: CPU requests a 2-core node can grant to two workers at
     * once and a third during a rolling update's surge. The model URI stays as the example has it
     * (the in-cluster hub serves that file); a check here keeps the two in step.
     */
    static void fitWorkerToNode(ObjectNode llmd) {
        ObjectNode spec = (ObjectNode) llmd.get("spec");
        if (!HubModels.SMOLLM2_URI.equals(spec.at("/model/uri").asText())) {
            throw new IllegalStateException("the example's model is " + spec.at("/model/uri").asText()
                    + "; the e2e hub serves " + HubModels.SMOLLM2_URI);
        }
        ObjectNode resources = spec.putObject("resources");
        resources.putObject("requests").put("cpu", "100m").put("memory", "1Gi");
        resources.putObject("limits").put("memory", "2Gi");
    }

    /**
     * The SmolLM2 example under another name, fitted to the node, each worker held to one CPU (so
     * that two workers add capacity on the node's two cores), behind the ingress under {@code host}.
     */
    static ObjectNode smolLm2OneCpu(String name, String host) {
        ObjectNode llmd = ofKind(load("manifests/examples/llmdeployment-smollm2.yaml"), "LLMDeployment");
        ((ObjectNode) llmd.get("metadata")).put("name", name);
        fitWorkerToNode(llmd);
        ObjectNode spec = (ObjectNode) llmd.get("spec");
        spec.withObject("resources").withObject("limits").put("cpu", "1");
        spec.putObject("ingress").put("host", host);
        return llmd;
    }

    /** A YAML-looking JSON tree from a string, for small literal objects in tests. */
    static ObjectNode parse(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
