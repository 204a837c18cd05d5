package dev.gantry.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.engine.Generator;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.testing.TestModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A real instruct model (SmolLM2-135M-Instruct, Q4_1 and Q8_0 tensors) answers through its chat template. */
class SmolLm2ChatTest {

    @Test
    void knowsTheCapitalOfFrance() {
        try (Model model = Model.load(TestModels.smolLm2()); Backend backend = new VectorBackend(2);
                Generator g = new Generator(model, backend, 1024, 16, 128)) {
            String prompt = model.chatTemplate().render(List.of(new ChatMessage("user", "What is the capital of France?")), true);
            assertThat(prompt).startsWith("<|im_start|>system\n").endsWith("<|im_start|>assistant\n");
            int[] ids = model.tokenizer().encode(prompt, false, true);
            StringBuilder streamed = new StringBuilder();
            Generator.Result r = g.generate(ids, SamplingParams.defaults().withTemperature(0).withMaxTokens(40), streamed::append);
            assertThat(r.text()).contains("Paris");
            assertThat(streamed.toString()).isEqualTo(r.text());
            assertThat(r.finishReason()).isEqualTo("stop"); // ends with <|im_end|>, which is not in the text
            assertThat(r.text()).doesNotContain("<|im_end|>");
        }
    }
}
