package dev.gantry.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The e2e node's metrics path as its users read it: Prometheus's HTTP API (through the ingress,
 * cluster/metrics.yaml), and the custom and resource metrics APIs through the kube-apiserver, as
 * the HPA controller reads them ({@code kubectl get --raw}).
 */
final class MetricsApis {
    static final String PROMETHEUS_HOST = "prometheus.gantry-e2e.local";

    private final Cluster cluster;

    MetricsApis(Cluster cluster) {
        this.cluster = cluster;
    }

    /** An instant query's result vector ({@code data.result}); fails on an error answer. */
    JsonNode query(String promql) {
        Http.Reply r = Http.get("http://" + cluster.ingress, PROMETHEUS_HOST,
                "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8), null);
        if (r.status() != 200) {
            throw new AssertionError("Prometheus answered " + r.status() + " to " + promql + ": " + r.body());
        }
        JsonNode body = Llmd.json(r.body());
        if (!"success".equals(body.path("status").asText())) {
            throw new AssertionError("Prometheus: " + body.path("error").asText() + " for " + promql);
        }
        return body.path("data").path("result");
    }

    /**
     * A Pods metric of the custom metrics API for the pods of one LLMDeployment: pod name to value.
     * Empty when the API answers with no items or does not know the metric (yet); fails when the API
     * itself is not served.
     */
    Map<String, Double> podsMetric(String namespace, String instance, String metric) {
        String path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + namespace + "/pods/*/" + metric
                + "?labelSelector=" + URLEncoder.encode("app.kubernetes.io/instance=" + instance, StandardCharsets.UTF_8);
        Map<String, Double> values = new LinkedHashMap<>();
        Shell.Result r = cluster.kubectlResult(null, "get", "--raw", path);
        if (!r.ok() && r.err().contains("NotFound")) {
            return values; // the adapter has not listed the series yet (it relists every 10 s)
        }
        for (JsonNode item : Llmd.json(r.orThrow()).path("items")) {
            values.put(item.path("describedObject").path("name").asText(), quantity(item.path("value").asText()));
        }
        return values;
    }

    /** CPU use in cores of each pod of one LLMDeployment, from the resource metrics API (metrics-server). */
    Map<String, Double> podsCpu(String namespace, String instance) {
        return podsUsage(namespace, instance, "cpu");
    }

    /** Memory (working set) in bytes of each pod of one LLMDeployment, from metrics-server. */
    Map<String, Double> podsMemoryBytes(String namespace, String instance) {
        return podsUsage(namespace, instance, "memory");
    }

    private Map<String, Double> podsUsage(String namespace, String instance, String resource) {
        String path = "/apis/metrics.k8s.io/v1beta1/namespaces/" + namespace + "/pods?labelSelector="
                + URLEncoder.encode("app.kubernetes.io/instance=" + instance, StandardCharsets.UTF_8);
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode item : Llmd.json(cluster.kubectl("get", "--raw", path)).path("items")) {
            double total = 0;
            for (JsonNode c : item.path("containers")) {
                total += quantity(c.path("usage").path(resource).asText());
            }
            values.put(item.path("metadata").path("name").asText(), total);
        }
        return values;
    }

    /** A Kubernetes quantity as a number: "12", "1500m", "250000n", "2Ki", "1.5". */
    static double quantity(String q) {
        String[][] suffixes = {{"n", "1e-9"}, {"u", "1e-6"}, {"m", "1e-3"}, {"k", "1e3"}, {"M", "1e6"}, {"G", "1e9"},
            {"Ki", "1024"}, {"Mi", "1048576"}, {"Gi", "1073741824"}};
        for (int i = suffixes.length - 1; i >= 0; i--) {
            if (q.endsWith(suffixes[i][0])) {
                String number = q.substring(0, q.length() - suffixes[i][0].length());
                return new BigDecimal(number).multiply(new BigDecimal(suffixes[i][1])).doubleValue();
            }
        }
        return new BigDecimal(q).doubleValue();
    }
}
