package dev.gantry.worker.model.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/**
 * What a request constrains its output to; the key of {@link GrammarCompiler}'s cache, so every
 * variant compares by value.
 */
public sealed interface GrammarSpec {
    /**
     * A JSON Schema (guided_json, response_format json_schema). Compared by the schema's text, not
     * by Jackson's equality, because property order matters here (it is the output's order) and
     * {@code ObjectNode.equals} ignores it.
     */
    record JsonSchema(JsonNode schema) implements GrammarSpec {
        public JsonSchema {
            Objects.requireNonNull(schema, "schema");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof JsonSchema other && schema.toString().equals(other.schema.toString());
        }

        @Override
        public int hashCode() {
            return schema.toString().hashCode();
        }
    }

    /** Any JSON object (response_format json_object). */
    record AnyJsonObject() implements GrammarSpec {}

    /** A regular expression the whole output must match (guided_regex). */
    record Regex(String pattern) implements GrammarSpec {
        public Regex {
            Objects.requireNonNull(pattern, "pattern");
        }
    }

    /** Exactly one of the strings (guided_choice). */
    record Choice(List<String> choices) implements GrammarSpec {
        public Choice {
            choices = List.copyOf(choices);
        }
    }

    /** A llama.cpp GBNF grammar whose start rule is {@code root} (guided_grammar). */
    record Gbnf(String grammar) implements GrammarSpec {
        public Gbnf {
            Objects.requireNonNull(grammar, "grammar");
        }
    }
}
