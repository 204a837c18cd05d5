package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.cli.ServeCommand;
import dev.gantry.worker.config.WorkerConfig;
import java.lang.reflect.Method;
import java.util.Map;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;

/** {@code gantry serve}'s options become the configuration keys WorkerConfig reads. */
class ServeCommandTest {

    private static Map<String, String> parse(String... args) {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd.properties();
    }

    @Test
    void optionsBecomeProperties() {
        assertThat(parse("--model", "m.gguf", "--port", "9000", "--host", "127.0.0.1", "--max-num-seqs", "4",
                "--no-enable-prefix-caching", "--kv-cache-memory", "2G", "--response-cache-redis-url", "redis://r:6379",
                "--api-key-file", "/run/key", "-t", "3"))
                .containsExactlyInAnyOrderEntriesOf(Map.of(
                        "gantry.model", "m.gguf",
                        "quarkus.http.port", "9000",
                        "quarkus.http.host", "127.0.0.1",
                        "gantry.max-num-seqs", "4",
                        "gantry.enable-prefix-caching", "false",
                        "gantry.kv-cache-memory", "2G",
                        "gantry.response-cache.redis-url", "redis://r:6379",
                        "gantry.api-key-file", "/run/key",
                        "gantry.threads", "3"));
        assertThat(parse("--enable-prefix-caching")).containsEntry("gantry.enable-prefix-caching", "true");
        assertThat(parse("--enforce-eager")).containsExactly(Map.entry("gantry.enforce-eager", "true"));
    }

    @Test
    void optionsLeftOutSetNothingSoTheEnvironmentStillApplies() {
        assertThat(parse()).isEmpty();
    }

    @Test
    void everyTopLevelSettingHasAnOption() {
        String help = new CommandLine(new ServeCommand()).getUsageMessage();
        for (Method m : WorkerConfig.class.getDeclaredMethods()) {
            if (m.getReturnType() == WorkerConfig.ResponseCache.class) {
                continue;
            }
            String option = "--" + m.getName().replaceAll("([A-Z])", "-$1").toLowerCase();
            assertThat(help).as(option).contains(option.replace("--enable-", "--[no-]enable-"));
        }
        assertThat(help).contains("--port", "--host", "--response-cache-redis-url", "(default: 64)", "GANTRY_MAX_NUM_SEQS");
    }
}
