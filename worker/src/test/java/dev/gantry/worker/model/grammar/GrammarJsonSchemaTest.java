package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.JsonTexts.parse;
import static dev.gantry.worker.model.grammar.JsonTexts.withRandomWhitespace;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** JSON Schema conversion: valid documents accepted, invalid ones rejected, unsupported keywords refused. */
class GrammarJsonSchemaTest {
    static final String PERSON = """
            {"type": "object", "title": "Person", "additionalProperties": false,
             "properties": {
               "name": {"type": "string", "maxLength": 10, "description": "short"},
               "age": {"type": "integer", "minimum": 0, "maximum": 150},
               "color": {"enum": ["red", "green", "blue"]},
               "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
               "nick": {"type": ["string", "null"]}},
             "required": ["name", "age", "color"]}""";

    private static StackStore recognizer(String schema) {
        return new StackStore(JsonSchemaGrammar.of(parse(schema)));
    }

    @Test
    void randomValidDocumentsAreAccepted() {
        StackStore person = recognizer(PERSON);
        Random random = new Random(1);
        String[] colors = {"red", "green", "blue"};
        for (int i = 0; i < 300; i++) {
            ObjectNode doc = JsonTexts.MAPPER.createObjectNode();
            doc.put("name", randomText(random, random.nextInt(11)));
            doc.put("age", random.nextInt(151));
            doc.put("color", colors[random.nextInt(3)]);
            if (random.nextBoolean()) {
                ArrayNode tags = doc.putArray("tags");
                for (int t = random.nextInt(4); t > 0; t--) {
                    tags.add(randomText(random, random.nextInt(5)));
                }
            }
            if (random.nextBoolean()) {
                if (random.nextBoolean()) {
                    doc.putNull("nick");
                } else {
                    doc.put("nick", randomText(random, 3));
                }
            }
            String text = withRandomWhitespace(doc, random);
            assertThat(person.matches(text)).as(text).isTrue();
        }
    }

