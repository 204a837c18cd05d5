package dev.gantry.bench;

import java.util.List;

/**
 * What a {@link StubOpenAiServer} really sent, over all its streamed responses (warm-ups and every
 * level included): first token, time per output token and last token after each request arrived.
 * On a busy machine the stub itself runs late (it shares the JVM and the cores with the client),
 * and a figure the tool reports may exceed the injected one by that much: the tests bound the
 * tool's figures by this record, not by the nominal schedule alone.
 */
record Sent(Percentiles ttft, Percentiles tpot, Percentiles e2e) {

    static Sent of(StubOpenAiServer stub) {
        List<long[]> all = stub.emissions();
        double[] ttft = all.stream().mapToDouble(f -> f[0] / 1e6).toArray();
        double[] tpot = all.stream().filter(f -> f.length > 1) // not the one-token warm-up probes
                .mapToDouble(f -> (f[f.length - 1] - f[0]) / 1e6 / (f.length - 1)).toArray();
        double[] e2e = all.stream().mapToDouble(f -> f[f.length - 1] / 1e6).toArray();
        return new Sent(Percentiles.of(ttft), Percentiles.of(tpot), Percentiles.of(e2e));
    }

    /** The record for one of the report's figures: {@code ttft_ms}, {@code tpot_ms} or {@code e2e_ms}. */
    Percentiles of(String name) {
        return switch (name) {
            case "ttft_ms" -> ttft;
            case "tpot_ms" -> tpot;
            default -> e2e;
        };
    }
}
