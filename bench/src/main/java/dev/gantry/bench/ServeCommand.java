package dev.gantry.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gantry bench serve}: a sweep over concurrency levels or request rates against one server and model. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measure a running OpenAI-compatible server with streamed requests, at each listed level in turn: "
                    + "--concurrency C (a closed loop: each of C clients sends its next request when the last "
                    + "one ends) or --request-rate R (an open loop: Poisson arrivals at R requests/s; inf sends "
                    + "all at once).",
            "",
            "Requests ask for exactly their output length (max_tokens = min_tokens, ignore_eos, temperature 0) "
                    + "and stream it with usage. Prompts are random common words, sized in the server's own "
                    + "tokens: two probe requests first measure its tokens per word from usage.prompt_tokens "
                    + "(without usage, lengths stay in words). Every prompt starts with its own request number, "
                    + "so prefix caches cannot shorten any request, except the shared system prompts of "
                    + "--workload shared-prefix, which exist to be cached.",
            "",
            "Reports per level: request, output and total token throughput, goodput under --slo, error and "
                    + "timeout rates; mean and P50/P90/P95/P99 of TTFT, TPOT, ITL and end-to-end latency "
                    + "(vLLM's definitions; percentiles by linear interpolation, as numpy), failures by kind; "
                    + "and from the server's /metrics when it has vLLM's names: queue length, KV-cache use, "
                    + "prefix-cache hit rate, preemptions.",
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

    @Option(names = "--concurrency", split = ",", paramLabel = "C",
            description = "Requests kept in flight; a list runs one level after another (default: 1).")
    List<Integer> concurrency;

    @Option(names = "--request-rate", split = ",", paramLabel = "R",
            description = "Instead of --concurrency: requests per second, Poisson arrivals; inf sends all at once. "
                    + "A list runs one level after another.")
    List<String> requestRate;

    @Option(names = "--num-requests", paramLabel = "N",
            description = "Measured requests per level (default: max(32, 4 x concurrency) or max(32, 8 s of the rate); "
                    + "unbounded when only --duration is given).")
    Integer numRequests;

    @Option(names = "--duration", paramLabel = "DURATION",
            description = "Stop sending a level's requests after this long (60s, 2m); those in flight are awaited.")
    String duration;

    @Option(names = "--warmup", paramLabel = "N",
            description = "Requests per level sent first and not counted (default: the concurrency; 2 for a rate).")
    Integer warmup;

    @Option(names = "--workload", paramLabel = "KIND", defaultValue = "fixed",
            description = "fixed, random (lengths uniform in [L(1-r), L(1+r)]), shared-prefix (--prefix-groups "
                    + "system prompts of --prefix-len tokens, then a question of --input-len), chat (multi-turn "
                    + "conversations, sent to /v1/chat/completions) (default: ${DEFAULT-VALUE}).")
    String workload;

    @Option(names = "--input-len", paramLabel = "TOKENS", defaultValue = "128",
            description = "Prompt length in the server's tokens (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", paramLabel = "TOKENS", defaultValue = "128",
            description = "Tokens to generate per request (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--range-ratio", paramLabel = "R", defaultValue = "0.5",
            description = "Spread r of the random and chat lengths (default: ${DEFAULT-VALUE}).")
    double rangeRatio;

    @Option(names = "--prefix-groups", paramLabel = "N", defaultValue = "4",
            description = "Distinct shared system prompts of --workload shared-prefix (default: ${DEFAULT-VALUE}).")
    int prefixGroups;

    @Option(names = "--prefix-len", paramLabel = "TOKENS", defaultValue = "512",
            description = "Length of each shared system prompt (default: ${DEFAULT-VALUE}).")
    int prefixLen;

    @Option(names = "--no-calibrate",
            description = "Count prompt lengths in words, without asking the server how many tokens a word makes.")
    boolean noCalibrate;

    @Option(names = "--endpoint", paramLabel = "API",
            description = "completions (/v1/completions, prompt as is) or chat (/v1/chat/completions, "
                    + "through the model's chat template) (default: chat for --workload chat, else completions).")
    String endpoint;

    @Option(names = "--slo", paramLabel = "METRIC=LIMIT,...",
            description = "Objectives for goodput, e.g. ttft=500ms,tpot=50ms (metrics: ttft, tpot, e2e).")
    String slo;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:OPENAI_API_KEY}",
            description = "Sent as 'Authorization: Bearer KEY' (default: $OPENAI_API_KEY, if set).")
    String apiKey;

    @Option(names = "--header", paramLabel = "NAME:VALUE",
            description = "A header for every request and /metrics read, e.g. 'Host: llm.example.com' to go "
                    + "through an ingress that routes by host name; repeatable.")
    List<String> headers;

    @Option(names = "--extra-body", paramLabel = "JSON",
            description = "A JSON object merged into every request body, for a server's own options.")
    String extraBody;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "60s",
            description = "Limit for one request, send to end of stream: 500ms, 60s, 2m (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed for the prompts and arrival times (default: a new one each run, printed, so a "
                    + "second run cannot hit the prefix cache the first one filled).")
    Long seed;

    @Option(names = "--no-metrics", description = "Do not read the server's /metrics.")
    boolean noMetrics;

    @Option(names = "--label", paramLabel = "NAME",
            description = "What the results log and plot call the server, e.g. gantry (default: host:port).")
    String label;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every figure to FILE as JSON.")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE",
            description = "Append a row per level to the Markdown results log FILE (header when new).")
    Path markdown;

    @Option(names = "--plot", paramLabel = "FILE.png",
            description = "Draw TTFT P50/P99 and TPOT P50 against output throughput over the sweep, as a PNG.")
    Path plot;

    @Override
    public Integer call() throws Exception {
        RunSettings s = RunSettings.from(this);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        AtomicLong requestNumber = new AtomicLong();
        Instant started = Instant.now();
        Sweep.Outcome outcome;
        Calibration calibration;
        Workload work;
        Map<String, String> extraHeaders = RequestHeaders.parse(headers);
        try (StreamingClient client = new StreamingClient(s.url(), s.endpoint(), model, apiKey, s.timeout(), s.extraBody(),
                        extraHeaders);
                ServerMetrics metrics = noMetrics ? null : new ServerMetrics(s.url(), extraHeaders)) {
            out.printf(Locale.ROOT, "gantry bench serve: %s  model %s  workload %s  seed %d%n",
                    client.uri(), model, s.workloadKind().optionName(), s.seed());
            out.flush();
            PromptFactory prompts = new PromptFactory(s.seed());
            calibration = Calibration.words("--no-calibrate: lengths in words");
            if (!noCalibrate) {
                calibration = Calibration.measure(r -> client.send(r, () -> { }), prompts, requestNumber.getAndAdd(2));
            }
            work = new Workload(s.workloadKind(), s.seed(), s.inputWords(calibration), outputLen, rangeRatio,
                    prefixGroups, calibration.partWords(prefixLen));
            out.printf(Locale.ROOT, "prompt %d tokens = %d words: %s%n", inputLen, s.inputWords(calibration),
                    calibration.describe());
            out.flush();
            Progress progress = new Progress(err, System.console() != null && System.console().isTerminal());
            outcome = new Sweep(client, work, metrics, progress, requestNumber, s.limit(), s.slo(), s.seed())
                    .run(s.plan());
        }
        List<LevelReport> levels = outcome.levels();
        if (!levels.isEmpty()) {
            out.println();
            out.print(ReportTable.render(levels));
            if (s.slo() != null) {
                out.println("goodput: successful requests per second meeting " + s.slo().describe());
            }
            out.flush();
        }
        if (s.workloadKind() != Workload.Kind.RANDOM && s.workloadKind() != Workload.Kind.CHAT) {
            for (LevelReport level : levels) {
                if (level.completed() > 0 && Math.abs(level.meanOutputTokens() - outputLen) > 0.5) {
                    err.printf(Locale.ROOT, "warning: %s asked for %d output tokens per request but got %.1f on average;"
                            + " does the server honour ignore_eos and max_tokens?%n",
                            level.load(), outputLen, level.meanOutputTokens());
                }
            }
        }
        String commit = MarkdownLog.gitCommit();
        String server = (label != null ? label + " " : "") + s.url();
        if (json != null) {
            JsonReport.write(json, new JsonReport.Run("gantry bench serve", started.toString(), Instant.now().toString(),
                    s.jsonSettings(this, calibration, commit), levels, outcome.abortedBy()));
        }
        if (markdown != null && !levels.isEmpty()) {
            MarkdownLog.append(markdown, commit, server, model, s.describeWorkload(this), levels);
        }
        if (plot != null && !levels.isEmpty()) {
            LatencyPlot.write(plot, model + ", " + s.describeWorkload(this),
                    List.of(new LatencyPlot.Run(s.label(), levels.stream().map(LatencyPlot.Point::of).toList())));
        }
        if (outcome.abortedBy() != null) {
            err.println("error: " + outcome.abortedBy());
            err.flush();
            return BenchCli.EXIT_FAILED_REQUESTS;
        }
        boolean anyFailed = levels.stream().anyMatch(l -> l.failed() > 0);
        return anyFailed ? BenchCli.EXIT_FAILED_REQUESTS : 0;
    }
}
