package dev.gantry.e2e;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The autoscaling timeline as one PNG: four panels over the same seconds (replicas; queue depth
 * per worker; requests sent and finished per second; TTFT P95), with the phases of the load named
 * in the title of the first. Drawn headless with XChart from the scenario's own samples.
 */
final class TimelinePlot {
    private static final int WIDTH = 1000;
    private static final int PANEL_HEIGHT = 260;

    private TimelinePlot() {
    }

    /** A vertical marker: a load step or a scaling event, at a time in seconds. */
    record Event(String label, double seconds) {
    }

    static void write(Path file, String title, List<ScalingTimeline.Tick> ticks, List<OpenLoad.Sample> samples,
            List<Event> events) throws IOException {
        System.setProperty("java.awt.headless", "true");
        double[] t = ticks.stream().mapToDouble(k -> k.tMs() / 1000).toArray();
        List<XYChart> panels = new ArrayList<>();

        XYChart replicas = chart(title + events.stream().map(e -> " | " + e.label() + " " + Math.round(e.seconds()) + "s")
                .reduce("", String::concat), "workers");
        line(replicas, "replicas the HPA set", t, ticks.stream().mapToDouble(ScalingTimeline.Tick::specReplicas).toArray());
        line(replicas, "Ready", t, ticks.stream().mapToDouble(ScalingTimeline.Tick::readyReplicas).toArray());
        replicas.getStyler().setYAxisMin(0.0);
        replicas.getStyler().setYAxisMax(3.0);
        panels.add(replicas);

        XYChart queue = chart("", "waiting requests");
        for (Map.Entry<String, double[]> pod : ScalingTimeline.waitingSeries(ticks).entrySet()) {
            line(queue, pod.getKey(), t, zeroForNaN(pod.getValue()));
        }
        panels.add(queue);

        XYChart rate = chart("", "requests/s (10 s window)");
        line(rate, "sent", t, Arrays.stream(t).map(s -> ScalingTimeline.arrivalRate(samples, s * 1000, 10_000)).toArray());
        line(rate, "finished", t, Arrays.stream(t).map(s -> samples.stream()
                .filter(x -> x.endMs() > s * 1000 - 10_000 && x.endMs() <= s * 1000).count() / 10.0).toArray());
        panels.add(rate);

        XYChart ttft = chart("", "TTFT P95, s (10 s window)");
        ttft.getStyler().setXAxisTitleVisible(true);
        line(ttft, "TTFT P95", t, zeroForNaN(Arrays.stream(t)
                .map(s -> ScalingTimeline.ttftP95(samples, s * 1000, 10_000) / 1000).toArray()));
        panels.add(ttft);

        BufferedImage image = new BufferedImage(WIDTH, PANEL_HEIGHT * panels.size(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        for (int i = 0; i < panels.size(); i++) {
            g.drawImage(BitmapEncoder.getBufferedImage(panels.get(i)), 0, i * PANEL_HEIGHT, null);
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(PANEL_HEIGHT).title(title)
                .xAxisTitle("seconds since the load started").yAxisTitle(yTitle).build();
        XYStyler styler = chart.getStyler();
        styler.setLegendPosition(Styler.LegendPosition.InsideNW);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setXAxisTitleVisible(false);
        styler.setChartTitleVisible(!title.isEmpty());
        return chart;
    }

    private static void line(XYChart chart, String name, double[] x, double[] y) {
        if (x.length == 0) {
            return;
        }
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** Gaps (a pod not answering, a window without first tokens) drawn at zero, which XChart can draw. */
    private static double[] zeroForNaN(double[] values) {
        return Arrays.stream(values).map(v -> Double.isNaN(v) ? 0 : v).toArray();
    }
}
