package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.api.OpenAiDtos.ChatCompletionChunk;
import dev.gantry.worker.api.OpenAiDtos.ChatChunkChoice;
import dev.gantry.worker.api.OpenAiDtos.Completion;
import dev.gantry.worker.api.OpenAiDtos.CompletionChoice;
import dev.gantry.worker.api.OpenAiDtos.Delta;
import dev.gantry.worker.api.OpenAiDtos.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire shapes, byte for byte where OpenAI's clients care: snake_case, nulls OpenAI sends, nothing it omits. */
class OpenAiDtosTest {

    @Test
    void completionAsOpenAiWritesIt() {
        String json = OpenAiDtos.write(new Completion("cmpl-1", "text_completion", 1700000000L, "m",
                List.of(new CompletionChoice(0, "hi", null, "length")), Usage.of(3, 2)));
        assertThat(json).isEqualTo("{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"text\":\"hi\",\"logprobs\":null,\"finish_reason\":\"length\"}],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}");
    }

    @Test
    void chunksLeaveOutWhatIsAbsent() {
        String first = OpenAiDtos.write(new ChatCompletionChunk("chatcmpl-1", "chat.completion.chunk", 1, "m",
                List.of(new ChatChunkChoice(0, new Delta("assistant", ""), null, null)), null));
        assertThat(first).isEqualTo("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                + "\"finish_reason\":null}]}");
        String last = OpenAiDtos.write(new ChatCompletionChunk("chatcmpl-1", "chat.completion.chunk", 1, "m",
                List.of(new ChatChunkChoice(0, new Delta(null, null), null, "stop")), null));
        assertThat(last).contains("\"delta\":{}", "\"finish_reason\":\"stop\"");
    }

    @Test
    void errorBody() {
        assertThat(OpenAiDtos.write(ApiException.modelNotFound("gpt-4").toBody())).isEqualTo(
                "{\"error\":{\"message\":\"The model `gpt-4` does not exist.\",\"type\":\"invalid_request_error\","
                        + "\"param\":\"model\",\"code\":\"model_not_found\"}}");
    }
}
