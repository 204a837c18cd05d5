package dev.gantry.bench;

import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gantry bench serve}: a closed-loop sweep over concurrency levels against one server and model. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measure a running OpenAI-compatible server with streamed requests of fixed length, "
                    + "at each listed concurrency in turn (a closed loop: each of C clients sends its next "
                    + "request when the last one ends).",
            "",
            "Requests ask for exactly --output-len tokens (max_tokens, ignore_eos, temperature 0) and "
                    + "stream them with usage. Prompts are random common words, about one token each, so "
                    + "--input-len counts words, not tokens: the server's prompt token counts (printed) "
                    + "are the true lengths. Every prompt starts with its own request number, so prefix "
                    + "caches cannot shorten any request.",
            "",
            "Reports per level: request, output and total token throughput; mean and P50/P90/P95/P99 "
                    + "of TTFT, TPOT, ITL and end-to-end latency (vLLM's definitions; percentiles by "
                    + "linear interpolation, as numpy), and failures by kind.",
            "",
            "Exit status: 0 when every request succeeded, 1 when some failed or the server could not "
                    + "be reached (the results so far are still printed), 2 for a bad command line."
        })
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--url", required = true, paramLabel = "URL",
            description = "The server, e.g. http://localhost:8000 (a trailing /v1 is accepted).")
    String url;

    @Option(names = "--model", required = true, paramLabel = "NAME",
            description = "The model name to send, as the server lists it at /v1/models.")
    String model;

    @Option(names = "--concurrency", split = ",", paramLabel = "C", defaultValue = "1",
            description = "Requests kept in flight; a list runs one level after another (default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--num-requests", paramLabel = "N",
            description = "Measured requests per level (default: max(32, 4 x concurrency)).")
    Integer numRequests;

    @Option(names = "--warmup", paramLabel = "N",
            description = "Requests per level sent first and not counted (default: the level's concurrency).")
    Integer warmup;

    @Option(names = "--input-len", paramLabel = "WORDS", defaultValue = "128",
            description = "Prompt length in words, about as many tokens (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", paramLabel = "TOKENS", defaultValue = "128",
            description = "Tokens to generate per request (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--endpoint", paramLabel = "API", defaultValue = "completions",
            description = "completions (/v1/completions, prompt as is) or chat (/v1/chat/completions, "
                    + "through the model's chat template) (default: ${DEFAULT-VALUE}).")
    String endpoint;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:OPENAI_API_KEY}",
            description = "Sent as 'Authorization: Bearer KEY' (default: $OPENAI_API_KEY, if set).")
    String apiKey;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "60s",
            description = "Limit for one request, send to end of stream: 500ms, 60s, 2m (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed for the prompts' words (default: a new one each run, printed, so a second "
                    + "run cannot hit the prefix cache the first one filled).")
    Long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every figure to FILE as JSON.")
    Path json;

    @Override
    public Integer call() throws Exception {
        Settings s = validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PromptFactory prompts = new PromptFactory(s.seed);
        // One numbering for the whole sweep (warmups included), so no prompt repeats across levels.
        AtomicLong requestNumber = new AtomicLong();
        Instant started = Instant.now();
        List<LevelReport> levels = new ArrayList<>();
        String abortedBy = null;
        try (StreamingClient client = new StreamingClient(s.url, s.endpoint, model, apiKey, s.timeout)) {
            out.printf(Locale.ROOT, "gantry bench serve: %s  model %s  prompt %d words  output %d tokens  seed %d%n",
                    client.uri(), model, inputLen, outputLen, s.seed);
            out.flush();
            Progress progress = new Progress(err, System.console() != null && System.console().isTerminal());
            ClosedLoop loop = new ClosedLoop(onToken -> client.send(
                    prompts.prompt(requestNumber.getAndIncrement(), inputLen), outputLen, onToken), progress);
            for (int i = 0; i < s.concurrency.size(); i++) {
                int c = s.concurrency.get(i);
                if (s.warmup.get(i) > 0) {
                    ClosedLoop.Phase warm = loop.run("c=" + c + " warmup", c, s.warmup.get(i));
                    if (warm.aborted()) {
                        abortedBy = warm.abortedBy().message();
                        break;
                    }
                    if (warm.results().stream().noneMatch(RequestResult::ok)) {
                        RequestError first = warm.results().getFirst().error();
                        abortedBy = "every warmup request at c=" + c + " failed, the first with "
                                + first.key() + ": " + first.message();
                        break;
                    }
                }
                ClosedLoop.Phase measured = loop.run("c=" + c, c, s.requests.get(i));
                levels.add(LevelReport.of(c, s.requests.get(i), measured, inputLen));
                if (measured.aborted()) {
                    abortedBy = measured.abortedBy().message();
                    break;
                }
            }
        }

        if (!levels.isEmpty()) {
            out.println();
            out.print(ReportTable.render(levels));
            out.flush();
        }
        for (LevelReport level : levels) {
            if (level.completed() > 0 && Math.abs(level.meanOutputTokens() - outputLen) > 0.5) {
                err.printf(Locale.ROOT, "warning: c=%d asked for %d output tokens per request but got %.1f on average;"
                        + " does the server honour ignore_eos and max_tokens?%n",
                        level.concurrency(), outputLen, level.meanOutputTokens());
            }
        }
        if (json != null) {
            JsonReport.write(json, new JsonReport.Run("gantry bench serve", started.toString(), Instant.now().toString(),
                    new JsonReport.Settings(s.url.toString(), s.endpoint.optionName(), model, s.concurrency, s.requests,
                            s.warmup, inputLen, outputLen, s.timeout.toMillis() / 1000.0, s.seed, "linear interpolation (numpy default)"),
                    levels, abortedBy));
        }
        if (abortedBy != null) {
            err.println("error: " + abortedBy);
            err.flush();
            return BenchCli.EXIT_FAILED_REQUESTS;
        }
        boolean anyFailed = levels.stream().anyMatch(l -> l.failed() > 0);
        return anyFailed ? BenchCli.EXIT_FAILED_REQUESTS : 0;
    }

    /** The command line, checked and with its per-level defaults filled in. */
    private record Settings(URI url, Endpoint endpoint, List<Integer> concurrency, List<Integer> requests,
            List<Integer> warmup, Duration timeout, long seed) {
    }

    private Settings validate() {
        URI uri;
        try {
            uri = new URI(url.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--url is not a valid address: " + e.getMessage());
        }
        StreamingClient.resolve(uri, Endpoint.COMPLETIONS); // checks scheme and host
        if (model.isBlank()) {
            throw new IllegalArgumentException("--model must not be empty");
        }
        if (concurrency.isEmpty() || concurrency.stream().anyMatch(c -> c == null || c < 1)) {
            throw new IllegalArgumentException("--concurrency values must be 1 or more, got " + concurrency);
        }
        if (numRequests != null && numRequests < 1) {
            throw new IllegalArgumentException("--num-requests must be 1 or more, got " + numRequests);
        }
        if (warmup != null && warmup < 0) {
            throw new IllegalArgumentException("--warmup must be 0 or more, got " + warmup);
        }
        if (inputLen < 1) {
            throw new IllegalArgumentException("--input-len must be 1 or more, got " + inputLen);
        }
        if (outputLen < 1) {
            throw new IllegalArgumentException("--output-len must be 1 or more, got " + outputLen);
        }
        Duration limit = Durations.parse(timeout);
        List<Integer> requests = concurrency.stream().map(c -> numRequests != null ? numRequests : Math.max(32, 4 * c)).toList();
        List<Integer> warmups = concurrency.stream().map(c -> warmup != null ? warmup : c).toList();
        long runSeed = seed != null ? seed : new SecureRandom().nextInt(Integer.MAX_VALUE);
        return new Settings(uri, Endpoint.fromOption(endpoint), List.copyOf(concurrency), requests, warmups, limit, runSeed);
    }
}
