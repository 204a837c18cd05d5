package dev.gantry.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Renders the chart helm/gantry with Helm (helm-java: Helm's own code, as a native library) and
 * reads the result as Kubernetes objects. Reusable by any test that needs the chart's objects,
 * e.g. one that sends each of them to a real API server as a server-side dry run:
 *
 * <pre>{@code
 * for (JsonNode object : ChartRendering.objects(ChartRendering.render(ChartRendering.ALL_ON))) { ... }
 * }</pre>
 */
public final class ChartRendering {
    public static final Path REPO = Path.of(System.getProperty("gantry.repo.root", "..")).toAbsolutePath().normalize();
    public static final Path CHART = REPO.resolve("helm/gantry");
    public static final String RELEASE = "gantry";
    public static final String NAMESPACE = "gantry-system";
    /** The Kubernetes version rendered for: the one the operator's tests run against (chart needs 1.30+). */
    public static final String KUBE_VERSION = "1.34.4";

    /** Default values: what `helm install` and manifests/install.yaml give. */
    public static final Map<String, Object> DEFAULTS = Map.of();

    /** Every optional part on, and more than one operator replica (leader election). */
    public static final Map<String, Object> ALL_ON = orderedMap(
            "replicaCount", 2,
            "metrics.serviceMonitor.operator.enabled", true,
            "metrics.serviceMonitor.operator.labels.release", "kube-prometheus-stack",
            "metrics.serviceMonitor.workers.enabled", true,
            "prometheusAdapter.rules.enabled", true,
            "grafana.dashboard.enabled", true,
            "watchNamespaces[0]", "llm",
            "watchNamespaces[1]", "llm-staging",
            "operator.modelCacheSizeLimit", "50Gi",
            "operator.hfEndpoint", "http://hub.models.svc:8080");

    private static final ObjectMapper YAML = new YAMLMapper();

    private ChartRendering() {
    }

    /** `helm template gantry helm/gantry -n gantry-system --kube-version ... --set ...` (CRDs included). */
    public static String render(Map<String, Object> values) {
        TemplateCommand template = new Helm(CHART).template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION);
        values.forEach(template::set);
        return template.call();
    }

    /** Renders with a values file, as `-f file` does. */
    public static String render(Path valuesFile) {
        return new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION)
                .withValuesFile(valuesFile).call();
    }

    /** `helm lint --strict` with the given values (written to a values file; lint takes no --set here). */
    public static LintResult lint(Map<String, Object> values) {
        try {
            Path file = Files.createTempFile("gantry-values", ".yaml");
            try {
                Files.writeString(file, YAML.writeValueAsString(nest(values)));
                // helm-java's lint reads values only from the chart; copy the chart with the file as its values.
                Path chart = copyChartWithValues(file);
                try {
                    return new Helm(chart).lint().strict().call();
                } finally {
                    deleteTree(chart);
                }
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The documents of a rendering, as objects; empty documents (disabled templates) dropped. */
    public static List<JsonNode> objects(String rendered) {
        List<JsonNode> objects = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(rendered)) {
            var iterator = YAML.readValues(parser, JsonNode.class);
            while (iterator.hasNext()) {
                JsonNode node = iterator.next();
                if (node != null && node.isObject() && node.has("kind")) {
                    objects.add(node);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return objects;
    }

    public static Optional<JsonNode> find(List<JsonNode> objects, String kind, String name) {
        return objects.stream()
                .filter(o -> o.path("kind").asText().equals(kind) && o.path("metadata").path("name").asText().equals(name))
                .findFirst();
    }

    public static List<JsonNode> ofKind(List<JsonNode> objects, String kind) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
    }

    /** {"a.b": 1, "c[0]": "x"} as nested values ({a: {b: 1}, c: [x]}), the way --set reads them. */
    static ObjectNode nest(Map<String, Object> values) {
        ObjectNode root = YAML.createObjectNode();
        values.forEach((key, value) -> {
            String[] parts = key.split("\\.");
            ObjectNode node = root;
            for (int i = 0; i < parts.length - 1; i++) {
                node = node.has(parts[i]) ? (ObjectNode) node.get(parts[i]) : node.putObject(parts[i]);
            }
            String last = parts[parts.length - 1];
            if (last.matches(".+\\[\\d+]")) {
                String name = last.substring(0, last.indexOf('['));
                var array = node.has(name) ? (com.fasterxml.jackson.databind.node.ArrayNode) node.get(name) : node.putArray(name);
                array.add(YAML.valueToTree(value));
            } else {
                node.set(last, YAML.valueToTree(value));
            }
        });
        return root;
    }

    private static Path copyChartWithValues(Path valuesOverride) throws IOException {
        Path copy = Files.createTempDirectory("gantry-chart").resolve("gantry");
        try (var files = Files.walk(CHART)) {
            for (Path source : files.toList()) {
                Path target = copy.resolve(CHART.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target);
                }
            }
        }
        // The chart's values merged with the override, as helm does with -f.
        JsonNode merged = merge(YAML.readTree(CHART.resolve("values.yaml").toFile()), YAML.readTree(valuesOverride.toFile()));
        Files.writeString(copy.resolve("values.yaml"), YAML.writeValueAsString(merged));
        return copy;
    }

    private static JsonNode merge(JsonNode base, JsonNode override) {
        if (base instanceof ObjectNode b && override != null && override.isObject()) {
            override.properties().forEach(e -> b.set(e.getKey(), merge(b.get(e.getKey()), e.getValue())));
            return b;
        }
        return override == null ? base : override;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir.getParent())) {
            for (Path p : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static Map<String, Object> orderedMap(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(map);
    }
}
