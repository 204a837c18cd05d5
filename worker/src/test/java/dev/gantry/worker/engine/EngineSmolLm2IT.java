package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.alone;
import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.together;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.engine.EngineHarness.Output;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** 32 concurrent greedy chat requests on SmolLM2-135M-Instruct each give what they give alone. */
class EngineSmolLm2IT {
    static final String[] TOPICS = {"the sea", "a cat", "the moon", "bread", "rain", "a train", "mountains", "music",
        "a library", "winter", "bees", "the desert", "a clock", "friendship", "coffee", "a river"};

    @Test
    void thirtyTwoConcurrentChatRequestsEqualTheirOutputAlone() {
        try (Model model = Model.load(TestModels.smolLm2()); Backend backend = new VectorBackend(2)) {
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                String q = (i < 16 ? "Write one sentence about " : "Give me three words about ") + TOPICS[i % 16] + ".";
                String text = model.chatTemplate().render(List.of(new ChatMessage("user", q)), true);
                prompts.add(model.tokenizer().encode(text, false, true));
            }
            EngineConfig config = new EngineConfig(32, 512, 16, 1024, 2048, 64, true);
            try (Engine e = new Engine(model, backend, config, null, "smollm2")) {
                e.start();
                List<Output> single = alone(e, prompts, greedy(24));
                List<Output> batched = together(e, prompts, greedy(24));
                for (int i = 0; i < prompts.size(); i++) {
                    assertThat(batched.get(i).tokens()).as("request %d", i).isEqualTo(single.get(i).tokens());
                    assertThat(batched.get(i).text()).isEqualTo(single.get(i).text()).isNotBlank();
                }
                awaitIdle(e);
                assertThat(e.stats().usedBlocks()).isZero();
            }
        }
    }
}
