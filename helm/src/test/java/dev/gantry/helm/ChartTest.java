package dev.gantry.helm;

import static dev.gantry.helm.ChartRendering.ALL_ON;
import static dev.gantry.helm.ChartRendering.DEFAULTS;
import static dev.gantry.helm.ChartRendering.find;
import static dev.gantry.helm.ChartRendering.objects;
import static dev.gantry.helm.ChartRendering.ofKind;
import static dev.gantry.helm.ChartRendering.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The chart: lint, what it renders with default values and with every option on, and the values it refuses. */
class ChartTest {
    private static final ObjectMapper YAML = new YAMLMapper();

    @Test
    void lintsCleanWithDefaultsAndWithEverythingOn() {
        for (Map<String, Object> values : List.of(DEFAULTS, ALL_ON)) {
            LintResult lint = ChartRendering.lint(values);
            assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
        }
    }

    @Test
    void defaultsInstallTheOperatorAndNothingOptional() {
        List<JsonNode> objects = objects(render(DEFAULTS));
        // The CRD is not among them: Helm installs crds/ apart from the templates (and never upgrades it).
        assertThat(objects).extracting(o -> o.path("kind").asText()).containsExactlyInAnyOrder(
                "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment");
        JsonNode container = operatorContainer(objects);
        assertThat(container.path("image").asText()).isEqualTo("ghcr.io/gantry-dev/gantry-operator:" + projectVersion());
        assertThat(env(container)).containsEntry("GANTRY_OPERATOR_WORKER_IMAGE", "ghcr.io/gantry-dev/gantry-worker:" + projectVersion())
                .containsEntry("GANTRY_OPERATOR_LEADER_ELECTION_ENABLED", "false")
                .containsEntry("QUARKUS_OPERATOR_SDK_CONTROLLERS_LLMDEPLOYMENT_NAMESPACES", "JOSDK_ALL_NAMESPACES")
                .containsEntry("GANTRY_OPERATOR_RUN_AS_USER", "185");
        assertThat(ofKind(objects, "Role")).isEmpty();
        // No hub set: the workers keep their own default (https://huggingface.co).
        assertThat(env(container)).doesNotContainKey("GANTRY_OPERATOR_HF_ENDPOINT");
    }

