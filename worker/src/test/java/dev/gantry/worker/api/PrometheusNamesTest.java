package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * vLLM's metric names have a colon ({@code vllm:num_requests_running}); dashboards and the
 * autoscaler look them up by that name, so the registry Quarkus uses must keep it.
 */
class PrometheusNamesTest {

    @Test
    void colonsSurviveMicrometersNamingConvention() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Gauge.builder("vllm:num_requests_running", () -> 3).tag("model_name", "m").register(registry);
        Counter.builder(ErrorResponder.REJECTED_METRIC).tag("reason", "queue_full").tag("model_name", "m")
                .register(registry).increment();
        String scrape = registry.scrape();
        assertThat(scrape).contains("vllm:num_requests_running{model_name=\"m\",} 3.0");
        assertThat(scrape).contains("gantry:requests_rejected_total{model_name=\"m\",reason=\"queue_full\",} 1.0");
    }
}
