package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.Expr.alt;
import static dev.gantry.worker.model.grammar.Expr.literal;
import static dev.gantry.worker.model.grammar.Expr.optional;
import static dev.gantry.worker.model.grammar.Expr.ref;
import static dev.gantry.worker.model.grammar.Expr.seq;
import static dev.gantry.worker.model.grammar.JsonSchemaGrammar.refuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Object and array schemas. Objects list their properties in schema order, required ones always,
 * optional ones skippable, no others; arrays take {@code prefixItems}, then {@code items}, within
 * {@code minItems}/{@code maxItems}. Layout and whitespace are those of
 * {@link JsonGrammar#container}.
 */
final class JsonContainers {
    private static final Expr WS = ref(JsonGrammar.WS);

    private final GrammarBuilder builder;
    private final JsonSchemaGrammar.SubSchema sub;
    private final String path;
    private final String name;

    JsonContainers(GrammarBuilder builder, JsonSchemaGrammar.SubSchema sub, String path, String name) {
        this.builder = builder;
        this.sub = sub;
        this.path = path;
        this.name = name;
    }

    Expr object(JsonNode s) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        Set<String> required = required(s.get("required"));
        if (props != null && !props.isObject()) {
            throw refuse("\"properties\" must be an object", path + "/properties");
        }
        if (props == null || props.isEmpty()) {
            if (!required.isEmpty()) {
                throw refuse("\"required\" without \"properties\" is not supported", path + "/required");
            }
            if (additional == null || (additional.isBoolean() && additional.booleanValue())) {
                return ref(JsonGrammar.OBJECT);
            }
            if (additional.isBoolean()) {
                return seq(literal("{"), WS, literal("}"));
            }
            Expr value = sub.convert(additional, path + "/additionalProperties");
            return JsonGrammar.container("{", seq(ref(JsonGrammar.STRING), WS, literal(":"), WS, value), "}");
        }
        if (additional != null && !(additional.isBoolean() && !additional.booleanValue())) {
            throw refuse("\"additionalProperties\" other than false beside \"properties\" is not supported",
                    path + "/additionalProperties");
        }
        List<String> names = new ArrayList<>();
        props.fieldNames().forEachRemaining(names::add);
        for (String r : required) {
            if (!props.has(r)) {
                throw refuse("required property \"" + r + "\" is not among \"properties\"", path + "/required");
            }
        }
        int n = names.size();
        for (int i = 0; i < n; i++) {
            String key = names.get(i);
            Expr value = sub.convert(props.get(key), path + "/properties/" + key.replace("~", "~0").replace("/", "~1"));
            builder.define(rule("kv", i), seq(literal(TextNode.valueOf(key).toString()), WS, literal(":"), WS, value));
        }
        // after(i): the members from i on, once one member is out (so each starts with a comma)
        builder.define(rule("after", n), Expr.EMPTY);
        for (int i = n - 1; i >= 0; i--) {
            Expr member = seq(literal(","), WS, ref(rule("kv", i)), WS);
            boolean req = required.contains(names.get(i));
            builder.define(rule("after", i), seq(req ? member : optional(member), ref(rule("after", i + 1))));
        }
        // first(i): the first member written is property i or, if it is optional, a later one
        for (int i = n - 1; i >= 0; i--) {
            Expr here = seq(ref(rule("kv", i)), WS, ref(rule("after", i + 1)));
            boolean skippable = !required.contains(names.get(i)) && i < n - 1;
            builder.define(rule("first", i), skippable ? alt(here, ref(rule("first", i + 1))) : here);
        }
        Expr members = ref(rule("first", 0));
        return seq(literal("{"), WS, required.isEmpty() ? optional(members) : members, literal("}"));
    }

    private String rule(String part, int i) {
        return name + "-" + part + i;
    }

    private Set<String> required(JsonNode req) {
        Set<String> names = new HashSet<>();
        if (req == null) {
            return names;
        }
        if (!req.isArray()) {
            throw refuse("\"required\" must be an array of strings", path + "/required");
        }
        for (JsonNode r : req) {
            if (!r.isTextual()) {
                throw refuse("\"required\" must be an array of strings", path + "/required");
            }
            names.add(r.textValue());
        }
        return names;
    }

    Expr array(JsonNode s) {
        JsonNode unique = s.get("uniqueItems");
        if (unique != null && !(unique.isBoolean() && !unique.booleanValue())) {
            throw refuse("\"uniqueItems\": true cannot be enforced while generating", path + "/uniqueItems");
        }
        int min = JsonSchemaGrammar.count(s, "minItems", 0, path);
        int max = JsonSchemaGrammar.count(s, "maxItems", -1, path);
        if (max >= 0 && max < min) {
            throw refuse("\"maxItems\" is below \"minItems\"", path + "/maxItems");
        }
        List<Expr> prefixes = new ArrayList<>();
        JsonNode prefixItems = s.get("prefixItems");
        if (prefixItems != null) {
            if (!prefixItems.isArray()) {
                throw refuse("\"prefixItems\" must be an array", path + "/prefixItems");
            }
            for (int i = 0; i < prefixItems.size(); i++) {
                prefixes.add(sub.convert(prefixItems.get(i), path + "/prefixItems/" + i));
            }
        }
        JsonNode items = s.get("items");
        Expr rest;
        if (items == null || (items.isBoolean() && items.booleanValue())) {
            rest = ref(JsonGrammar.VALUE);
        } else if (items.isBoolean()) {
            rest = null;
        } else if (items.isArray()) {
            throw refuse("\"items\" as an array (tuple form) is not supported; use \"prefixItems\"", path + "/items");
        } else {
            builder.define(rule("item", 0), sub.convert(items, path + "/items"));
            rest = ref(rule("item", 0));
        }
        if (rest == null && min > prefixes.size()) {
            throw refuse("\"minItems\" exceeds the number of \"prefixItems\" while \"items\" is false",
                    path + "/minItems");
        }
        return seq(literal("["), WS, elements(0, prefixes, rest, min, max), literal("]"));
    }

    /** Elements from index {@code i} on; each is followed by whitespace, every one after the first preceded by a comma. */
    private static Expr elements(int i, List<Expr> prefixes, Expr rest, int min, int max) {
        if (max >= 0 && i >= max) {
            return Expr.EMPTY;
        }
        if (i < prefixes.size()) {
            Expr unit = i == 0 ? seq(prefixes.get(i), WS) : seq(literal(","), WS, prefixes.get(i), WS);
            Expr e = seq(unit, elements(i + 1, prefixes, rest, min, max));
            return i < min ? e : optional(e);
        }
        if (rest == null) {
            return Expr.EMPTY;
        }
        int restMin = Math.max(0, min - i);
        int restMax = max < 0 ? -1 : max - i;
        Expr following = seq(literal(","), WS, rest, WS);
        if (i > 0) {
            return new Expr.Repeat(following, restMin, restMax);
        }
        Expr all = seq(rest, WS, new Expr.Repeat(following, Math.max(0, restMin - 1), restMax < 0 ? -1 : restMax - 1));
        return restMin >= 1 ? all : optional(all);
    }
}
