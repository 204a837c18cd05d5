package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.prompt;
import static dev.gantry.worker.engine.EngineHarness.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.engine.EngineHarness.Collector;
import dev.gantry.worker.engine.EngineHarness.Output;
import dev.gantry.worker.model.grammar.CompiledGrammar;
import dev.gantry.worker.model.grammar.GrammarCompiler;
import dev.gantry.worker.model.grammar.GrammarSpec;
import dev.gantry.worker.model.sample.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Constrained decoding inside the batched engine, on stories260K: every output matches its
 * grammar whatever the seed, a complete match ends the sequence, and constrained sequences in a
 * batch change nothing for the free ones beside them.
 */
class EngineGrammarTest {
    static GrammarCompiler grammars;

    @BeforeAll
    static void load() {
        EngineTest.load();
        grammars = new GrammarCompiler(EngineTest.model.tokenizer());
    }

    @AfterAll
    static void close() {
        EngineTest.close();
    }

    @Test
    void outputsMatchTheirGrammarsAndFreeOnesAreUnchanged() {
        CompiledGrammar regex = grammars.compile(new GrammarSpec.Regex("[a-z]{3,6} (cat|dog)s?"));
        CompiledGrammar choice = grammars.compile(new GrammarSpec.Choice(List.of("Lily", "Tom", "a big bear")));
        List<int[]> prompts = EngineTest.prompts(8);
        SamplingParams random = SamplingParams.defaults().withTemperature(1.0).withMaxTokens(40);
        try (Engine e = EngineTest.engine(16, 256, 1024, true, null)) {
            List<Output> freeAlone = new ArrayList<>();
            for (int[] p : prompts) {
                freeAlone.add(submit(e, p, greedy(24)).await());
            }
            List<Collector> free = new ArrayList<>();
            List<Collector> constrained = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                free.add(submit(e, prompts.get(i), greedy(24)));
                CompiledGrammar g = i % 2 == 0 ? regex : choice;
                constrained.add(submit(e, new EngineRequest("g" + i, prompts.get(i), random.withSeed(100L + i))
                        .withGrammar(g)));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(free.get(i).await().tokens()).as("free request %d", i).isEqualTo(freeAlone.get(i).tokens());
                Output c = constrained.get(i).await();
                assertThat(c.result().finishReason()).as(c.text()).isEqualTo(FinishReason.STOP);
                if (i % 2 == 0) {
                    assertThat(c.text()).matches("[a-z]{3,6} (cat|dog)s?");
                } else {
                    assertThat(c.text()).isIn("Lily", "Tom", "a big bear");
                }
            }
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }

    @Test
    void aGrammarThatForbidsEndingFailsOnlyItsOwnRequest() {
        // The grammar matches only the empty text, so its one continuation is EOS, which
        // min_tokens keeps out: no token is allowed.
        CompiledGrammar one = grammars.compile(new GrammarSpec.Gbnf("root ::= \"\""));
        int[] p = prompt(EngineTest.model, "Once upon a time");
        try (Engine e = EngineTest.engine(4, 64, 256, true, null)) {
            Collector bad = submit(e, new EngineRequest("bad", p, greedy(10).withMinTokens(5)).withGrammar(one));
            Collector good = submit(e, p, greedy(10));
            Output b = bad.await();
            assertThat(b.result().finishReason()).isEqualTo(FinishReason.ERROR);
            assertThat(b.result().error()).contains("grammar allows no token");
            assertThat(good.await().result().finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }
}
