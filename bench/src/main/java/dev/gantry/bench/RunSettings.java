package dev.gantry.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gantry bench serve}'s command line, checked, with its per-level defaults filled in.
 * Every mistake is an {@link IllegalArgumentException} with the message the user sees, raised
 * before any request is sent.
 */
record RunSettings(URI url, Endpoint endpoint, Workload.Kind workloadKind, List<Sweep.Level> plan, Duration limit,
        Duration timeout, Slo slo, ObjectNode extraBody, long seed, String label, int inputLen) {

    static RunSettings from(ServeCommand c) {
        URI uri;
        try {
            uri = new URI(c.url.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--url is not a valid address: " + e.getMessage());
        }
        StreamingClient.resolve(uri, Endpoint.COMPLETIONS); // checks scheme and host
        if (c.model.isBlank()) {
            throw new IllegalArgumentException("--model must not be empty");
        }
        if (c.concurrency != null && c.requestRate != null) {
            throw new IllegalArgumentException("give --concurrency or --request-rate, not both");
        }
        if (c.numRequests != null && c.numRequests < 1) {
            throw new IllegalArgumentException("--num-requests must be 1 or more, got " + c.numRequests);
        }
        if (c.warmup != null && c.warmup < 0) {
            throw new IllegalArgumentException("--warmup must be 0 or more, got " + c.warmup);
        }
        if (c.inputLen < 1) {
            throw new IllegalArgumentException("--input-len must be 1 or more, got " + c.inputLen);
        }
        if (c.outputLen < 1) {
            throw new IllegalArgumentException("--output-len must be 1 or more, got " + c.outputLen);
        }
        if (c.prefixGroups < 1 || c.prefixLen < 1) {
            throw new IllegalArgumentException("--prefix-groups and --prefix-len must be 1 or more");
        }
        if (!(c.rangeRatio >= 0 && c.rangeRatio < 1)) {
            throw new IllegalArgumentException("--range-ratio must be at least 0 and below 1, got " + c.rangeRatio);
        }
        Workload.Kind kind = Workload.Kind.fromOption(c.workload);
        Endpoint endpoint = c.endpoint != null ? Endpoint.fromOption(c.endpoint)
                : kind == Workload.Kind.CHAT ? Endpoint.CHAT : Endpoint.COMPLETIONS;
        if (kind == Workload.Kind.CHAT && endpoint != Endpoint.CHAT) {
            throw new IllegalArgumentException("--workload chat sends conversations: it needs --endpoint chat");
        }
        Duration limit = c.duration == null ? null : Durations.parse(c.duration);

        List<Load> loads = new ArrayList<>();
        if (c.requestRate != null) {
            c.requestRate.forEach(r -> loads.add(Load.parseRate(r)));
        } else {
            (c.concurrency != null ? c.concurrency : List.of(1)).forEach(n -> {
                if (n == null || n < 1) {
                    throw new IllegalArgumentException("--concurrency values must be 1 or more, got " + c.concurrency);
                }
                loads.add(new Load.Closed(n));
            });
        }
        if (loads.isEmpty()) {
            throw new IllegalArgumentException("no levels to run");
        }
        List<Sweep.Level> plan = new ArrayList<>();
        for (Load load : loads) {
            int requests;
            if (c.numRequests != null) {
                requests = c.numRequests;
            } else if (limit != null) {
                requests = Integer.MAX_VALUE; // bounded by time alone
            } else {
                requests = switch (load) {
                    case Load.Closed cl -> Math.max(32, 4 * cl.concurrency());
                    case Load.Open o -> o.unbounded() ? 32 : (int) Math.min(100_000, Math.max(32, Math.ceil(8 * o.rate())));
                };
            }
            int warm = c.warmup != null ? c.warmup : load instanceof Load.Closed cl ? cl.concurrency() : 2;
            plan.add(new Sweep.Level(load, requests, warm));
        }
        ObjectNode extra = null;
        if (c.extraBody != null) {
            try {
                JsonNode node = new ObjectMapper().readTree(c.extraBody);
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException("--extra-body must be a JSON object, got " + c.extraBody);
                }
                extra = (ObjectNode) node;
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("--extra-body is not JSON: " + e.getOriginalMessage());
            }
        }
        long runSeed = c.seed != null ? c.seed : new SecureRandom().nextInt(Integer.MAX_VALUE);
        String name = c.label != null ? c.label : uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
        return new RunSettings(uri, endpoint, kind, List.copyOf(plan), limit, Durations.parse(c.timeout),
                c.slo == null ? null : Slo.parse(c.slo), extra, runSeed, name, c.inputLen);
    }

    /** The words of one prompt (a question, for shared-prefix) of {@code --input-len} tokens. */
    int inputWords(Calibration calibration) {
        return workloadKind == Workload.Kind.SHARED_PREFIX ? calibration.partWords(inputLen) : calibration.promptWords(inputLen);
    }

    /** E.g. {@code fixed 128/128}, {@code shared-prefix 4x512+128/128}: for the results log and the plot's title. */
    String describeWorkload(ServeCommand c) {
        return switch (workloadKind) {
            case FIXED -> "fixed " + c.inputLen + "/" + c.outputLen;
            case RANDOM, CHAT -> workloadKind.optionName() + " " + c.inputLen + "/" + c.outputLen + " r=" + c.rangeRatio;
            case SHARED_PREFIX -> "shared-prefix " + c.prefixGroups + "x" + c.prefixLen + "+" + c.inputLen + "/" + c.outputLen;
        };
    }

    JsonReport.Settings jsonSettings(ServeCommand c, Calibration calibration, String commit) {
        return new JsonReport.Settings(url.toString(), label, endpoint.optionName(), c.model, workloadKind.optionName(),
                plan.stream().map(l -> l.load().label()).toList(),
                plan.stream().map(l -> l.requests() == Integer.MAX_VALUE ? null : l.requests()).toList(),
                plan.stream().map(Sweep.Level::warmup).toList(),
                limit == null ? null : limit.toMillis() / 1000.0, c.inputLen, inputWords(calibration), c.outputLen,
                c.rangeRatio, c.prefixGroups, c.prefixLen, calibration, slo == null ? null : slo.describe(),
                timeout.toMillis() / 1000.0, seed, commit, "linear interpolation (numpy default)");
    }
}
