package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The benchmarks run: JMH's generated harness compiles, each benchmark's setup builds its
 * weights and the measured call completes. One short iteration in this JVM, on small parameters;
 * no figure is checked (speed is measured by running the benchmarks, not by tests).
 */
class BenchmarksRunTest {
    @Test
    void everyBenchmarkRunsOnce() throws Exception {
        Options options = new OptionsBuilder()
                .include(MatmulBenchmark.class.getSimpleName())
                .include(DequantBenchmark.class.getSimpleName())
                .param("type", "Q4_0")
                .param("shape", "64x4096")
                .param("rows", "1", "5", "20")
                .param("layers", "2")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(50))
                .build();
        Collection<RunResult> results = new Runner(options).run();
        // MatmulBenchmark at 3 row counts, DequantBenchmark once
        assertThat(results).hasSize(4);
        assertThat(results).allSatisfy(r -> assertThat(r.getPrimaryResult().getScore()).isPositive());
    }
}
