package dev.gantry.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Gantry's load generator: {@code gantry bench serve ...} measures an OpenAI-compatible server,
 * {@code gantry bench plot ...} draws several servers' results side by side. The {@code ./gantry}
 * launcher calls this for {@code gantry bench}.
 */
@Command(
        name = "gantry bench",
        mixinStandardHelpOptions = true,
        versionProvider = BenchCli.Version.class,
        description = "Measure the latency and throughput of an OpenAI-compatible LLM server (Gantry, vLLM, ...).",
        subcommands = {ServeCommand.class, PlotCommand.class, CommandLine.HelpCommand.class})
public final class BenchCli {

    /** Exit status when the run finished but some requests failed, or the server could not be reached. */
    public static final int EXIT_FAILED_REQUESTS = 1;
    /** Exit status for a command line that cannot run (picocli's own code for parameter errors). */
    public static final int EXIT_USAGE = 2;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit status; mistakes on the command line print one line, no stack trace. */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command line with its error handling, for callers (tests) that redirect its output. */
    public static CommandLine commandLine() {
        // --header Host:...: the JDK's HTTP client sets Host itself unless allowed here, before
        // its first use (the property is read once).
        if (System.getProperty("jdk.httpclient.allowRestrictedHeaders") == null) {
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
        }
        CommandLine cli = new CommandLine(new BenchCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("error: " + e.getMessage());
                return EXIT_USAGE;
            }
            if (e instanceof java.io.IOException) {
                cmd.getErr().println("error: " + e.getMessage());
                return EXIT_FAILED_REQUESTS;
            }
            throw e;
        });
        return cli;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = BenchCli.class.getPackage().getImplementationVersion();
            return new String[] {"gantry bench " + (v != null ? v : "development build") + ", Java " + Runtime.version()};
        }
    }
}
