package dev.gantry.worker.cli;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.io.PrintWriter;
import picocli.CommandLine;
import sun.misc.Signal;

/**
 * The packaged application's entry point ({@code java -jar quarkus-run.jar}, which
 * {@code ./gantry serve} runs): reads {@code serve}'s options, hands them to Quarkus as system
 * properties, and starts the server. {@code --help} and bad options answer without starting it.
 * SIGTERM shuts it down gracefully (see {@code WorkerLifecycle}) with exit code 0.
 */
@QuarkusMain
public final class ServeMain {

    public static void main(String... args) {
        ServeCommand options = new ServeCommand();
        CommandLine cli = new CommandLine(options).setCommandName("gantry serve");
        try {
            cli.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            PrintWriter err = cli.getErr();
            err.println("error: " + e.getMessage());
            err.println("Run './gantry serve --help' for the options.");
            err.flush();
            System.exit(2);
        }
        if (cli.isUsageHelpRequested()) {
            cli.usage(cli.getOut());
            cli.getOut().flush();
            System.exit(0);
        }
        if (cli.isVersionHelpRequested()) {
            cli.printVersionHelp(cli.getOut());
            cli.getOut().flush();
            System.exit(0);
        }
        boolean modelGiven = options.model != null || System.getenv("GANTRY_MODEL") != null
                || System.getProperty("gantry.model") != null;
        if (!modelGiven) {
            // Checked here too so that the most common mistake answers at once, before Quarkus starts.
            cli.getErr().println("error: no model given: pass --model PATH|hf://owner/repo/file.gguf or set GANTRY_MODEL");
            cli.getErr().println("Run './gantry serve --help' for the options.");
            cli.getErr().flush();
            System.exit(2);
        }
        options.properties().forEach(System::setProperty);
        // The JVM answers SIGTERM by running shutdown hooks and exiting 143. Asking Quarkus to exit
        // instead runs the same graceful shutdown (drain, then close) and exits 0: a worker told
        // to stop that stopped cleanly has not failed.
        Signal.handle(new Signal("TERM"), signal -> Quarkus.asyncExit(0));
        Quarkus.run();
    }
}
