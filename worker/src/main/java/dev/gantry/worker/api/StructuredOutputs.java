package dev.gantry.worker.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.model.grammar.GrammarSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads what a request constrains its output to: OpenAI's {@code response_format}
 * ({@code json_object}, {@code json_schema}) and vLLM's {@code guided_json}, {@code guided_regex},
 * {@code guided_choice} and {@code guided_grammar} (a llama.cpp GBNF grammar). At most one may be
 * given. The grammar itself is compiled later, off the event loop, where its own errors become
 * 400s naming the field too.
 */
final class StructuredOutputs {
    /** The field a request's grammar came from, for the 400 its compilation may give. */
    record Constraint(String field, GrammarSpec spec) {}

    private static final List<String> FIELDS = List.of("response_format", "guided_json", "guided_regex", "guided_choice",
            "guided_grammar");

    private StructuredOutputs() {}

    /** The request's constraint, or null when its output is free. */
    static Constraint parse(JsonNode body) {
        List<Constraint> found = new ArrayList<>();
        for (String field : FIELDS) {
            JsonNode v = RequestParser.field(body, field);
            if (v != null) {
                GrammarSpec spec = spec(field, v);
                if (spec != null) {
                    found.add(new Constraint(field, spec));
                }
            }
        }
        if (found.size() > 1) {
            throw ApiException.badRequest(found.get(1).field(), "Only one kind of structured output may be given, got "
                    + found.get(0).field() + " and " + found.get(1).field() + ".");
        }
        return found.isEmpty() ? null : found.getFirst();
    }

    private static GrammarSpec spec(String field, JsonNode v) {
        return switch (field) {
            case "response_format" -> responseFormat(v);
            case "guided_json" -> new GrammarSpec.JsonSchema(schema(field, v.isTextual() ? readJson(field, v.asText()) : v));
            case "guided_regex" -> new GrammarSpec.Regex(text(field, v));
            case "guided_grammar" -> new GrammarSpec.Gbnf(text(field, v));
            case "guided_choice" -> {
                if (!v.isArray() || v.isEmpty()) {
                    throw ApiException.badRequest(field, "guided_choice must be a non-empty array of strings, got "
                            + RequestParser.describe(v) + ".");
                }
                List<String> choices = new ArrayList<>();
                for (JsonNode c : v) {
                    if (!c.isTextual()) {
                        throw ApiException.badRequest(field, "guided_choice must be an array of strings, got an element "
                                + RequestParser.describe(c) + ".");
                    }
                    choices.add(c.asText());
                }
                yield new GrammarSpec.Choice(choices);
            }
            default -> throw new IllegalArgumentException(field);
        };
    }

    private static GrammarSpec responseFormat(JsonNode v) {
        String field = "response_format";
        if (!v.isObject()) {
            throw ApiException.badRequest(field, "response_format must be an object, got " + RequestParser.describe(v) + ".");
        }
        String type = RequestParser.string(v, "type");
        if (type == null) {
            throw ApiException.badRequest(field, "response_format.type is required (text, json_object or json_schema).");
        }
        return switch (type) {
            case "text" -> null;
            case "json_object" -> new GrammarSpec.AnyJsonObject();
            case "json_schema" -> {
                JsonNode js = RequestParser.field(v, "json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badRequest(field, "response_format.json_schema must be an object with a name and a"
                            + " schema, got " + (js == null ? "nothing" : RequestParser.describe(js)) + ".");
                }
                String name = RequestParser.string(js, "name");
                if (name == null || name.isEmpty()) {
                    throw ApiException.badRequest(field, "response_format.json_schema.name is required.");
                }
                RequestParser.bool(js, "strict"); // the output always follows the schema: strict is what this server does
                JsonNode schema = RequestParser.field(js, "schema");
                yield schema == null ? new GrammarSpec.AnyJsonObject() : new GrammarSpec.JsonSchema(schema(field, schema));
            }
            default -> throw ApiException.badRequest(field, "response_format.type must be text, json_object or json_schema,"
                    + " got \"" + type + "\".");
        };
    }

    private static JsonNode schema(String field, JsonNode schema) {
        if (!schema.isObject() && !schema.isBoolean()) {
            throw ApiException.badRequest(field, field + ": a JSON Schema must be an object, got "
                    + RequestParser.describe(schema) + ".");
        }
        return schema;
    }

    private static String text(String field, JsonNode v) {
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw ApiException.badRequest(field, field + " must be a non-empty string, got " + RequestParser.describe(v) + ".");
        }
        return v.asText();
    }

    private static JsonNode readJson(String field, String text) {
        try {
            return OpenAiDtos.JSON.readTree(text);
        } catch (JacksonException e) {
            throw ApiException.badRequest(field, field + " is a string that is not JSON: " + e.getOriginalMessage() + ".");
        }
    }
}
