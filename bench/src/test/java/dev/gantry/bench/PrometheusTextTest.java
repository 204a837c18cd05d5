package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The /metrics parser, on a scrape of Gantry's worker (vLLM's names) and on the format's corner cases. */
class PrometheusTextTest {

    @Test
    void readsTheFiguresTheLoadGeneratorWantsFromARealScrape() throws IOException {
        PrometheusText t = PrometheusText.parse(resource("gantry-worker-metrics.txt"));
        assertThat(t.samples()).hasSizeGreaterThan(50);
        assertThat(t.sum(ServerMetrics.WAITING)).isPresent();
        assertThat(t.max("vllm:kv_cache_usage_perc")).isPresent();
        assertThat(t.sumOfFirst(ServerMetrics.PREFIX_QUERIES).getAsDouble())
                .isGreaterThanOrEqualTo(t.sumOfFirst(ServerMetrics.PREFIX_HITS).getAsDouble()).isPositive();
        assertThat(t.sum(ServerMetrics.PREEMPTIONS)).isPresent();
        // Histogram buckets end with le="+Inf", which holds the whole count.
        PrometheusText.Sample inf = t.samples().stream()
                .filter(s -> s.name().equals("vllm:time_to_first_token_seconds_bucket") && "+Inf".equals(s.labels().get("le")))
                .findFirst().orElseThrow();
        assertThat(inf.value()).isEqualTo(t.sum("vllm:time_to_first_token_seconds_count").getAsDouble());
    }

    @Test
    void labelsWithEscapesCommasAndBracesAndSpecialValues() {
        PrometheusText t = PrometheusText.parse("""
                # HELP odd A metric whose help has "quotes" and a { brace
                # TYPE odd gauge
                odd{path="C:\\\\dir\\\\",quote="say \\"hi\\"",nl="a\\nb",list="x,y}z"} 1.5e3 1712345678000
                inf_metric{le="+Inf"} +Inf
                neg -Inf
                nan NaN
                  spaced{a="1"}   7
                broken{a="1" 3
                no_value
                """);
        assertThat(t.samples()).hasSize(5);
        PrometheusText.Sample odd = t.samples().getFirst();
        assertThat(odd.labels()).containsExactly(Map.entry("path", "C:\\dir\\"), Map.entry("quote", "say \"hi\""),
                Map.entry("nl", "a\nb"), Map.entry("list", "x,y}z"));
        assertThat(odd.value()).isEqualTo(1500);
        assertThat(t.sum("inf_metric").getAsDouble()).isInfinite().isPositive();
        assertThat(t.sum("neg").getAsDouble()).isInfinite().isNegative();
        assertThat(t.sum("nan").getAsDouble()).isNaN();
        assertThat(t.sum("spaced").getAsDouble()).isEqualTo(7);
        assertThat(t.sum("broken")).isEmpty();
        assertThat(t.sum("absent")).isEmpty();
    }

    @Test
    void gaugesOfSeveralLabelSetsAreSummedOrMaximised() {
        PrometheusText t = PrometheusText.parse("""
                vllm:num_requests_waiting{engine="0"} 2
                vllm:num_requests_waiting{engine="1"} 5
                vllm:gpu_cache_usage_perc{engine="0"} 0.25
                """);
        assertThat(t.sum("vllm:num_requests_waiting").getAsDouble()).isEqualTo(7);
        assertThat(t.max("vllm:num_requests_waiting").getAsDouble()).isEqualTo(5);
        assertThat(t.sumOfFirst(ServerMetrics.KV_USAGE).getAsDouble()).as("the older name").isEqualTo(0.25);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = PrometheusTextTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
