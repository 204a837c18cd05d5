package dev.gantry.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gantry.worker.testing.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** {@code gantry generate} end to end, as the launcher runs it. */
class GenerateCommandTest {
    static final int[] STORIES_GREEDY = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401,
        396, 267, 337, 410, 408, 419, 292, 411};

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = GantryCli.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void storiesGreedyJsonIsLlamaCppsOutput() throws Exception {
        Run r = run("generate", "--model", TestModels.stories260K().toString(), "--prompt", "", "--max-tokens", "25",
                "--temperature", "0", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(r.out());
        int[] ids = StreamSupport.stream(json.get("token_ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        assertThat(ids).containsExactly(STORIES_GREEDY);
        assertThat(json.get("text").asText()).startsWith(" Once upon a time, there was a little girl named Lily.");
        assertThat(json.get("prompt_token_ids").size()).isEqualTo(1);
        assertThat(json.get("finish_reason").asText()).isEqualTo("length");
        assertThat(json.get("usage").get("completion_tokens").asInt()).isEqualTo(25);
    }

    @Test
    void streamsTextWithoutJson() {
        Run r = run("generate", "--model", TestModels.stories260K().toString(), "--prompt", "Once upon a time", "--max-tokens", "20",
                "--temperature", "0", "--stop", "Lily");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("Lily").isNotBlank();
        assertThat(r.err()).contains("finish: stop");
    }

    @Test
    void sameSeedSameText() throws Exception {
        String[] args = {"generate", "--model", TestModels.stories260K().toString(), "--prompt", "Once", "--max-tokens", "30",
            "--temperature", "1.5", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "42", "--json"};
        JsonNode first = new ObjectMapper().readTree(run(args).out());
        JsonNode second = new ObjectMapper().readTree(run(args).out());
        assertThat(second.get("token_ids")).isEqualTo(first.get("token_ids"));
        assertThat(second.get("text")).isEqualTo(first.get("text"));
        args[args.length - 2] = "43";
        JsonNode other = new ObjectMapper().readTree(run(args).out());
        assertThat(other.get("token_ids")).as("another seed, another story").isNotEqualTo(first.get("token_ids"));
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Run missing = run("generate", "--model", "/nonexistent/model.gguf");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("error: model file not found").doesNotContain("\tat ");

        Run badTemp = run("generate", "--model", TestModels.stories260K().toString(), "--temperature", "-1");
        assertThat(badTemp.exit()).isEqualTo(2);
        assertThat(badTemp.err()).contains("error: temperature").doesNotContain("\tat ");

        Run badBackend = run("generate", "--model", TestModels.stories260K().toString(), "--backend", "tpu");
        assertThat(badBackend.exit()).isEqualTo(2);
        assertThat(badBackend.err()).contains("unknown backend 'tpu'");
    }

    @Test
    void helpListsOptions() {
        Run r = run("generate", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("--model", "--temperature", "--json", "--stop");
    }
}
