package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gantry bench plot}: several runs' --json results into one PNG. */
class PlotCommandTest {

    @TempDir
    Path dir;

    @Test
    void twoRunsAreDrawnIntoOnePng() throws Exception {
        Path a = dir.resolve("a.json");
        Path b = dir.resolve("b.json");
        try (var stub = new StubOpenAiServer()) {
            stub.answerWith(stub.streaming(Duration.ofMillis(3), Duration.ofMillis(1), 3));
            for (Path json : new Path[] {a, b}) {
                CliRun run = CliRun.of("serve", "--url", stub.url(), "--model", "m", "--concurrency", "1,2",
                        "--num-requests", "3", "--warmup", "0", "--output-len", "3", "--no-calibrate",
                        "--label", json.getFileName().toString(), "--json", json.toString());
                assertThat(run.exit()).as(run.err()).isZero();
            }
        }
        Path png = dir.resolve("both.png");
        CliRun plot = CliRun.of("plot", a.toString(), b.toString(), "--out", png.toString(), "--title", "a vs b");

        assertThat(plot.exit()).as(plot.err()).isZero();
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(900);
    }

    @Test
    void aFileThatIsNotAResultIsRejected() throws Exception {
        Path bogus = Files.writeString(dir.resolve("x.json"), "{\"hello\": 1}");
        CliRun plot = CliRun.of("plot", bogus.toString(), "--out", dir.resolve("x.png").toString());
        assertThat(plot.exit()).isEqualTo(BenchCli.EXIT_USAGE);
        assertThat(plot.err()).contains("is not a gantry bench serve --json result");
    }
}
