package dev.gantry.worker.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.cuda.GpuMonitor;
import dev.gantry.worker.backend.cuda.Nvml;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The GPU gauges come out under the DCGM exporter's names and labels, the ones the chart's
 * adapter rule and dashboard query, read once per scrape; a GPU that stops answering gives no
 * value, not a failed scrape. The monitor here is a table of readings (NVML needs a GPU).
 */
class GpuMetricsTest {

    /** Readings of two GPUs; the first's utilization rises by 10 on each read. */
    static final class Readings implements GpuMonitor {
        final AtomicInteger reads = new AtomicInteger();
        volatile boolean broken;

        @Override
        public int count() {
            return 2;
        }

        @Override
        public GpuSample sample(int index) {
            if (broken) {
                throw new IllegalStateException("GPU fell off the bus");
            }
            int n = reads.incrementAndGet();
            return new GpuSample("GPU-" + index, "NVIDIA H200", index == 0 ? 10 * n : 55, 3L << 30, 141L << 30, 350.5);
        }
    }

    @Test
    void gaugesCarryDcgmNamesAndLabels() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Readings gpus = new Readings();
        GpuMetrics.register(registry, gpus);
        String scrape = registry.scrape();
        assertThat(scrape).containsPattern("DCGM_FI_DEV_GPU_UTIL\\{UUID=\"GPU-1\",gpu=\"1\",modelName=\"NVIDIA H200\",} 55\\.0");
        assertThat(scrape).containsPattern("DCGM_FI_DEV_FB_USED\\{UUID=\"GPU-0\",gpu=\"0\",modelName=\"NVIDIA H200\",} 3072\\.0");
        assertThat(scrape).containsPattern("DCGM_FI_DEV_FB_FREE\\{UUID=\"GPU-0\",gpu=\"0\",modelName=\"NVIDIA H200\",} 141312\\.0");
        assertThat(scrape).containsPattern("DCGM_FI_DEV_POWER_USAGE\\{UUID=\"GPU-0\",gpu=\"0\",modelName=\"NVIDIA H200\",} 350\\.5");
        // Registration reads each GPU once; the scrape's four gauges of a GPU share one more read.
        assertThat(gpus.reads.get()).isEqualTo(4);

        gpus.broken = true;
        try {
            Thread.sleep(1100); // past the reuse window
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(registry.scrape()).contains("DCGM_FI_DEV_GPU_UTIL{UUID=\"GPU-0\",gpu=\"0\",modelName=\"NVIDIA H200\",} NaN");
    }

    @Test
    void withoutTheDriverThereIsNoNvml() {
        // This machine has no NVIDIA driver; on one that has, NVML must open and see a GPU.
        boolean driver = java.nio.file.Files.exists(java.nio.file.Path.of("/proc/driver/nvidia/version"));
        assertThat(Nvml.open().isPresent()).isEqualTo(driver);
    }
}