    @Test
    void operatorPodMeetsTheRestrictedPodSecurityStandard() {
        JsonNode deployment = find(objects(render(DEFAULTS)), "Deployment", "gantry-operator").orElseThrow();
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("securityContext").path("runAsUser").asInt()).isEqualTo(185);
        assertThat(pod.path("securityContext").path("seccompProfile").path("type").asText()).isEqualTo("RuntimeDefault");
        JsonNode security = operatorContainer(List.of(deployment)).path("securityContext");
        assertThat(security.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
        assertThat(security.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(security.path("capabilities").path("drop").toString()).isEqualTo("[\"ALL\"]");
        // A writable /tmp for the JVM on the read-only root.
        assertThat(operatorContainer(List.of(deployment)).path("volumeMounts").toString()).contains("\"/tmp\"");
    }

    @Test
    void probesUseTheOperatorsHealthEndpoints() {
        JsonNode container = operatorContainer(objects(render(DEFAULTS)));
        assertThat(container.path("startupProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/started");
        assertThat(container.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/ready");
        assertThat(container.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/live");
        assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(8080);
        assertThat(container.path("resources").path("limits").path("memory").asText()).isNotEmpty();
    }

    @ParameterizedTest
    @CsvSource({"1,false,false", "1,true,true", "2,false,true", "3,false,true"})
    void leaderElectionWithMoreThanOneReplicaOrWhenAsked(int replicas, boolean asked, boolean expected) {
        List<JsonNode> objects = objects(render(Map.of("replicaCount", replicas, "leaderElection.enabled", asked)));
        assertThat(env(operatorContainer(objects))).containsEntry("GANTRY_OPERATOR_LEADER_ELECTION_ENABLED", String.valueOf(expected));
        assertThat(find(objects, "Role", "gantry-operator-leader-election").isPresent()).isEqualTo(expected);
        assertThat(ofKind(objects, "Role")).hasSize(expected ? 1 : 0);
        assertThat(ofKind(objects, "RoleBinding")).hasSize(expected ? 1 : 0);
        if (expected) {
            JsonNode rules = ofKind(objects, "Role").getFirst().path("rules");
            assertThat(rules.toString()).isEqualTo(
                    "[{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[\"get\",\"create\",\"update\",\"patch\"]}]");
        }
    }

    @Test
    void everyOptionalPartRenders() {
        List<JsonNode> objects = objects(render(ALL_ON));
        assertThat(ofKind(objects, "ServiceMonitor")).extracting(o -> o.path("metadata").path("name").asText())
                .containsExactlyInAnyOrder("gantry-operator", "gantry-workers");
        JsonNode operatorMonitor = find(objects, "ServiceMonitor", "gantry-operator").orElseThrow();
        assertThat(operatorMonitor.path("metadata").path("labels").path("release").asText()).isEqualTo("kube-prometheus-stack");
        assertThat(operatorMonitor.path("spec").path("endpoints").get(0).path("path").asText()).isEqualTo("/q/metrics");
        JsonNode workers = find(objects, "ServiceMonitor", "gantry-workers").orElseThrow();
        assertThat(workers.path("spec").path("namespaceSelector").path("any").asBoolean()).isTrue();
        assertThat(workers.path("spec").path("selector").path("matchLabels").path("app.kubernetes.io/name").asText())
                .isEqualTo("gantry-worker");
        assertThat(env(operatorContainer(objects)))
                .containsEntry("QUARKUS_OPERATOR_SDK_CONTROLLERS_LLMDEPLOYMENT_NAMESPACES", "llm,llm-staging")
                .containsEntry("GANTRY_OPERATOR_MODEL_CACHE_SIZE_LIMIT", "50Gi")
                .containsEntry("GANTRY_OPERATOR_HF_ENDPOINT", "http://hub.models.svc:8080");
        assertThat(find(objects, "ConfigMap", "gantry-prometheus-adapter-rules")).isPresent();
        JsonNode dashboard = find(objects, "ConfigMap", "gantry-grafana-dashboard").orElseThrow();
        assertThat(dashboard.path("metadata").path("labels").path("grafana_dashboard").asText()).isEqualTo("1");
    }

    @Test
    void adapterRulesServeTheMetricsTheHpasUse() throws IOException {
        JsonNode configMap = find(objects(render(ALL_ON)), "ConfigMap", "gantry-prometheus-adapter-rules").orElseThrow();
        JsonNode rules = YAML.readTree(configMap.path("data").path("config.yaml").asText()).path("rules");
        // The operator's defaults (OperatorConfig.Autoscaling): the names the HPAs ask the adapter for.
        assertThat(rules.findValuesAsText("as")).containsExactly("vllm:num_requests_waiting", "gantry:requests_per_second",
                "DCGM_FI_DEV_GPU_UTIL");
        for (JsonNode rule : rules) {
            assertThat(rule.path("resources").path("overrides").path("pod").path("resource").asText()).isEqualTo("pod");
            assertThat(rule.path("metricsQuery").asText()).contains("<<.Series>>").contains("by (<<.GroupBy>>)");
        }
        // The values file for the prometheus-community chart holds the same rules.
        JsonNode values = YAML.readTree(ChartRendering.CHART.resolve("files/prometheus-adapter-values.yaml").toFile());
        assertThat(values.path("rules").path("custom")).isEqualTo(rules);
    }

    @Test
    void dashboardShowsLatencyPercentilesThroughputQueueCacheAndReplicas() throws IOException {
        JsonNode configMap = find(objects(render(ALL_ON)), "ConfigMap", "gantry-grafana-dashboard").orElseThrow();
        JsonNode dashboard = new ObjectMapper().readTree(configMap.path("data").path("gantry.json").asText());
        List<String> exprs = new ArrayList<>();
        dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        assertThat(exprs).anyMatch(e -> e.startsWith("histogram_quantile(0.99") && e.contains("vllm:time_to_first_token_seconds_bucket"));
        assertThat(exprs).anyMatch(e -> e.startsWith("histogram_quantile(0.5") && e.contains("vllm:inter_token_latency_seconds_bucket"));
        assertThat(exprs).anyMatch(e -> e.contains("rate(vllm:generation_tokens_total"));
        assertThat(exprs).anyMatch(e -> e.contains("vllm:num_requests_waiting"));
        assertThat(exprs).anyMatch(e -> e.contains("vllm:kv_cache_usage_perc"));
        assertThat(exprs).anyMatch(e -> e.contains("vllm:prefix_cache_hits_total") && e.contains("vllm:prefix_cache_queries_total"));
        assertThat(exprs).anyMatch(e -> e.contains("kube_deployment_status_replicas_available"));
        // Panel ids are unique (Grafana keys its state by them).
        List<Integer> ids = new ArrayList<>();
        dashboard.path("panels").forEach(p -> ids.add(p.path("id").asInt()));
        assertThat(ids).doesNotHaveDuplicates();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "replicaCount|0",
            "replicaCount|two",
            "image.pullPolicy|Sometimes",
            "operator.defaultTargetQueueDepth|-1",
            "operator.drainTimeout|thirty seconds",
            "operator.modelCacheSizeLimit|lots",
            "operator.hfEndpoint|hub.models.svc:8080",
            "operator.hfEndpoint|ftp://hub.models.svc",
            "watchNamespaces|llm",
            "resource.limits.memory|1Gi",
            "metrics.serviceMonitor.operator.enabled|yes please"})
    void schemaRefusesBadValues(String key, String value) {
        Object typed = value.matches("-?\\d+") ? (Object) Integer.parseInt(value) : value;
        Map<String, Object> values = new HashMap<>(Map.of(key, typed));
        assertThatThrownBy(() -> render(values)).hasMessageContaining("values don't meet the specifications of the schema");
        assertThat(ChartRendering.lint(values).isFailed()).as("helm lint with " + key + "=" + value).isTrue();
    }

    @Test
    void chartVersionsMatchTheProject() throws IOException {
        JsonNode chart = YAML.readTree(ChartRendering.CHART.resolve("Chart.yaml").toFile());
        // The images are tagged with the project version, the chart's default tag.
        assertThat(chart.path("appVersion").asText()).isEqualTo(projectVersion());
        assertThat(Files.readString(ChartRendering.CHART.resolve("values.yaml"))).contains("repository: ghcr.io/gantry-dev/gantry-operator");
    }

    static JsonNode operatorContainer(List<JsonNode> objects) {
        JsonNode deployment = find(objects, "Deployment", "gantry-operator").orElseThrow();
        return deployment.path("spec").path("template").path("spec").path("containers").get(0);
    }

    static Map<String, String> env(JsonNode container) {
        Map<String, String> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText(null)));
        return env;
    }

    static String projectVersion() {
        return System.getProperty("gantry.project.version", "0.1.0-SNAPSHOT");
    }
}