    static String randomText(Random random, int length) {
        String alphabet = "abc XYZ\"\\/\n\té€😀";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, random.nextInt(
                    alphabet.codePointCount(0, alphabet.length())))));
        }
        return sb.toString();
    }

    @Test
    void invalidDocumentsAreRejected() {
        StackStore person = recognizer(PERSON);
        assertThat(person.matches("{\"name\": \"Ann\", \"age\": 30, \"color\": \"red\"}")).isTrue();
        assertThat(person.matches("{\"name\":\"\\u00e9\\n\",\"age\":0,\"color\":\"blue\",\"tags\":[],\"nick\":null}"))
                .isTrue();
        for (String bad : List.of(
                "{\"age\": 30, \"color\": \"red\"}", // missing required
                "{\"name\": \"Ann\", \"age\": \"30\", \"color\": \"red\"}", // wrong type
                "{\"name\": \"Ann\", \"age\": 30, \"color\": \"red\", \"x\": 1}", // extra property
                "{\"name\": \"Ann\", \"age\": 30, \"color\": \"pink\"}", // enum miss
                "{\"name\": \"Annabelle-Marie\", \"age\": 30, \"color\": \"red\"}", // too long
                "{\"name\": \"Ann\", \"age\": 151, \"color\": \"red\"}", // above maximum
                "{\"name\": \"Ann\", \"age\": -1, \"color\": \"red\"}", // below minimum
                "{\"name\": \"Ann\", \"age\": 30, \"color\": \"red\", \"tags\": [\"a\",\"b\",\"c\",\"d\"]}",
                "{\"name\": \"A\u0001\", \"age\": 30, \"color\": \"red\"}", // raw control character
                "{\"name\": \"\\q\", \"age\": 30, \"color\": \"red\"}", // invalid escape
                "{\"name\": \"Ann\", \"age\": 30, \"color\": \"red\"} ", // trailing whitespace
                "{\"name\": \"Ann\",  \"age\": 30, \"color\": \"red\"}", // two spaces
                "{\"name\": \"Ann\", \"age\": 030, \"color\": \"red\"}")) { // leading zero
            assertThat(person.matches(bad)).as(bad).isFalse();
        }
    }

    @Test
    void integerRangesAreExact() {
        Random random = new Random(3);
        long[][] ranges = {{0, 0}, {-5, 5}, {7, 1234}, {-1000, -17}, {99, 100}, {-3, 987654}};
        for (long[] r : ranges) {
            StackStore s = recognizer("{\"type\": \"integer\", \"minimum\": " + r[0] + ", \"maximum\": " + r[1] + "}");
            for (int i = 0; i < 400; i++) {
                long v = r[0] - 20 + (long) (random.nextDouble() * (r[1] - r[0] + 40));
                assertThat(s.matches(Long.toString(v))).as("%d in %d..%d", v, r[0], r[1])
                        .isEqualTo(v >= r[0] && v <= r[1]);
            }
        }
        StackStore atLeast = recognizer("{\"type\": \"integer\", \"exclusiveMinimum\": 41}");
        assertThat(atLeast.matches("42")).isTrue();
        assertThat(atLeast.matches("41")).isFalse();
        assertThat(atLeast.matches("123456789012")).isTrue();
        assertThat(atLeast.matches("-50")).isFalse();
        StackStore between = recognizer("{\"type\": \"integer\", \"exclusiveMinimum\": 2.5, \"exclusiveMaximum\": 5}");
        assertThat(List.of("2", "3", "4", "5").stream().map(between::matches)).containsExactly(false, true, true, false);
        StackStore atMost = recognizer("{\"type\": \"integer\", \"maximum\": 2.5}");
        assertThat(atMost.matches("2")).isTrue();
        assertThat(atMost.matches("3")).isFalse();
        assertThat(atMost.matches("-123456789")).isTrue();
    }

    @Test
    void numberRangesWithIntegralBoundsAreExact() {
        Random random = new Random(9);
        long[][] ranges = {{0, 1}, {-3, 2}, {-7, -2}, {5, 120}};
        for (long[] r : ranges) {
            StackStore s = recognizer("{\"type\": \"number\", \"minimum\": " + r[0] + ", \"maximum\": " + r[1] + "}");
            for (int i = 0; i < 400; i++) {
                double v = r[0] - 3 + random.nextDouble() * (r[1] - r[0] + 6);
                String text = random.nextInt(4) == 0 ? Long.toString(Math.round(v))
                        : java.math.BigDecimal.valueOf(v).setScale(random.nextInt(4), java.math.RoundingMode.HALF_UP)
                                .toPlainString();
                double parsed = Double.parseDouble(text);
                assertThat(s.matches(text)).as("%s in %d..%d", text, r[0], r[1])
                        .isEqualTo(parsed >= r[0] && parsed <= r[1]);
            }
            assertThat(s.matches(r[1] + ".000")).isTrue();
            assertThat(s.matches(r[1] + ".001")).isEqualTo(r[1] < 0);
        }
        StackStore positive = recognizer("{\"type\": \"number\", \"minimum\": 0}");
        assertThat(positive.matches("12345.678")).isTrue();
        assertThat(positive.matches("-0.5")).isFalse();
        assertThat(positive.matches("1e5")).isFalse(); // exponents are not generated under bounds
    }

    @Test
    void refsCombinatorsArraysAndFormats() {
        StackStore tree = recognizer("""
                {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
                  "properties": {"value": {"type": "integer"}, "children": {"type": "array",
                  "items": {"$ref": "#/$defs/node"}}}, "required": ["value"]}}}""");
        assertThat(tree.matches("{\"value\": 1, \"children\": [{\"value\": 2}, {\"value\": 3, \"children\": []}]}"))
                .isTrue();
        assertThat(tree.matches("{\"children\": []}")).isFalse();

        StackStore any = recognizer("{\"anyOf\": [{\"type\": \"integer\"}, {\"const\": \"none\"}, "
                + "{\"type\": \"array\", \"prefixItems\": [{\"type\": \"boolean\"}], \"items\": false, \"minItems\": 1}]}");
        assertThat(any.matches("17")).isTrue();
        assertThat(any.matches("\"none\"")).isTrue();
        assertThat(any.matches("[true]")).isTrue();
        assertThat(any.matches("[]")).isFalse();
        assertThat(any.matches("[true, false]")).isFalse();
        assertThat(any.matches("\"some\"")).isFalse();

        StackStore counted = recognizer("{\"type\": \"array\", \"items\": {\"type\": \"null\"}, \"minItems\": 2, "
                + "\"maxItems\": 3}");
        assertThat(counted.matches("[null]")).isFalse();
        assertThat(counted.matches("[null, null]")).isTrue();
        assertThat(counted.matches("[null,null,null]")).isTrue();
        assertThat(counted.matches("[null,null,null,null]")).isFalse();

        StackStore pattern = recognizer("{\"type\": \"string\", \"pattern\": \"^[A-Z]{2}-\\\\d+$\"}");
        assertThat(pattern.matches("\"AB-12\"")).isTrue();
        assertThat(pattern.matches("\"AB-\"")).isFalse();
        StackStore quote = recognizer("{\"type\": \"string\", \"pattern\": \"^a\\\"\\t[^a]$\"}");
        assertThat(quote.matches("\"a\\\"\\t\\n\"")).isTrue(); // JSON "a\"\t\n": a, quote, tab, newline
        assertThat(quote.matches("\"a\\\"\\t\\u0001\"")).isTrue();
        assertThat(quote.matches("\"a\\\"\\ta\"")).isFalse();
        StackStore search = recognizer("{\"type\": \"string\", \"pattern\": \"ab\"}");
        assertThat(search.matches("\"xxabyy\"")).isTrue();
        assertThat(search.matches("\"a\\\"b\"")).isFalse();

        StackStore uuid = recognizer("{\"type\": \"string\", \"format\": \"uuid\"}");
        assertThat(uuid.matches("\"123e4567-e89b-12d3-a456-426614174000\"")).isTrue();
        assertThat(uuid.matches("\"123e4567-e89b-12d3-a456-42661417400\"")).isFalse();
        StackStore dateTime = recognizer("{\"type\": \"string\", \"format\": \"date-time\"}");
        assertThat(dateTime.matches("\"2026-12-06T01:38:27.5Z\"")).isTrue();
        assertThat(dateTime.matches("\"2026-04-31T01:38:27Z\"")).isFalse();
        assertThat(dateTime.matches("\"2026-12-06T24:00:00Z\"")).isFalse();

        StackStore optional = recognizer("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}, "
                + "\"b\": {\"type\": \"boolean\"}, \"c\": {\"type\": \"null\"}}, \"required\": [\"b\"]}");
        assertThat(optional.matches("{\"b\": true}")).isTrue();
        assertThat(optional.matches("{\"a\": 1, \"b\": true, \"c\": null}")).isTrue();
        assertThat(optional.matches("{\"b\": true, \"c\": null}")).isTrue();
        assertThat(optional.matches("{}")).isFalse();
        assertThat(optional.matches("{\"a\": 1, \"c\": null}")).isFalse();
        assertThat(optional.matches("{\"b\": true,}")).isFalse();

        StackStore empty = recognizer("{\"type\": \"object\", \"properties\": {\"a\": {}}}");
        assertThat(empty.matches("{}")).isTrue();
        assertThat(empty.matches("{\"a\": [1, {\"x\": \"y\"}]}")).isTrue();
    }

    @Test
    void anyJsonObject() {
        StackStore object = new StackStore(JsonGrammar.anyObject());
        Random random = new Random(5);
        for (String json : List.of("{}", "{\"a\": [1, 2.5e-3, -0, true, null, {\"b\": \"c\"}]}", "{\"x\":{\"y\":{}}}")) {
            assertThat(object.matches(withRandomWhitespace(parse(json), random))).as(json).isTrue();
        }
        assertThat(object.matches("{\n" + " ".repeat(20) + "\"a\": 1\n\t}")).isTrue();
        assertThat(object.matches("{\n" + " ".repeat(21) + "\"a\": 1}")).isFalse(); // whitespace is bounded
        assertThat(object.matches("{ \n\"a\": 1}")).isFalse();
        for (String bad : List.of("[]", "\"a\"", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": 1.}", "{a: 1}", " {}")) {
            assertThat(object.matches(bad)).as(bad).isFalse();
        }
    }

    @Test
    void unsupportedKeywordsAreRefusedWithKeywordAndPath() {
        assertRefused("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"object\", \"patternProperties\": {}}}}",
                "unsupported JSON Schema keyword \"patternProperties\" at #/properties/a");
        assertRefused("{\"type\": \"integer\", \"multipleOf\": 3}", "\"multipleOf\" at #");
        assertRefused("{\"type\": \"object\", \"properties\": {\"e\": {\"type\": \"string\", \"format\": \"email\"}}}",
                "format \"email\"", "at #/properties/e/format");
        assertRefused("{\"type\": \"number\", \"minimum\": 0.5}", "fractional \"minimum\" on type \"number\"",
                "at #/minimum");
        assertRefused("{\"type\": \"number\", \"exclusiveMaximum\": 1}", "\"exclusiveMaximum\" on type \"number\"",
                "at #/exclusiveMaximum");
        assertRefused("{\"type\": \"array\", \"uniqueItems\": true}", "uniqueItems", "at #/uniqueItems");
        assertRefused("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"additionalProperties\": true}",
                "additionalProperties", "at #/additionalProperties");
        assertRefused("{\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 1}]}", "allOf", "at #/allOf");
        assertRefused("{\"$ref\": \"https://example.com/s.json\"}", "$ref", "at #/$ref");
        assertRefused("{\"type\": \"object\", \"properties\": {\"a/b\": {\"not\": {}}}}", "\"not\" at #/properties/a~1b");
        assertRefused("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"required\": [\"b\"]}", "\"b\"",
                "at #/required");
        assertRefused("{\"type\": \"string\", \"pattern\": \"(?=x)\"}", "pattern", "at #/pattern");
        assertRefused("{\"type\": \"integer\", \"enum\": [1, 500], \"maximum\": 100}", "\"maximum\" beside \"enum\" "
                + "is not supported at #");
        assertRefused("{\"type\": \"date\"}", "type \"date\"", "at #/type");
        assertRefused("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}", "cannot match any text");
    }

    private static void assertRefused(String schema, String... parts) {
        assertThatThrownBy(() -> recognizer(schema)).as(schema).isInstanceOf(GrammarException.class)
                .satisfies(e -> {
                    for (String part : parts) {
                        assertThat(e.getMessage()).contains(part);
                    }
                });
    }
}
