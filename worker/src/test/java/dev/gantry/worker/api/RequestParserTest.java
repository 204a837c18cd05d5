package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.api.GenerationRequest.Prompt;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RequestParserTest {

    private static JsonNode json(String s) {
        return GenerationHandler.readJson(Buffer.buffer(s));
    }

    private static GenerationRequest completion(String body) {
        return RequestParser.parse(Endpoint.COMPLETIONS, json(body));
    }

    private static GenerationRequest chat(String body) {
        return RequestParser.parse(Endpoint.CHAT, json(body));
    }

    private static ApiException error(Endpoint endpoint, String body) {
        return catchThrowableOfType(ApiException.class, () -> RequestParser.parse(endpoint, json(body)));
    }

    private static void assertBad(Endpoint endpoint, String body, String param, String messagePart) {
        ApiException e = error(endpoint, body);
        assertThat(e).as(body).isNotNull();
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.type()).isEqualTo("invalid_request_error");
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(messagePart);
    }

    @Test
    void completionWithEveryParameter() {
        GenerationRequest r = completion("""
                {"model": "m", "prompt": "Once", "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 40,
                 "min_p": 0.05, "seed": 12345678901, "stop": ["a", "b"], "presence_penalty": 0.1,
                 "frequency_penalty": -0.2, "repetition_penalty": 1.1, "logit_bias": {"7": -100, "9": 2.5},
                 "ignore_eos": true, "min_tokens": 2, "stop_token_ids": [3, 4], "n": 1, "stream": true,
                 "stream_options": {"include_usage": true}, "user": "someone", "skip_special_tokens": false,
                 "safety_identifier": "u-1", "prompt_cache_key": "k", "suffix": null}""");
        assertThat(r.model()).isEqualTo("m");
        assertThat(r.prompt()).isEqualTo(new Prompt.Text("Once"));
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).isTrue();
        SamplingParams p = r.params();
        assertThat(p.maxTokens()).isEqualTo(5);
        assertThat(p.temperature()).isEqualTo(0.5);
        assertThat(p.topP()).isEqualTo(0.9);
        assertThat(p.topK()).isEqualTo(40);
        assertThat(p.minP()).isEqualTo(0.05);
        assertThat(p.seed()).isEqualTo(12345678901L);
        assertThat(p.stop()).containsExactly("a", "b");
        assertThat(p.presencePenalty()).isEqualTo(0.1);
        assertThat(p.frequencyPenalty()).isEqualTo(-0.2);
        assertThat(p.repetitionPenalty()).isEqualTo(1.1);
        assertThat(p.logitBias()).isEqualTo(Map.of(7, -100f, 9, 2.5f));
        assertThat(p.ignoreEos()).isTrue();
        assertThat(p.minTokens()).isEqualTo(2);
        assertThat(p.stopTokenIds()).containsExactly(3, 4);
        assertThat(p.skipSpecialTokens()).isFalse();
        assertThat(completion("{\"prompt\": \"x\"}").params().skipSpecialTokens()).isTrue();
    }

    @Test
    void noFieldIsIgnored() {
        String hi = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        // Asked for and not implemented: refused, naming the field.
        assertBad(Endpoint.CHAT, "{" + hi + ", \"response_format\": {\"type\": \"xml\"}}", "response_format",
                "response_format.type must be text, json_object or json_schema");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"response_format\": {\"type\": \"json_schema\"}}", "response_format",
                "response_format.json_schema must be an object");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"guided_json\": {}, \"guided_regex\": \"a\"}", "guided_regex",
                "Only one kind of structured output");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"guided_choice\": []}", "guided_choice", "non-empty array of strings");
        assertThat(chat("{" + hi + ", \"response_format\": {\"type\": \"json_object\"}}").constraint().spec())
                .isEqualTo(new dev.gantry.worker.model.grammar.GrammarSpec.AnyJsonObject());
        assertThat(chat("{" + hi + ", \"response_format\": {\"type\": \"text\"}}").constraint()).isNull();
        assertBad(Endpoint.CHAT, "{" + hi + ", \"tools\": [], \"tool_choice\": \"auto\"}", "tool_choice", "tool_choice");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"tools\": []}", "tools",
                "tools is not supported by this server on /v1/completions");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"max_completion_tokens\": 5}", "max_completion_tokens",
                "not supported by this server on /v1/completions");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"top_logprobs\": 3}", "top_logprobs", "top_logprobs requires logprobs to be true");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"echo\": true}", "echo", "echo is not supported");
        // Fields of no API: refused as OpenAI refuses them.
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"temprature\": 0}", "temprature",
                "Unrecognized request argument supplied: temprature");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stream_options\": {\"continuous_usage_stats\": true}}",
                "stream_options", "stream_options.continuous_usage_stats is not supported");
        // Fields that ask for nothing more pass with the value that asks for nothing.
        assertBad(Endpoint.CHAT, "{" + hi + ", \"store\": true}", "store", "store must be false");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"metadata\": {\"a\": \"b\"}}", "metadata", "stores none");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"modalities\": [\"text\", \"audio\"]}", "modalities", "text only");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"service_tier\": \"flex\"}", "service_tier", "one tier");
        assertBad(Endpoint.CHAT, "{" + hi + ", \"n\": \"1\"}", "n", "n must be");
        assertThat(chat("{" + hi + ", \"store\": false, \"metadata\": {}, \"modalities\": [\"text\"],"
                + " \"service_tier\": \"auto\", \"parallel_tool_calls\": true, \"logprobs\": false, \"top_logprobs\": 0,"
                + " \"n\": 1, \"user\": \"u\"}")).isNotNull();
        assertBad(Endpoint.CHAT, "{" + hi + ", \"user\": 5}", "user", "user must be a string");
        // And in a message.
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"audio\": {}}]}",
                "messages", "messages[0].audio is not supported by this server yet");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"function\", \"content\": \"42\", \"name\": \"f\"}]}",
                "messages", "messages[0] has role 'function'");
    }

    @Test
    void toolCallsAndToolResultsInMessages() {
        GenerationRequest r = chat("""
                {"messages": [{"role": "user", "content": "Weather?", "name": "bob"},
                              {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"n\\": [1, 2.5]}"}},
                               {"id": "call_2", "function": {"name": "f", "arguments": "not json"}}]},
                              {"role": "tool", "tool_call_id": "call_1", "content": "22 degrees"},
                              {"role": "assistant", "content": "Warm.", "tool_calls": []}]}""");
        List<ChatMessage> messages = ((Prompt.Chat) r.prompt()).messages();
        assertThat(messages.get(0)).isEqualTo(new ChatMessage("user", "Weather?", "bob", List.of(), null));
        ChatMessage call = messages.get(1);
        assertThat(call.content()).isEmpty(); // as vLLM hands it to templates
        assertThat(call.toolCalls()).containsExactly(
                new ChatMessage.ToolCall("call_1", "get_weather", "{\"city\": \"Paris\", \"n\": [1, 2.5]}",
                        Map.of("city", "Paris", "n", List.of(1, 2.5))),
                new ChatMessage.ToolCall("call_2", "f", "not json", "not json"));
        assertThat(messages.get(2)).isEqualTo(new ChatMessage("tool", "22 degrees", null, List.of(), "call_1"));
        assertThat(messages.get(3)).isEqualTo(new ChatMessage("assistant", "Warm."));
        assertThat(r.tools()).isNull();

        String user = "{\"role\": \"user\", \"content\": \"hi\"}, ";
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"tool\", \"content\": \"42\"}]}",
                "messages", "Missing required parameter: 'messages[1].tool_call_id'.");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"tool\", \"content\": \"42\", \"tool_call_id\": 3}]}",
                "messages", "messages[1].tool_call_id must be a string");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"tool_call_id\": \"c\"}]}",
                "messages", "messages[0].tool_call_id is only allowed on tool messages");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"tool_calls\": []}]}",
                "messages", "messages[0].tool_calls is only allowed on assistant messages");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"assistant\", \"tool_calls\": {}}]}",
                "messages", "messages[1].tool_calls must be an array");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\"}]}]}",
                "messages", "messages[1].tool_calls[0].function must be an object");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"assistant\", \"tool_calls\": [{\"function\":"
                + " {\"name\": \"f\", \"arguments\": \"{}\"}}]}]}", "messages", "messages[1].tool_calls[0].id must be a string");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\","
                + " \"type\": \"custom\", \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}]}", "messages",
                "messages[1].tool_calls[0].type must be 'function'");
        assertBad(Endpoint.CHAT, "{\"messages\": [" + user + "{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\","
                + " \"function\": {\"name\": \"f\", \"arguments\": {}}}]}]}", "messages",
                "messages[1].tool_calls[0].function.arguments must be a string");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"name\": 1}]}",
                "messages", "messages[0].name must be a string");
    }

    @Test
    void defaultsFollowOpenAi() {
        GenerationRequest c = completion("{\"prompt\": \"x\"}");
        assertThat(c.model()).isNull();
        assertThat(c.stream()).isFalse();
        assertThat(c.params().maxTokens()).isEqualTo(16);
        assertThat(c.params().temperature()).isEqualTo(1.0);
        GenerationRequest ch = chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": null}");
        assertThat(ch.params().maxTokens()).isNull(); // chat: up to the context
        assertThat(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 3,"
                + " \"max_completion_tokens\": 9}").params().maxTokens()).isEqualTo(9);
    }

    @Test
    void promptShapes() {
        assertThat(completion("{\"prompt\": [1, 2, 3]}").prompt()).isInstanceOfSatisfying(Prompt.Tokens.class,
                t -> assertThat(t.ids()).containsExactly(1, 2, 3));
        assertThat(completion("{\"prompt\": [[5, 6]]}").prompt()).isInstanceOfSatisfying(Prompt.Tokens.class,
                t -> assertThat(t.ids()).containsExactly(5, 6));
        assertThat(completion("{\"prompt\": [\"one\"]}").prompt()).isEqualTo(new Prompt.Text("one"));
        assertThat(completion("{\"prompt\": \"\"}").prompt()).isEqualTo(new Prompt.Text(""));

        assertBad(Endpoint.COMPLETIONS, "{}", "prompt", "prompt is required");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": 5}", "prompt", "must be a string or an array of token ids, got a number (5)");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": []}", "prompt", "must not be an empty array");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": [\"a\", \"b\"]}", "prompt", "holds 2 prompts");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": [1, \"b\"]}", "prompt", "at index 1");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": [1, -3]}", "prompt", "integers >= 0");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": [[]]}", "prompt", "empty array of token ids");
    }

    @Test
    void chatMessages() {
        GenerationRequest r = chat("""
                {"messages": [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                              {"role": "assistant", "content": null}]}""");
        assertThat(r.prompt()).isEqualTo(new Prompt.Chat(List.of(new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "a\nb"), new ChatMessage("assistant", ""))));

        assertBad(Endpoint.CHAT, "{}", "messages", "messages is required");
        assertBad(Endpoint.CHAT, "{\"messages\": []}", "messages", "non-empty array");
        assertBad(Endpoint.CHAT, "{\"messages\": [\"hi\"]}", "messages", "messages[0] must be an object");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"content\": \"hi\"}]}", "messages", "messages[0].role must be a non-empty string");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", "messages", "messages[0].content must be a string");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\","
                + " \"image_url\": {\"url\": \"x\"}}]}]}", "messages", "messages[0].content[0] has type 'image_url': only text parts");
    }

    @Test
    void wrongTypesNameTheParameter() {
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"max_tokens\": \"5\"}", "max_tokens", "max_tokens must be an integer, got a string (\"5\")");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"max_tokens\": 1.5}", "max_tokens", "must be an integer");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"temperature\": \"hot\"}", "temperature", "temperature must be a number");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stream\": \"yes\"}", "stream", "stream must be a boolean");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stop\": 5}", "stop", "stop must be a string or an array of strings");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stop\": [\"a\", 1]}", "stop", "at index 1");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"logit_bias\": {\"abc\": 1}}", "logit_bias", "keys must be token ids");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"logit_bias\": {\"1\": \"x\"}}", "logit_bias", "values must be numbers");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stop_token_ids\": [1.5]}", "stop_token_ids", "array of integers");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stream_options\": true}", "stream_options", "must be an object");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"stream_options\": {\"include_usage\": 1}}",
                "stream_options.include_usage", "must be a boolean");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"model\": 7}", "model", "model must be a string");
        assertBad(Endpoint.COMPLETIONS, "[1, 2]", null, "must be a JSON object, got an array");
        // 5.0 is an integer to JavaScript clients.
        assertThat(completion("{\"prompt\": \"x\", \"max_tokens\": 5.0}").params().maxTokens()).isEqualTo(5);
    }

    @Test
    void badValuesNameTheParameter() {
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"max_tokens\": 0}", "max_tokens", "max_tokens must be at least 1, got 0");
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": -1}",
                "max_completion_tokens", "must be at least 1");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"temperature\": 3}", "temperature", "temperature must be in [0, 2]");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"top_p\": 0}", "top_p", "top_p must be in (0, 1]");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"min_tokens\": 20}", "min_tokens", "must be at most max_tokens (16)");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"logit_bias\": {\"1\": 200}}", "logit_bias", "[-100, 100]");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"n\": 0}", "n", "n must be between 1 and 64, got 0");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"n\": 3, \"best_of\": 2}", "best_of",
                "best_of must be greater than or equal to n");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"best_of\": 3, \"stream\": true}", "best_of",
                "best_of cannot be used with stream");
        GenerationRequest three = completion("{\"prompt\": \"x\", \"n\": 2, \"best_of\": 3}");
        assertThat(three.n()).isEqualTo(2);
        assertThat(three.bestOf()).isEqualTo(3);
        assertThat(completion("{\"prompt\": \"x\", \"echo\": true}").echo()).isTrue();
        assertThat(completion("{\"prompt\": \"x\"}").echo()).isFalse();
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"echo\": 1}", "echo", "echo must be a boolean");
        assertThat(completion("{\"prompt\": \"x\", \"logprobs\": 2}").logprobs()).isEqualTo(2);
        // logprobs: 0 asks for the chosen tokens' log-probabilities (vLLM).
        assertThat(completion("{\"prompt\": \"x\", \"logprobs\": 0}").logprobs()).isZero();
        assertThat(completion("{\"prompt\": \"x\"}").logprobs()).isEqualTo(-1);
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"logprobs\": 21}", "logprobs", "between 0 and 20");
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"logprobs\": true}", "logprobs", "must be an integer");
        assertThat(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true}").logprobs()).isZero();
        assertThat(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true, \"top_logprobs\": 4}")
                .logprobs()).isEqualTo(4);
        assertBad(Endpoint.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true, \"top_logprobs\": 21}",
                "top_logprobs", "between 0 and 20");
        // max_tokens 0: the prompt alone, only with echo.
        assertThat(completion("{\"prompt\": \"x\", \"echo\": true, \"max_tokens\": 0}").params().maxTokens()).isZero();
        assertBad(Endpoint.COMPLETIONS, "{\"prompt\": \"x\", \"max_tokens\": 0}", "max_tokens", "0 only with echo");
        // Explicitly off is fine.
        assertThat(completion("{\"prompt\": \"x\", \"logprobs\": null, \"echo\": false, \"n\": 1, \"best_of\": 1}")).isNotNull();
    }

    @Test
    void contextLengthInVllmsWords() {
        GenerationRequest r = completion("{\"prompt\": \"x\", \"max_tokens\": 100}");
        ApiException e = catchThrowableOfType(ApiException.class, () -> GenerationHandler.checkContextLength(r, 30, 120));
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.code()).isEqualTo("context_length_exceeded");
        assertThat(e.getMessage()).isEqualTo("This model's maximum context length is 120 tokens. However, you requested"
                + " 130 tokens (30 in the prompt, 100 in the completion). Please reduce the length of the prompt or completion.");
        GenerationRequest c = chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(catchThrowableOfType(ApiException.class, () -> GenerationHandler.checkContextLength(c, 120, 120))
                .getMessage()).startsWith("This model's maximum context length is 120 tokens. However, you requested"
                        + " 120 tokens in the messages");
        GenerationHandler.checkContextLength(r, 20, 120); // fits exactly
        GenerationHandler.checkContextLength(c, 119, 120);
    }

    @Test
    void badJson() {
        ApiException e = catchThrowableOfType(ApiException.class, () -> json("{\"prompt\": "));
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.getMessage()).startsWith("The request body is not valid JSON");
        assertThat(catchThrowableOfType(ApiException.class, () -> json("{} x")).getMessage()).contains("not valid JSON");
        assertThat(catchThrowableOfType(ApiException.class, () -> json("")).getMessage()).contains("empty");
    }
}
