package dev.gantry.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Backends;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.source.ModelLocator;
import dev.gantry.worker.perf.ArithmeticPeak;
import dev.gantry.worker.perf.MemoryBandwidth;
import dev.gantry.worker.perf.ModelBenchmark;
import dev.gantry.worker.perf.PeakMemory;
import dev.gantry.worker.perf.ProfilingBackend;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gantry bench-model}: the model's own speed on this machine, without a server. */
@Command(
        name = "bench-model",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measure a model's forward pass: prefill tokens/s of one prompt, decode tokens/s of B sequences",
            "decoding together, peak memory, and the share of this machine's memory read bandwidth that",
            "decode at batch 1 reaches. Defined as llama.cpp's llama-bench (pp) and llama-batched-bench",
            "(S_TG, shared prompt) define theirs; scripts/bench-vs-llamacpp.sh runs both side by side."
        })
final class BenchModelCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH|URI", description = "GGUF file, or hf://owner/repo/file.gguf.")
    String model;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--batch", split = ",", defaultValue = "1,4,16", paramLabel = "B",
            description = "Decode batch sizes: sequences decoding together (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt tokens (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "128", description = "Tokens each sequence decodes (default: ${DEFAULT-VALUE}).")
    int genTokens;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "1", description = "Timed runs of each measurement, averaged (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--activations", defaultValue = "auto", converter = GenerateCommand.ActivationsConverter.class,
            description = "Activations of quantized matrix products: f32, q8 (8-bit, as llama.cpp's CPU backend) or auto"
                    + " (q8 for every quantized type but Q4_1: the native kernels; f32 for Q4_1 and float weights; default: ${DEFAULT-VALUE}).")
    ActivationPrecision activations;

    @Option(names = "--kv-cache-dtype", defaultValue = "auto", converter = GenerateCommand.KvCacheDtypeConverter.class,
            description = "How the KV cache stores K and V: f32, f16 or q8_0; auto = f32 (default: ${DEFAULT-VALUE}).")
    dev.gantry.worker.backend.KvCacheDtype kvCacheDtype;

    @Option(names = "--bandwidth-mb", defaultValue = "1024",
            description = "Size of the array the bandwidth test reads, MiB; 0 skips the test (default: ${DEFAULT-VALUE}).")
    int bandwidthMb;

    @Option(names = "--flops-test", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure this machine's float multiply-add peak with these threads (about 3 s) and report the "
                    + "share of it that prefill and each decode batch reach (default: on; --no-flops-test skips it).")
    boolean flopsTest;

    @Option(names = "--profile", description = "Time every op of prefill and of decode at each batch size, and report where the time goes (ms per token).")
    boolean profile;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(names = "--enforce-eager",
            description = "On a GPU, launch every kernel by itself instead of replaying repeated decode steps as CUDA graphs.")
    boolean enforceEager;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu, cuda (NVIDIA GPU 0) or auto (default: ${DEFAULT-VALUE}). The bandwidth and flops tests measure the CPU;"
                    + " turn them off on a GPU (--bandwidth-mb 0 --no-flops-test).")
    String device;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        if (batches.isEmpty() || batches.stream().anyMatch(b -> b < 1) || reps < 1) {
            throw new IllegalArgumentException("--batch sizes and --repetitions must be positive");
        }
        Path path = ModelLocator.fromEnvironment().resolve(model);
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        Map<String, Object> o = new LinkedHashMap<>();
        Map<String, Object> profiles = new LinkedHashMap<>();
        long bytesPerToken;
        long macsPerToken;
        double prefillMacsPerToken;
        try (Model m = Model.load(path); Backend cpu = Backends.open(device, !enforceEager, "cpu", n, activations, err::println)) {
            ProfilingBackend prof = profile ? new ProfilingBackend(cpu) : null;
            Backend be = profile ? prof : cpu;
            be.prepare(m.weights().all());
            bytesPerToken = ModelBenchmark.weightBytesPerToken(m);
            macsPerToken = ModelBenchmark.multiplyAddsPerToken(m);
            long output = ModelBenchmark.outputMultiplyAdds(m);
            prefillMacsPerToken = macsPerToken - output + (double) output / promptTokens;
            GenerateCommand.checkKvCacheDtype(kvCacheDtype, be, m.config().headDim());
            err.printf("bench-model: %s (%s), %d threads, activations %s, KV cache %s%n", path.getFileName(), m.config(), n,
                    activations, kvCacheDtype.label());
            if (be instanceof dev.gantry.worker.backend.cpu.VectorBackend v) {
                err.println("bench-model: " + v.describe());
                o.put("cpu_kernels", v.describe());
            }
            o.put("model", m.name());
            o.put("threads", n);
            o.put("activations", activations.name().toLowerCase(java.util.Locale.ROOT));
            o.put("kv_cache_dtype", kvCacheDtype.label());
            o.put("prompt_tokens", promptTokens);
            o.put("gen_tokens", genTokens);
            int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
            try (ModelBenchmark bench = new ModelBenchmark(m, be, promptTokens, genTokens, maxBatch, kvCacheDtype)) {
                if (profile) {
                    bench.onClockStart(prof::reset); // profiles count the timed runs only
                }
                double pp = bench.prefill(reps);
                if (profile) {
                    profiles.put("prefill", perToken(prof.millis(), (long) promptTokens * reps));
                }
                o.put("prefill_tps", round(pp));
                err.printf("bench-model: prefill %d tokens: %.2f tokens/s%n", promptTokens, pp);
                Map<String, Double> decode = new LinkedHashMap<>();
                for (int b : batches) {
                    double tps = bench.decode(b, reps);
                    if (profile) {
                        profiles.put("decode_" + b, perToken(prof.millis(), (long) genTokens * b * reps));
                    }
                    decode.put(String.valueOf(b), round(tps));
                    err.printf("bench-model: decode batch %d: %.2f tokens/s%n", b, tps);
                }
                o.put("decode_tps", decode);
            }
        }
        // Peak memory before the bandwidth test, whose off-heap array would count in RSS.
        o.put("peak_rss_mb", round(PeakMemory.peakRssMb()));
        o.put("peak_heap_mb", round(PeakMemory.peakHeapMb()));
        o.put("weight_bytes_per_token", bytesPerToken);
        if (bandwidthMb > 0) {
            double gbps = MemoryBandwidth.measure(n, (long) bandwidthMb << 20, 8);
            o.put("memory_bandwidth_gbps", round(gbps));
            @SuppressWarnings("unchecked")
            Double d1 = ((Map<String, Double>) o.get("decode_tps")).get("1");
            if (d1 != null) {
                o.put("decode_1_bandwidth_share", Math.round(bytesPerToken * d1 / 1e9 / gbps * 1000) / 1000.0);
            }
        }
        if (flopsTest) {
            double peak = ArithmeticPeak.measure(n, 1000, 3);
            o.put("arithmetic_peak_gflops", round(peak));
            o.put("multiply_adds_per_token", macsPerToken);
            @SuppressWarnings("unchecked")
            Map<String, Double> decodeTps = (Map<String, Double>) o.get("decode_tps");
            Map<String, Double> shares = new LinkedHashMap<>();
            decodeTps.forEach((b, tps) -> shares.put(b, share(2.0 * macsPerToken * tps, peak)));
            o.put("decode_arithmetic_share", shares);
            double pp = (Double) o.get("prefill_tps");
            o.put("prefill_arithmetic_share", share(2.0 * prefillMacsPerToken * pp, peak));
        }
        if (profile) {
            o.put("profile_ms_per_token", profiles);
        }
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            o.forEach((k, v) -> System.out.printf("%-26s %s%n", k, v));
        }
        return 0;
    }

    /** FLOP/s over the peak in GFLOP/s, to 3 decimals. */
    private static double share(double flopsPerSecond, double peakGflops) {
        return Math.round(flopsPerSecond / 1e9 / peakGflops * 1000) / 1000.0;
    }

    /** Op -> milliseconds per token, largest first. */
    private static Map<String, Double> perToken(Map<String, Double> millis, long tokens) {
        Map<String, Double> out = new LinkedHashMap<>();
        millis.forEach((op, ms) -> out.put(op, Math.round(ms / tokens * 10000) / 10000.0));
        return out;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
