package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.Expr.alt;
import static dev.gantry.worker.model.grammar.Expr.literal;
import static dev.gantry.worker.model.grammar.Expr.ref;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema to grammar. Every schema node is checked against the keywords this converter
 * enforces or may ignore (annotations); any other keyword, or a supported keyword with a value it
 * cannot enforce exactly, is a {@link GrammarException} naming the keyword and its JSON path. The
 * supported subset is listed in the package documentation.
 */
final class JsonSchemaGrammar {
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples",
            "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> OBJECT_KEYWORDS = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY_KEYWORDS = Set.of("items", "prefixItems", "minItems", "maxItems",
            "uniqueItems");
    private static final Set<String> STRING_KEYWORDS = Set.of("minLength", "maxLength", "pattern", "format");
    private static final Set<String> NUMBER_KEYWORDS = Set.of("minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum");
    private static final Set<String> GENERAL_KEYWORDS = Set.of("type", "enum", "const", "anyOf", "oneOf",
            "allOf", "$ref", "nullable");

    private final JsonNode root;
    private final GrammarBuilder builder = new GrammarBuilder();
    private final Map<String, String> refRules = new HashMap<>();
    private int containerCount;

    private JsonSchemaGrammar(JsonNode root) {
        this.root = root;
    }

    static Grammar of(JsonNode schema) {
        JsonSchemaGrammar converter = new JsonSchemaGrammar(schema);
        JsonGrammar.define(converter.builder);
        converter.refRules.put("#", "root");
        Expr top = converter.schema(schema, "#");
        converter.builder.define("root", top);
        return converter.builder.build("root");
    }

    static GrammarException refuse(String message, String path) {
        return new GrammarException(message + " at " + path);
    }

    private Expr schema(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (s.booleanValue()) {
                return ref(JsonGrammar.VALUE);
            }
            throw refuse("schema false (nothing is valid) cannot be generated", path);
        }
        if (!s.isObject()) {
            throw refuse("a schema must be an object or a boolean, not " + s.getNodeType(), path);
        }
        Set<String> present = new LinkedHashSet<>();
        s.fieldNames().forEachRemaining(present::add);
        for (String k : present) {
            if (!ANNOTATIONS.contains(k) && !GENERAL_KEYWORDS.contains(k) && !OBJECT_KEYWORDS.contains(k)
                    && !ARRAY_KEYWORDS.contains(k) && !STRING_KEYWORDS.contains(k) && !NUMBER_KEYWORDS.contains(k)) {
                throw refuse("unsupported JSON Schema keyword \"" + k + "\"", path);
            }
        }
        for (String combinator : List.of("$ref", "anyOf", "oneOf", "allOf")) {
            if (present.contains(combinator)) {
                for (String k : present) {
                    if (!k.equals(combinator) && !ANNOTATIONS.contains(k)) {
                        throw refuse("JSON Schema keyword \"" + k + "\" beside \"" + combinator
                                + "\" is not supported", path);
                    }
                }
                return combinator(combinator, s.get(combinator), path + "/" + combinator);
            }
        }
        List<String> types = types(s, present, path);
        if (s.has("const") || s.has("enum")) {
            String values = s.has("const") ? "const" : "enum";
            for (String k : present) {
                if (!ANNOTATIONS.contains(k) && !k.equals(values) && !k.equals("type") && !k.equals("nullable")) {
                    throw refuse("JSON Schema keyword \"" + k + "\" beside \"" + values + "\" is not supported", path);
                }
            }
        }
        if (s.has("const")) {
            return jsonLiteral(s.get("const"), types, path + "/const");
        }
        if (s.has("enum")) {
            JsonNode values = s.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw refuse("\"enum\" must be a non-empty array", path + "/enum");
            }
            List<Expr> options = new ArrayList<>();
            for (JsonNode v : values) {
                if (types.isEmpty() || types.stream().anyMatch(t -> hasType(v, t))) {
                    options.add(literal(v.toString()));
                }
            }
            if (options.isEmpty()) {
                throw refuse("no \"enum\" value has the schema's type " + types, path + "/enum");
            }
            return alt(options);
        }
        if (types.isEmpty()) {
            return ref(JsonGrammar.VALUE);
        }
        List<Expr> options = new ArrayList<>();
        for (String t : types) {
            options.add(switch (t) {
                case "string" -> JsonStrings.string(s, path);
                case "integer" -> integer(s, path);
                case "number" -> number(s, path);
                case "boolean" -> ref(JsonGrammar.BOOLEAN);
                case "null" -> ref(JsonGrammar.NULL);
                case "object" -> object(s, path);
                case "array" -> array(s, path);
                default -> throw refuse("unsupported JSON Schema type \"" + t + "\"", path + "/type");
            });
        }
        return alt(options);
    }

    /** The declared types (plus null when {@code nullable}); inferred from the keywords when absent. */
    private static List<String> types(JsonNode s, Set<String> present, String path) {
        List<String> types = new ArrayList<>();
        JsonNode type = s.get("type");
        if (type == null) {
            if (present.stream().anyMatch(OBJECT_KEYWORDS::contains)) {
                types.add("object");
            }
            if (present.stream().anyMatch(ARRAY_KEYWORDS::contains)) {
                types.add("array");
            }
            if (present.stream().anyMatch(STRING_KEYWORDS::contains)) {
                types.add("string");
            }
            if (present.stream().anyMatch(NUMBER_KEYWORDS::contains)) {
                types.add("number");
            }
        } else if (type.isTextual()) {
            types.add(type.textValue());
        } else if (type.isArray() && !type.isEmpty()) {
            type.forEach(t -> {
                if (!t.isTextual()) {
                    throw refuse("\"type\" entries must be strings", path + "/type");
                }
                types.add(t.textValue());
            });
        } else {
            throw refuse("\"type\" must be a string or a non-empty array of strings", path + "/type");
        }
        JsonNode nullable = s.get("nullable");
        if (nullable != null && !nullable.isBoolean()) {
            throw refuse("\"nullable\" must be a boolean", path + "/nullable");
        }
        if (nullable != null && nullable.booleanValue() && !types.isEmpty() && !types.contains("null")) {
            types.add("null");
        }
        return types;
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0);
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            default -> false;
        };
    }

    private Expr jsonLiteral(JsonNode value, List<String> types, String path) {
        if (!types.isEmpty() && types.stream().noneMatch(t -> hasType(value, t))) {
            throw refuse("\"const\" does not have the schema's type " + types, path);
        }
        return literal(value.toString());
    }

    private Expr combinator(String keyword, JsonNode value, String path) {
        if (keyword.equals("$ref")) {
            return reference(value, path);
        }
        if (!value.isArray() || value.isEmpty()) {
            throw refuse("\"" + keyword + "\" must be a non-empty array", path);
        }
        if (keyword.equals("allOf") && value.size() != 1) {
            throw refuse("\"allOf\" with more than one schema is not supported", path);
        }
        List<Expr> options = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            options.add(schema(value.get(i), path + "/" + i));
        }
        return alt(options); // oneOf as anyOf: exclusivity cannot be enforced while generating
    }

    private Expr reference(JsonNode value, String path) {
        if (!value.isTextual()) {
            throw refuse("\"$ref\" must be a string", path);
        }
        String target = value.textValue();
        String rule = refRules.get(target);
        if (rule != null) {
            return ref(rule);
        }
        String[] parts = target.split("/", -1);
        if (parts.length != 3 || !parts[0].equals("#") || !(parts[1].equals("$defs") || parts[1].equals("definitions"))) {
            throw refuse("unsupported \"$ref\" \"" + target + "\" (only #, #/$defs/NAME and #/definitions/NAME)", path);
        }
        JsonNode resolved = root.path(parts[1]).get(parts[2].replace("~1", "/").replace("~0", "~"));
        if (resolved == null) {
            throw refuse("\"$ref\" \"" + target + "\" does not resolve", path);
        }
        rule = "def" + refRules.size() + "-" + parts[2].replaceAll("[^A-Za-z0-9]", "");
        refRules.put(target, rule);
        builder.define(rule, schema(resolved, target));
        return ref(rule);
    }

    private Expr integer(JsonNode s, String path) {
        Long min = bound(s, "minimum", path, RoundingMode.CEILING, 0);
        Long exclusiveMin = bound(s, "exclusiveMinimum", path, RoundingMode.CEILING, 1);
        Long max = bound(s, "maximum", path, RoundingMode.FLOOR, 0);
        Long exclusiveMax = bound(s, "exclusiveMaximum", path, RoundingMode.FLOOR, -1);
        Long lo = min == null ? exclusiveMin : exclusiveMin == null ? min : Long.valueOf(Math.max(min, exclusiveMin));
        Long hi = max == null ? exclusiveMax : exclusiveMax == null ? max : Long.valueOf(Math.min(max, exclusiveMax));
        if (lo == null && hi == null) {
            return ref(JsonGrammar.INTEGER);
        }
        if (lo != null && hi != null && lo > hi) {
            throw refuse("no integer satisfies the minimum and maximum", path);
        }
        return IntegerRange.of(lo, hi);
    }

    /**
     * An integer bound from a numeric keyword, rounded inward; an exclusive bound that is itself an
     * integer moves one further in ({@code shift}).
     */
    private static Long bound(JsonNode s, String keyword, String path, RoundingMode rounding, int shift) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw refuse("\"" + keyword + "\" must be a number (the draft-4 boolean form is not supported)",
                    path + "/" + keyword);
        }
        BigDecimal d = v.decimalValue();
        if (d.abs().compareTo(BigDecimal.valueOf(IntegerRange.LIMIT)) > 0) {
            throw refuse("\"" + keyword + "\" beyond +-10^17 is not supported", path + "/" + keyword);
        }
        BigDecimal rounded = d.setScale(0, rounding);
        long n = rounded.longValueExact();
        boolean wasIntegral = rounded.compareTo(d) == 0;
        return shift == 0 || !wasIntegral ? n : n + shift;
    }

    /**
     * Numbers; {@code minimum}/{@code maximum} only with integral bounds, enforced exactly by
     * writing such numbers without an exponent. Exclusive and fractional bounds are refused.
     */
    private static Expr number(JsonNode s, String path) {
        for (String k : List.of("exclusiveMinimum", "exclusiveMaximum")) {
            if (s.has(k)) {
                throw refuse("\"" + k + "\" on type \"number\" cannot be enforced exactly (it is supported on "
                        + "\"integer\")", path + "/" + k);
            }
        }
        if (!s.has("minimum") && !s.has("maximum")) {
            return ref(JsonGrammar.NUMBER);
        }
        Long min = bound(s, "minimum", path, RoundingMode.CEILING, 0);
        Long max = bound(s, "maximum", path, RoundingMode.FLOOR, 0);
        for (String k : List.of("minimum", "maximum")) {
            if (s.has(k) && s.get(k).decimalValue().stripTrailingZeros().scale() > 0) {
                throw refuse("a fractional \"" + k + "\" on type \"number\" is not supported (integral bounds are)",
                        path + "/" + k);
            }
        }
        if (min != null && max != null && min > max) {
            throw refuse("no number satisfies the minimum and maximum", path);
        }
        return IntegerRange.decimal(min, max);
    }

    private Expr object(JsonNode s, String path) {
        return new JsonContainers(builder, this::schema, path, "obj" + containerCount++).object(s);
    }

    private Expr array(JsonNode s, String path) {
        return new JsonContainers(builder, this::schema, path, "arr" + containerCount++).array(s);
    }

    /** A non-negative integer keyword ({@code minItems}, {@code maxLength}...), bounded by the repetition limit. */
    static int count(JsonNode s, String keyword, int absent, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0 || v.intValue() > TextParser.MAX_REPEAT) {
            throw refuse("\"" + keyword + "\" must be an integer from 0 to " + TextParser.MAX_REPEAT, path + "/" + keyword);
        }
        return v.intValue();
    }

    /** Converts a sub-schema found at a JSON path; the container converter recurses through it. */
    interface SubSchema {
        Expr convert(JsonNode schema, String path);
    }
}
