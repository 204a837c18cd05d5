package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;

/**
 * Sends 32 greedy requests with different prompts through OpenAI's Java client, first one at a
 * time, then all at once, and checks every request gets the same text both ways. The workers under
 * test run with the response cache off, so the second round really goes through the engine.
 */
final class ConcurrentRequests {
    static final int REQUESTS = 32;

    /** What one request returned: its text and finish reason. */
    record Answer(String text, String finishReason) {}

    static void checkBatchingChangesNothing(URI root, BiFunction<OpenAIClient, Integer, Answer> request) throws Exception {
        ApiTestSupport.awaitReady(root, Duration.ofMinutes(3));
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(root.resolve("/v1").toString()).apiKey("unused")
                .maxRetries(0).timeout(Duration.ofMinutes(5)).build();
        List<Answer> alone = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            alone.add(request.apply(client, i));
        }
        List<Future<Answer>> futures = new ArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        double[] mostRunning = {0};
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < REQUESTS; i++) {
                int n = i;
                futures.add(pool.submit(() -> request.apply(client, n)));
            }
            // Watches the engine through /metrics: the requests must really share steps.
            pool.submit(() -> {
                while (!done.get()) {
                    mostRunning[0] = Math.max(mostRunning[0], ResponseCacheIT.metric(root, "vllm:num_requests_running"));
                    Thread.sleep(5);
                }
                return null;
            });
            for (Future<Answer> f : futures) {
                f.get();
            }
            done.set(true);
        }
        assertThat(mostRunning[0]).as("most requests running at once (sampled every 5 ms)").isGreaterThanOrEqualTo(4);
        for (int i = 0; i < REQUESTS; i++) {
            Answer together = futures.get(i).get();
            assertThat(together).as("request %d, sent with 31 others vs alone", i).isEqualTo(alone.get(i));
            assertThat(together.text()).isNotBlank();
        }
        assertThat(alone.stream().map(Answer::text).distinct().count()).as("different prompts, different answers").isGreaterThan(16);
    }
}
