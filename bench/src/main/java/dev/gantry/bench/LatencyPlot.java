package dev.gantry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The {@code --plot} picture: latency against output throughput over a sweep, one point per
 * level, the usual way to compare serving systems (lower and further right is better). TTFT P50
 * and P99 on the left axis; TPOT P50, an order of magnitude smaller, on the right one, so it is
 * not flattened against zero. Several runs (servers) can share one plot, one colour each.
 * Rendered headless with XChart, so it works on a build machine without a display.
 */
public final class LatencyPlot {

    /** One level's figures that the plot shows. */
    public record Point(String load, double outputThroughput, double ttftP50, double ttftP99, double tpotP50) {

        static Point of(LevelReport l) {
            return new Point(l.load(), l.outputThroughput(), l.ttftMs().p50(), l.ttftMs().p99(), l.tpotMs().p50());
        }

        /** From one entry of a {@code --json} file's {@code levels}. */
        static Point of(JsonNode level) {
            return new Point(level.path("load").asText(level.path("concurrency").asText("?")),
                    number(level.path("output_throughput")), number(level.path("ttft_ms").path("p50")),
                    number(level.path("ttft_ms").path("p99")), number(level.path("tpot_ms").path("p50")));
        }

        private static double number(JsonNode n) {
            return n.isNumber() ? n.asDouble() : Double.NaN;
        }
    }

    /** One run's levels, named (the server) for the legend. */
    public record Run(String name, List<Point> points) {
    }

    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0x9467bd), new Color(0xff7f0e)};

    private LatencyPlot() {
    }

    /** Draws the runs and writes a PNG to {@code file}. */
    public static void write(Path file, String title, List<Run> runs) throws IOException {
        // No display on build machines and in containers; AWT must not look for one.
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title)
                .xAxisTitle("output throughput (tokens/s)").yAxisTitle("TTFT (ms)").build();
        chart.setYAxisGroupTitle(1, "TPOT (ms)");
        Styler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.InsideNW);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.getStyler().setXAxisMin(0.0);
        chart.getStyler().setYAxisMin(0, 0.0);
        chart.getStyler().setYAxisMin(1, 0.0);
        boolean any = false;
        for (int r = 0; r < runs.size(); r++) {
            Run run = runs.get(r);
            Color colour = COLOURS[r % COLOURS.length];
            String prefix = runs.size() > 1 || !run.name().isEmpty() ? run.name() + " " : "";
            any |= series(chart, prefix + "TTFT p50", run.points(), Point::ttftP50, colour, SeriesMarkers.CIRCLE, 0, false);
            any |= series(chart, prefix + "TTFT p99", run.points(), Point::ttftP99, colour, SeriesMarkers.TRIANGLE_UP, 0, true);
            any |= series(chart, prefix + "TPOT p50", run.points(), Point::tpotP50, colour, SeriesMarkers.SQUARE, 1, true);
        }
        if (!any) {
            throw new IOException("nothing to plot: no level has both a throughput and a latency");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        // Encoded here rather than by XChart's saveBitmap, which decides the file's extension itself.
        if (!javax.imageio.ImageIO.write(BitmapEncoder.getBufferedImage(chart), "png", file.toFile())) {
            throw new IOException("no PNG encoder in this JVM");
        }
    }

    private static boolean series(XYChart chart, String name, List<Point> points,
            java.util.function.ToDoubleFunction<Point> latency, Color colour,
            org.knowm.xchart.style.markers.Marker marker, int axis, boolean dashed) {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (Point p : points) {
            double v = latency.applyAsDouble(p);
            if (!Double.isNaN(p.outputThroughput()) && !Double.isNaN(v)) {
                x.add(p.outputThroughput());
                y.add(v);
            }
        }
        if (x.isEmpty()) {
            return false;
        }
        XYSeries series = chart.addSeries(name, x, y);
        series.setYAxisGroup(axis);
        series.setMarker(marker);
        series.setMarkerColor(colour);
        series.setLineColor(colour);
        series.setLineStyle(dashed ? new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                new float[] {6f, 4f}, 0f) : new BasicStroke(2f));
        return true;
    }
}
