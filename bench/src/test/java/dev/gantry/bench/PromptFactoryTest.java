package dev.gantry.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PromptFactoryTest {

    @Test
    void samePromptForTheSameSeedAndRequestNumber() {
        assertThat(new PromptFactory(42).prompt(7, 100)).isEqualTo(new PromptFactory(42).prompt(7, 100));
        assertThat(new PromptFactory(42).prompt(7, 100)).isNotEqualTo(new PromptFactory(43).prompt(7, 100));
    }

    @Test
    void hasExactlyTheRequestedNumberOfWords() {
        PromptFactory prompts = new PromptFactory(1);
        assertThat(prompts.prompt(0, 1).split(" ")).hasSize(1);
        assertThat(prompts.prompt(3, 128).split(" ")).hasSize(128);
        assertThat(prompts.prompt(12345, 2000).split(" ")).hasSize(2000);
    }

    @Test
    void everyPromptStartsWithItsOwnNumberSoNoTwoShareAPrefix() {
        PromptFactory prompts = new PromptFactory(1);
        Set<String> firstWords = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String prompt = prompts.prompt(i, 16);
            assertThat(prompt).startsWith(i + ":");
            firstWords.add(prompt.split(" ")[0]);
        }
        assertThat(firstWords).hasSize(1000);
    }

    @Test
    void wordsAreDrawnFromTheWholeList() {
        String prompt = new PromptFactory(5).prompt(0, 20_000);
        Set<String> words = new HashSet<>(Arrays.asList(prompt.substring(prompt.indexOf(' ') + 1).split(" ")));
        assertThat(words).hasSize(PromptFactory.vocabularySize());
    }

    @Test
    void rejectsAnEmptyPrompt() {
        assertThatThrownBy(() -> new PromptFactory(1).prompt(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
