package dev.gantry.worker.engine;

import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.sample.TokenLogprobs;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Submits requests to a real engine and collects what its listener receives. */
final class EngineHarness {

    /** Everything one request produced. */
    record Output(List<Integer> tokens, String text, RequestResult result, List<TokenLogprobs> logprobs,
            List<TokenLogprobs> promptLogprobs) {}

    /** A listener that records tokens and text and completes when the request ends. */
    static class Collector implements RequestListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final List<TokenLogprobs> logprobs = new ArrayList<>();
        volatile List<TokenLogprobs> promptLogprobs;
        final CompletableFuture<Output> done = new CompletableFuture<>();
        volatile int outputs;

        @Override
        public void onOutput(int[] newTokenIds, String textDelta, TokenLogprobs[] lps) {
            for (int t : newTokenIds) {
                tokens.add(t);
            }
            if (lps != null) {
                logprobs.addAll(List.of(lps));
            }
            text.append(textDelta);
            outputs++;
        }

        @Override
        public void onPromptLogprobs(List<TokenLogprobs> lps) {
            if (promptLogprobs != null || !tokens.isEmpty()) {
                throw new AssertionError("prompt log-probabilities must come once, before any output");
            }
            promptLogprobs = lps;
        }

        @Override
        public void onFinish(RequestResult result) {
            done.complete(new Output(List.copyOf(tokens), text.toString(), result, List.copyOf(logprobs), promptLogprobs));
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
        return submit(engine, new EngineRequest("test", prompt, params));
    }

    static Collector submit(Engine engine, EngineRequest request) {
        Collector c = new Collector();
        try {
            engine.submit(request, c);
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
