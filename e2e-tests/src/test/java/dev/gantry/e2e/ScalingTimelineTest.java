package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The autoscaling scenario's arithmetic and plot, on made-up samples (no cluster). */
class ScalingTimelineTest {

    private static OpenLoad.Sample ok(double sentMs, double ttftMs) {
        return new OpenLoad.Sample(sentMs, ttftMs, sentMs + ttftMs + 500, 200, null);
    }

    @Test
    void percentilesInterpolateAsNumpyDoes() {
        // numpy.percentile([1, 2, 3, 4], 95) = 3.85; of one value, that value.
        assertThat(ScalingTimeline.percentile(new double[] {1, 2, 3, 4}, 0.95)).isCloseTo(3.85, within(1e-12));
        assertThat(ScalingTimeline.percentile(new double[] {7}, 0.95)).isEqualTo(7);
        assertThat(ScalingTimeline.percentile(new double[0], 0.95)).isNaN();
        // Against a sort and the formula on fresh random data.
        Random random = new Random();
        double[] values = random.doubles(101, 0, 1000).sorted().toArray();
        assertThat(ScalingTimeline.percentile(values, 0.95)).isEqualTo(values[95]);
    }

    @Test
    void windowsCountArrivalsAndTakeTtftByTheFirstTokensTime() {
        List<OpenLoad.Sample> samples = List.of(ok(0, 100), ok(4_000, 200), ok(9_000, 3_000), ok(15_000, 400),
                new OpenLoad.Sample(16_000, -1, 16_010, 429, "http 429: queue full"));
        assertThat(ScalingTimeline.arrivalRate(samples, 10_000, 10_000)).isEqualTo(0.2); // 4000 and 9000
        assertThat(ScalingTimeline.arrivalRate(samples, 20_000, 10_000)).isEqualTo(0.2); // 15000 and the 429
        // First tokens at 100, 4200, 12000, 15400: the window (10 s, 20 s] holds 12000 and 15400.
        assertThat(ScalingTimeline.ttftP95(samples, 20_000, 10_000)).isCloseTo(400 + 0.95 * 0 + (3000 - 400) * 0.95,
                within(1e-9));
        assertThat(ScalingTimeline.ttftP95(samples, 40_000, 10_000)).isNaN();
        assertThat(samples.getLast().refused()).isTrue();
        assertThat(samples.getLast().ok()).isFalse();
    }

    @Test
    void waitingSeriesHasOneLinePerPodWithGapsWherePodsDidNotAnswer() {
        List<ScalingTimeline.Tick> ticks = List.of(
                new ScalingTimeline.Tick(0, 1, 1, 1, Map.of("a", 0.0)),
                new ScalingTimeline.Tick(2000, 2, 1, 2, Map.of("a", 5.0)),
                new ScalingTimeline.Tick(4000, 2, 2, 2, Map.of("a", 3.0, "b", 1.0)));
        Map<String, double[]> series = ScalingTimeline.waitingSeries(ticks);
        assertThat(series.get("a")).containsExactly(0, 5, 3);
        assertThat(series.get("b")[0]).isNaN();
        assertThat(series.get("b")[2]).isEqualTo(1);
    }

    @Test
    void thePlotIsAPngOfFourPanels(@TempDir Path dir) throws Exception {
        List<ScalingTimeline.Tick> ticks = List.of(
                new ScalingTimeline.Tick(0, 1, 1, 1, Map.of("w-1", 0.0)),
                new ScalingTimeline.Tick(2000, 2, 1, 2, Map.of("w-1", 6.0)),
                new ScalingTimeline.Tick(4000, 2, 2, 2, Map.of("w-1", 2.0, "w-2", 0.0)));
        List<OpenLoad.Sample> samples = List.of(ok(100, 300), ok(1500, 2000), ok(3000, 800));
        Path png = dir.resolve("t.png");
        TimelinePlot.write(png, "test", ticks, samples, List.of(new TimelinePlot.Event("step", 1.0)));
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(Files.size(png)).isPositive();
        assertThat(image.getWidth()).isEqualTo(1000);
        assertThat(image.getHeight()).isEqualTo(4 * 260);
    }
}
