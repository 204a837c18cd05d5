package dev.gantry.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.model.synth.ModelShape;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gantry bench-model} and {@code gantry synth} as the launcher and the comparison script
 * run them: the JSON's shape (the script reads it), not speeds; figures come from runs on a quiet
 * machine, side by side with llama.cpp, never from assertions.
 */
class BenchModelCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonHasEveryFigureTheScriptReads() throws Exception {
        GenerateCommandTest.Run r = GenerateCommandTest.run("bench-model", "--model", TestModels.stories260K().toString(),
                "--threads", "2", "--batch", "1,3", "--prompt-tokens", "20", "--gen-tokens", "6", "--bandwidth-mb", "16",
                "--profile", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("model").asText()).isEqualTo("stories260K");
        assertThat(j.get("threads").asInt()).isEqualTo(2);
        assertThat(j.get("prefill_tps").asDouble()).isPositive();
        List<String> batches = new ArrayList<>();
        j.get("decode_tps").fieldNames().forEachRemaining(batches::add);
        assertThat(batches).containsExactly("1", "3");
        assertThat(j.get("decode_tps").get("3").asDouble()).isPositive();
        assertThat(j.get("peak_rss_mb").asDouble()).isPositive();
        assertThat(j.get("peak_heap_mb").asDouble()).isPositive();
        assertThat(j.get("memory_bandwidth_gbps").asDouble()).isPositive();
        assertThat(j.get("decode_1_bandwidth_share").asDouble()).isPositive();
        // stories260K is all F32: 5 layers of (64*64*2 + 32*64*2 + 172*64*3 + 2*64) floats, the tied 512x64 table and the final norm
        long floats = 5L * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 3 + 2 * 64) + 512 * 64 + 64;
        assertThat(j.get("weight_bytes_per_token").asLong()).isEqualTo(4 * floats);
        JsonNode decodeProfile = j.get("profile_ms_per_token").get("decode_1");
        // Gate and up share their input: one call, timed together (as Q, K and V are).
        assertThat(decodeProfile.has("matmul ffn_gate+ffn_up")).isTrue();
        assertThat(decodeProfile.has("attention")).isTrue();
        assertThat(j.get("profile_ms_per_token").get("prefill").has("matmul attn_q+attn_k+attn_v")).isTrue();
        assertThat(j.get("profile_ms_per_token").get("decode_3").has("matmul ffn_down")).isTrue();
        // Matrix products only: the norms are vectors, the tied table counts once as the output layer.
        long macs = 5L * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 3) + 512 * 64;
        assertThat(j.get("multiply_adds_per_token").asLong()).isEqualTo(macs);
        double peak = j.get("arithmetic_peak_gflops").asDouble();
        assertThat(peak).isPositive();
        // Shares are 2 FLOPs per multiply-add times tokens/s over the peak (to 3 decimals); prefill
        // runs the output layer for the last of its 20 prompt tokens only.
        double decode3 = 2.0 * macs * j.get("decode_tps").get("3").asDouble() / 1e9 / peak;
        assertThat(j.get("decode_arithmetic_share").get("3").asDouble()).isCloseTo(decode3, within(0.0006));
        double prefillMacs = macs - 512 * 64 + 512 * 64 / 20.0;
        double prefill = 2.0 * prefillMacs * j.get("prefill_tps").asDouble() / 1e9 / peak;
        assertThat(j.get("prefill_arithmetic_share").asDouble()).isCloseTo(prefill, within(0.0006));
    }

    @Test
    void synthWritesAFileBenchModelRuns() throws Exception {
        Path vocab = TestModels.llamaSpmVocab();
        Path out = dir.resolve("s.gguf");
        // smollm2's shape with Llama 2's 32000-token vocabulary padded to its 49152
        GenerateCommandTest.Run s = GenerateCommandTest.run("synth", "--shape", "smollm2-135m", "--type", "q8_0",
                "--vocab", vocab.toString(), "--out", out.toString(), "--seed", "5");
        assertThat(s.exit()).as(s.err()).isZero();
        assertThat(s.err()).contains("padded with 17152 unused tokens").contains("(100%)");
        long expected = ModelShape.named("smollm2-135m").parameters() - (30 * 2 + 1) * 576L; // minus the F32 norms
        assertThat(Files.size(out)).isGreaterThan(GgmlType.Q8_0.byteSize(expected));
        GenerateCommandTest.Run b = GenerateCommandTest.run("bench-model", "--model", out.toString(), "--threads", "2",
                "--batch", "2", "--prompt-tokens", "4", "--gen-tokens", "2", "--bandwidth-mb", "0", "--no-flops-test", "--json");
        assertThat(b.exit()).as(b.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(b.out());
        assertThat(j.get("decode_tps").get("2").asDouble()).isPositive();
        assertThat(j.has("memory_bandwidth_gbps")).isFalse();
        assertThat(j.has("arithmetic_peak_gflops")).isFalse();
    }

    @Test
    void synthRejectsUnknownShapesAndTypes() {
        GenerateCommandTest.Run r = GenerateCommandTest.run("synth", "--shape", "gpt-9", "--type", "q8_0", "--vocab", "x",
                "--out", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown shape 'gpt-9'");
        r = GenerateCommandTest.run("synth", "--shape", "smollm2-135m", "--type", "q2_k", "--vocab", "x", "--out",
                dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).containsIgnoringCase("q2_k");
    }
}
