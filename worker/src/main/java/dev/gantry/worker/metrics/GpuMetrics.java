package dev.gantry.worker.metrics;

import dev.gantry.worker.backend.cuda.GpuMonitor;
import dev.gantry.worker.backend.cuda.GpuMonitor.GpuSample;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.function.ToDoubleFunction;

/**
 * The GPUs' state under the NVIDIA DCGM exporter's names, which the chart's adapter rule
 * ({@code targetGpuUtilization}) and dashboard read: {@code DCGM_FI_DEV_GPU_UTIL} (percent),
 * {@code DCGM_FI_DEV_FB_USED} and {@code DCGM_FI_DEV_FB_FREE} (MiB), {@code DCGM_FI_DEV_POWER_USAGE}
 * (W), labelled as DCGM labels them ({@code gpu}, {@code UUID}, {@code modelName}). Scraped from
 * the worker's own pod, Prometheus gives them the pod's labels, so a cluster needs no DCGM
 * exporter to autoscale on GPU utilization. Each scrape reads the GPU once (a sample is reused for
 * a second), whatever the number of gauges.
 */
public final class GpuMetrics {
    private static final double MIB = 1024.0 * 1024.0;
    private static final long REUSE_NANOS = 1_000_000_000L;

    private final GpuMonitor monitor;
    private final GpuSample[] last;
    private final long[] at;

    private GpuMetrics(GpuMonitor monitor) {
        this.monitor = monitor;
        this.last = new GpuSample[monitor.count()];
        this.at = new long[monitor.count()];
    }

    /** Registers the gauges of every GPU the monitor sees. */
    public static void register(MeterRegistry registry, GpuMonitor monitor) {
        GpuMetrics m = new GpuMetrics(monitor);
        for (int i = 0; i < monitor.count(); i++) {
            GpuSample first = monitor.sample(i);
            Tags tags = Tags.of("gpu", Integer.toString(i), "UUID", first.uuid(), "modelName", first.name());
            int index = i;
            m.gauge(registry, "DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %), read from NVML by the worker.", tags, index,
                    s -> s.utilizationPercent());
            m.gauge(registry, "DCGM_FI_DEV_FB_USED", "GPU memory used (in MiB).", tags, index,
                    s -> s.memoryUsedBytes() / MIB);
            m.gauge(registry, "DCGM_FI_DEV_FB_FREE", "GPU memory free (in MiB).", tags, index,
                    s -> (s.memoryTotalBytes() - s.memoryUsedBytes()) / MIB);
            m.gauge(registry, "DCGM_FI_DEV_POWER_USAGE", "GPU power draw (in W).", tags, index, GpuSample::powerWatts);
        }
    }

    private void gauge(MeterRegistry registry, String name, String help, Tags tags, int index,
            ToDoubleFunction<GpuSample> value) {
        Gauge.builder(name, this, m -> {
            try {
                return value.applyAsDouble(m.sample(index));
            } catch (RuntimeException e) { // the GPU stopped answering: no value rather than a failed scrape
                return Double.NaN;
            }
        }).description(help).tags(tags).register(registry);
    }

    private synchronized GpuSample sample(int index) {
        long now = System.nanoTime();
        if (last[index] == null || now - at[index] > REUSE_NANOS) {
            last[index] = monitor.sample(index);
            at[index] = now;
        }
        return last[index];
    }
}
