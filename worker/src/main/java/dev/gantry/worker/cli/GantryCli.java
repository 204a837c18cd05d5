package dev.gantry.worker.cli;

import dev.gantry.worker.model.ModelLoadException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The worker's command line: {@code gantry generate ...}. The {@code ./gantry} launcher calls this;
 * for {@code serve} it runs the packaged Quarkus application ({@link ServeMain}) instead, and the
 * subcommand here only carries its help.
 */
@Command(
        name = "gantry",
        mixinStandardHelpOptions = true,
        versionProvider = GantryCli.Version.class,
        description = "Serve and run large language models (GGUF) on CPU or GPU.",
        subcommands = {GenerateCommand.class, ServeCommand.class, SynthCommand.class, BenchModelCommand.class,
            CommandLine.HelpCommand.class})
public final class GantryCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code; errors a user caused print one line, no stack trace. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new GantryCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ModelLoadException || e instanceof IllegalArgumentException
                    || e instanceof dev.gantry.worker.backend.cuda.CudaUnavailableException) {
                cmd.getErr().println("error: " + e.getMessage());
                return e instanceof IllegalArgumentException ? 2 : 1;
            }
            throw e;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = GantryCli.class.getPackage().getImplementationVersion();
            return new String[] {"gantry " + (v != null ? v : "development build") + ", Java " + Runtime.version()};
        }
    }
}
