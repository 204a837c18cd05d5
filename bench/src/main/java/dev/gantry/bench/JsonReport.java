package dev.gantry.bench;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code --json} file: the run's settings and every figure of every level, with snake_case
 * keys and times in milliseconds. A figure with no value (NaN) is written as {@code null}, so
 * tools reading the file cannot mistake it for zero.
 */
public final class JsonReport {

    /**
     * The whole file.
     *
     * @param abortedBy why the sweep stopped before its last level, or null when it ran through
     */
    public record Run(String tool, String startedAt, String finishedAt, Settings settings, List<LevelReport> levels,
            String abortedBy) {
    }

    /**
     * What was asked for; {@code requestsPerLevel} (null: bounded by {@code durationSeconds} alone)
     * and {@code warmupPerLevel} follow {@code levels}.
     *
     * @param inputTokens  {@code --input-len}; {@code inputWords} is what calibration made of it
     * @param calibration  tokens per word as measured from the server's usage
     * @param gitCommit    the commit of the repository the run was started in, or "-"
     */
    public record Settings(String url, String label, String endpoint, String model, String workload, List<String> levels,
            List<Integer> requestsPerLevel, List<Integer> warmupPerLevel, Double durationSeconds, int inputTokens,
            int inputWords, int outputTokens, double rangeRatio, int prefixGroups, int prefixTokens,
            Calibration calibration, String slo, double timeoutSeconds, long seed, String gitCommit,
            String percentileMethod) {
    }

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .registerModule(new SimpleModule().addSerializer(Double.class, new NanAsNull())
                    .addSerializer(double.class, new NanAsNull()));

    private JsonReport() {
    }

    public static String toJson(Run run) throws IOException {
        return MAPPER.writeValueAsString(run);
    }

    public static void write(Path file, Run run) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toJson(run) + "\n");
    }

    private static final class NanAsNull extends JsonSerializer<Double> {
        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (value.isNaN() || value.isInfinite()) {
                gen.writeNull();
            } else {
                gen.writeNumber(value);
            }
        }
    }
}
