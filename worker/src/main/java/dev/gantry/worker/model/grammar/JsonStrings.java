package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.Expr.literal;
import static dev.gantry.worker.model.grammar.Expr.ref;
import static dev.gantry.worker.model.grammar.Expr.seq;
import static dev.gantry.worker.model.grammar.JsonSchemaGrammar.refuse;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * String schemas: {@code minLength}/{@code maxLength} (in characters, an escape counting as one),
 * {@code pattern} (searched, as JSON Schema says, unless anchored with {@code ^...$}; characters JSON
 * must escape are generated escaped) and the formats
 * that a regular expression captures: {@code date}, {@code time}, {@code date-time}, {@code uuid},
 * {@code ipv4}. One of the three families per schema; combinations are refused.
 */
final class JsonStrings {
    private static final String DATE = "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
            + "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))";
    private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]{1,9})?"
            + "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    /** Formats as anchored regexes. date accepts February 29 in every year (documented). */
    static final Map<String, String> FORMATS = Map.of(
            "date", DATE,
            "time", TIME,
            "date-time", DATE + "[Tt]" + TIME,
            "uuid", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "ipv4", OCTET + "(?:\\." + OCTET + "){3}");

    private JsonStrings() {}

    static Expr string(JsonNode s, String path) {
        JsonNode format = s.get("format");
        JsonNode pattern = s.get("pattern");
        boolean lengths = s.has("minLength") || s.has("maxLength");
        if ((format != null ? 1 : 0) + (pattern != null ? 1 : 0) + (lengths ? 1 : 0) > 1) {
            throw refuse("combining \"format\", \"pattern\" and \"minLength\"/\"maxLength\" is not supported", path);
        }
        if (format != null) {
            String regex = format.isTextual() ? FORMATS.get(format.textValue()) : null;
            if (regex == null) {
                throw refuse("unsupported JSON Schema format " + format + " (supported: " + FORMATS.keySet().stream()
                        .sorted().toList() + ")", path + "/format");
            }
            return quoted(RegexParser.parse(regex));
        }
        if (pattern != null) {
            if (!pattern.isTextual()) {
                throw refuse("\"pattern\" must be a string", path + "/pattern");
            }
            String p = pattern.textValue();
            Expr body;
            try {
                body = RegexParser.parse(p, JsonStrings::encoded);
            } catch (GrammarException e) {
                throw refuse("\"pattern\" " + e.getMessage(), path + "/pattern");
            }
            Expr anything = Expr.star(ref(JsonGrammar.CHAR));
            return quoted(seq(RegexParser.anchoredAtStart(p) ? Expr.EMPTY : anything, body,
                    RegexParser.anchoredAtEnd(p) ? Expr.EMPTY : anything));
        }
        if (lengths) {
            int min = JsonSchemaGrammar.count(s, "minLength", 0, path);
            int max = JsonSchemaGrammar.count(s, "maxLength", -1, path);
            if (max >= 0 && max < min) {
                throw refuse("\"maxLength\" is below \"minLength\"", path + "/maxLength");
            }
            return quoted(new Expr.Repeat(ref(JsonGrammar.CHAR), min, max));
        }
        return ref(JsonGrammar.STRING);
    }

    /**
     * The characters of {@code set} as JSON string content: raw where JSON allows, otherwise as
     * their short escape ({@code \" \\ \n}...) or a six-character unicode escape, so a pattern may still require
     * a quote or a tab.
     */
    static Expr encoded(int[] set) {
        List<Expr> options = new ArrayList<>();
        int[] raw = CharRanges.intersect(set, JsonGrammar.RAW_STRING_CHARS);
        if (raw.length > 0 || set.length == 0) {
            options.add(Expr.chars(raw));
        }
        int[] escaped = CharRanges.intersect(set, CharRanges.complement(JsonGrammar.RAW_STRING_CHARS));
        for (int i = 0; i < escaped.length; i += 2) {
            for (int cp = escaped[i]; cp <= escaped[i + 1]; cp++) {
                options.add(literal(switch (cp) {
                    case '"' -> "\\\"";
                    case '\\' -> "\\\\";
                    case '\b' -> "\\b";
                    case '\f' -> "\\f";
                    case '\n' -> "\\n";
                    case '\r' -> "\\r";
                    case '\t' -> "\\t";
                    default -> String.format("\\u%04x", cp);
                }));
            }
        }
        return Expr.alt(options);
    }

    private static Expr quoted(Expr body) {
        return seq(literal("\""), body, literal("\""));
    }
}
