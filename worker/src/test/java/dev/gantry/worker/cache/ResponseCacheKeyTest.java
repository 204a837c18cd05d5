package dev.gantry.worker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResponseCacheKeyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String CHAT = """
            {"model":"smollm2","temperature":0,"max_tokens":32,"top_p":1,"stream":false,
             "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi ✓"}],
             "stop":["\\n\\n"],"response_format":{"type":"json_object","schema":{"b":1,"a":2}}}
            """;

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    private static String chatKey(String json) {
        return ResponseCacheKey.of("smollm2", "chat", parse(json));
    }

    private static String withField(String field, Object value) {
        ObjectNode request = (ObjectNode) parse(CHAT);
        request.set(field, JSON.valueToTree(value));
        return request.toString();
    }

    @Test
    void keyIsSha256Hex() {
        assertThat(chatKey(CHAT)).matches("[0-9a-f]{64}");
    }

    @Test
    void keyOrderAtAnyDepthAndWhitespaceDoNotMatter() {
        String reordered = """
                {  "stop" : [ "\\n\\n" ] ,
                   "response_format": {"schema": {"a": 2, "b": 1}, "type": "json_object"},
                   "messages": [ {"content": "Be brief.", "role": "system"},
                                 {"content": "Hi ✓", "role": "user"} ],
                   "stream": false, "top_p": 1, "max_tokens": 32, "temperature": 0, "model": "smollm2" }
                """;
        assertThat(chatKey(reordered)).isEqualTo(chatKey(CHAT));
    }

    @Test
    void numbersCompareByValueNotSpelling() {
        assertThat(chatKey(CHAT.replace("\"temperature\":0", "\"temperature\":0.0")))
                .isEqualTo(chatKey(CHAT));
        assertThat(chatKey(CHAT.replace("\"max_tokens\":32", "\"max_tokens\":32.0")))
                .isEqualTo(chatKey(CHAT.replace("\"max_tokens\":32", "\"max_tokens\":3.2e1")));
        assertThat(chatKey(CHAT.replace("\"max_tokens\":32", "\"max_tokens\":100")))
                .isEqualTo(chatKey(CHAT.replace("\"max_tokens\":32", "\"max_tokens\":100.0")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"temperature:0.2", "top_p:0.9", "max_tokens:33", "seed:7", "top_k:40",
            "presence_penalty:0.5", "frequency_penalty:0.1", "logprobs:true", "n:2", "stream:true",
            "min_p:0.05", "repeat_penalty:1.1"})
    void anySamplingParameterChangeChangesTheKey(String change) {
        String[] parts = change.split(":");
        Object value = parts[1].equals("true") ? Boolean.TRUE
                : parts[1].contains(".") ? (Object) Double.parseDouble(parts[1]) : (Object) Integer.parseInt(parts[1]);
        assertThat(chatKey(withField(parts[0], value))).as(change).isNotEqualTo(chatKey(CHAT));
    }

    @Test
    void contentModelAndEndpointChangeTheKey() {
        String base = chatKey(CHAT);
        assertThat(chatKey(CHAT.replace("Hi ✓", "Hi ✗"))).isNotEqualTo(base);
        assertThat(chatKey(CHAT.replace("\"stop\":[\"\\n\\n\"]", "\"stop\":[\"\\n\"]"))).isNotEqualTo(base);
        assertThat(chatKey(CHAT.replace("\"b\":1,\"a\":2", "\"b\":2,\"a\":1"))).isNotEqualTo(base);
        assertThat(ResponseCacheKey.of("other-model", "chat", parse(CHAT))).isNotEqualTo(base);
        assertThat(ResponseCacheKey.of("smollm2", "completions", parse(CHAT))).isNotEqualTo(base);
        // The order of messages is content, unlike the order of object keys.
        assertThat(chatKey(CHAT.replace(
                "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi ✓\"}",
                "{\"role\":\"user\",\"content\":\"Hi ✓\"},{\"role\":\"system\",\"content\":\"Be brief.\"}")))
                .isNotEqualTo(base);
    }

    @Test
    void typesAreNotConflated() {
        assertThat(chatKey(withField("stop", "1"))).isNotEqualTo(chatKey(withField("stop", 1)));
        assertThat(chatKey(withField("stop", null))).isNotEqualTo(chatKey(withField("stop", "null")));
        assertThat(chatKey(withField("logprobs", true))).isNotEqualTo(chatKey(withField("logprobs", "true")));
    }

    @Test
    void fieldsThatDoNotShapeTheBodyAreIgnoredOnlyAtTheTopLevel() {
        String base = chatKey(CHAT);
        assertThat(chatKey(withField("user", "alice"))).isEqualTo(base);
        assertThat(chatKey(withField("metadata", java.util.Map.of("trace", "t-1")))).isEqualTo(base);
        // A "user" key inside the request (here in a JSON schema) is content.
        assertThat(chatKey(CHAT.replace("\"b\":1,\"a\":2", "\"b\":1,\"a\":2,\"user\":3")))
                .isNotEqualTo(base);
    }

    @Test
    void hostileNumbersAreHashedWithoutExpandingThem() throws Exception {
        // With exact decimals a naive plain-string rendering would be a billion digits long.
        ObjectMapper exact = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        String huge = ResponseCacheKey.of("m", "chat", exact.readTree("{\"top_p\":1.0e999999999}"));
        String huger = ResponseCacheKey.of("m", "chat", exact.readTree("{\"top_p\":1.0e999999998}"));
        assertThat(huge).matches("[0-9a-f]{64}").isNotEqualTo(huger);
        assertThat(ResponseCacheKey.of("m", "chat", parse("{\"top_p\":1e999999999}"))).matches("[0-9a-f]{64}");
    }

    @Test
    void rejectsRequestsThatAreNotObjects() {
        assertThatThrownBy(() -> ResponseCacheKey.of("m", "chat", parse("[1,2]")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ARRAY");
        assertThatThrownBy(() -> ResponseCacheKey.of("m", "chat", null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void greedyOrSeededSingleChoiceRequestsAreCacheable() {
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0.0}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0.7,\"seed\":42}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"seed\":0}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0,\"n\":1}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0,\"n\":null}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"seed\":3,\"stream\":true}"))).isTrue();
    }

    @Test
    void severalChoicesAndLogprobsAreCacheableWhenDeterministic() {
        // Choice i draws from seed + i, and greedy choices are all the same: the response is fixed.
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0,\"n\":2}"))).isTrue();
        assertThat(ResponseCacheKey.cacheable(parse("{\"seed\":1,\"n\":3,\"logprobs\":true,\"top_logprobs\":5}"))).isTrue();
    }

    @Test
    void samplingWithoutASeedIsNotCacheable() {
        assertThat(ResponseCacheKey.cacheable(parse("{}"))).as("default temperature is random").isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0.7}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0.0001}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":\"0\"}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":null}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"seed\":null}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"seed\":\"42\"}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("{\"temperature\":0.5,\"n\":2,\"logprobs\":true}"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(parse("[]"))).isFalse();
        assertThat(ResponseCacheKey.cacheable(null)).isFalse();
    }
}
