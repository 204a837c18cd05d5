package dev.gantry.e2e;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an autoscaling scenario samples every two seconds while its {@link OpenLoad} runs: the
 * workers' Deployment (replicas the HPA set, replicas Ready), the HPA's desired count, and each
 * worker's queue read straight from its own /metrics (the truth the HPA sees through Prometheus
 * and the adapter, without their delay). Request rate and TTFT come from the load's own samples.
 */
final class ScalingTimeline implements AutoCloseable {
    /** One sample; {@code waiting} maps pod name to vllm:num_requests_waiting. */
    record Tick(double tMs, int specReplicas, int readyReplicas, int hpaDesired, Map<String, Double> waiting) {
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private final Cluster cluster;
    private final String namespace;
    private final String name;
    private final OpenLoad load;
    private final List<Tick> ticks = new ArrayList<>();
    private final Thread sampler;
    private volatile boolean stopped;

    ScalingTimeline(Cluster cluster, String namespace, String name, OpenLoad load) {
        this.cluster = cluster;
        this.namespace = namespace;
        this.name = name;
        this.load = load;
        this.sampler = Thread.ofPlatform().name("scaling-timeline").daemon().start(this::sample);
    }

    synchronized List<Tick> ticks() {
        return List.copyOf(ticks);
    }

    synchronized Tick last() {
        return ticks.isEmpty() ? null : ticks.getLast();
    }

    private void sample() {
        while (!stopped) {
            try {
                Tick tick = tick();
                synchronized (this) {
                    ticks.add(tick);
                }
            } catch (RuntimeException e) {
                System.out.println("e2e: timeline sample failed: " + e);
            }
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private Tick tick() {
        double t = load.nowMs();
        Deployment d = cluster.client().apps().deployments().inNamespace(namespace).withName(name).get();
        HorizontalPodAutoscaler hpa = cluster.client().autoscaling().v2().horizontalPodAutoscalers()
                .inNamespace(namespace).withName(name).get();
        Map<String, Double> waiting = new TreeMap<>();
        for (Pod pod : cluster.client().pods().inNamespace(namespace).withLabel("app.kubernetes.io/instance", name).list()
                .getItems()) {
            String ip = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
            if (ip == null || ip.isEmpty() || pod.getMetadata().getDeletionTimestamp() != null) {
                continue;
            }
            Double w = waitingOf(ip);
            if (w != null) {
                waiting.put(pod.getMetadata().getName(), w);
            }
        }
        return new Tick(t, d == null || d.getSpec().getReplicas() == null ? 0 : d.getSpec().getReplicas(),
                d == null || d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas(),
                hpa == null || hpa.getStatus() == null || hpa.getStatus().getDesiredReplicas() == null ? 0
                        : hpa.getStatus().getDesiredReplicas(),
                waiting);
    }

    /** A worker's queue from its /metrics; null while it does not answer (starting, stopping). */
    private static Double waitingOf(String podIp) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + podIp + ":8000/metrics"))
                    .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            return Http.counter(r.body(), "vllm:num_requests_waiting");
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Requests sent per second over the {@code windowMs} before {@code tMs}. */
    static double arrivalRate(List<OpenLoad.Sample> samples, double tMs, double windowMs) {
        return samples.stream().filter(s -> s.sentMs() > tMs - windowMs && s.sentMs() <= tMs).count() / (windowMs / 1000);
    }

    /** TTFT P95 (ms) of the requests whose first token arrived in the {@code windowMs} before {@code tMs}; NaN if none. */
    static double ttftP95(List<OpenLoad.Sample> samples, double tMs, double windowMs) {
        double[] ttfts = samples.stream().filter(s -> s.ttftMs() >= 0)
                .filter(s -> s.firstTokenAtMs() > tMs - windowMs && s.firstTokenAtMs() <= tMs)
                .mapToDouble(OpenLoad.Sample::ttftMs).sorted().toArray();
        return percentile(ttfts, 0.95);
    }

    /** Linear interpolation between closest ranks, as numpy's default (and the bench's). */
    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double rank = q * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /** The per-pod queue series of the ticks, pod name to values (NaN where the pod did not answer). */
    static Map<String, double[]> waitingSeries(List<Tick> ticks) {
        Map<String, double[]> series = new LinkedHashMap<>();
        for (int i = 0; i < ticks.size(); i++) {
            for (var e : ticks.get(i).waiting().entrySet()) {
                double[] values = series.computeIfAbsent(e.getKey(), k -> {
                    double[] v = new double[ticks.size()];
                    Arrays.fill(v, Double.NaN);
                    return v;
                });
                values[i] = e.getValue();
            }
        }
        return series;
    }

    @Override
    public void close() {
        stopped = true;
        sampler.interrupt();
    }
}
