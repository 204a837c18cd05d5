package dev.gantry.worker.engine;

import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Submits requests to a real engine and collects what its listener receives. */
final class EngineHarness {

    /** Everything one request produced. */
    record Output(List<Integer> tokens, String text, RequestResult result) {}

    /** A listener that records tokens and text and completes when the request ends. */
    static final class Collector implements RequestListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<Output> done = new CompletableFuture<>();
        volatile int outputs;

        @Override
        public void onOutput(int[] newTokenIds, String textDelta) {
            for (int t : newTokenIds) {
                tokens.add(t);
            }
            text.append(textDelta);
            outputs++;
        }

        @Override
        public void onFinish(RequestResult result) {
            done.complete(new Output(List.copyOf(tokens), text.toString(), result));
        }

        Output await() {
            try {
                return done.get(120, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the request did not finish", e);
            }
        }
    }

    static SamplingParams greedy(int maxTokens) {
        return SamplingParams.defaults().withTemperature(0).withMaxTokens(maxTokens);
    }

    static int[] prompt(Model model, String text) {
        return model.tokenizer().encode(text, model.tokenizer().addBosByDefault(), false);
    }

    static Collector submit(Engine engine, int[] prompt, SamplingParams params) {
        Collector c = new Collector();
        try {
            engine.submit(new EngineRequest("test", prompt, params), c);
        } catch (RequestRejectedException e) {
            throw new AssertionError(e);
        }
        return c;
    }

    /** Each prompt alone: submitted only after the previous one finished. */
    static List<Output> alone(Engine engine, List<int[]> prompts, SamplingParams params) {
        List<Output> out = new ArrayList<>();
        for (int[] p : prompts) {
            out.add(submit(engine, p, params).await());
        }
        return out;
    }

    /** All prompts at once. */
    static List<Output> together(Engine engine, List<int[]> prompts, SamplingParams params) {
        List<Collector> cs = new ArrayList<>();
        for (int[] p : prompts) {
            cs.add(submit(engine, p, params));
        }
        return cs.stream().map(Collector::await).toList();
    }

    /** Waits until the engine holds nothing (finishing is reported before stats are published). */
    static void awaitIdle(Engine engine) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((engine.inFlight() > 0 || engine.stats().usedBlocks() > 0 || engine.stats().running() > 0)
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
