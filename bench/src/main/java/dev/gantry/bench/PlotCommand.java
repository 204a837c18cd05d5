package dev.gantry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code gantry bench plot}: draws several {@code --json} results (different servers measured
 * with the same sweep) into one latency-against-throughput picture, one colour per run.
 */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw TTFT P50/P99 and TPOT P50 against output throughput for one or more --json results "
                + "of gantry bench serve, one colour each, into a PNG.")
public final class PlotCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "RESULT.json", description = "Files written by gantry bench serve --json.")
    List<Path> results;

    @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "The PNG to write.")
    Path out;

    @Option(names = "--title", paramLabel = "TEXT", description = "The plot's title (default: the first run's model and workload).")
    String title;

    @Override
    public Integer call() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        List<LatencyPlot.Run> runs = new ArrayList<>();
        String firstTitle = null;
        for (Path file : results) {
            JsonNode root;
            try {
                root = mapper.readTree(file.toFile());
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage());
            }
            if (root == null || !root.path("levels").isArray()) {
                throw new IllegalArgumentException(file + " is not a gantry bench serve --json result (no levels)");
            }
            JsonNode settings = root.path("settings");
            String name = settings.path("label").asText(settings.path("url").asText(file.getFileName().toString()));
            List<LatencyPlot.Point> points = new ArrayList<>();
            root.path("levels").forEach(l -> points.add(LatencyPlot.Point.of(l)));
            runs.add(new LatencyPlot.Run(name, points));
            if (firstTitle == null) {
                firstTitle = settings.path("model").asText("") + ", " + settings.path("workload").asText("")
                        + " " + settings.path("input_tokens").asText("") + "/" + settings.path("output_tokens").asText("");
            }
        }
        LatencyPlot.write(out, title != null ? title : firstTitle, runs);
        return 0;
    }
}
