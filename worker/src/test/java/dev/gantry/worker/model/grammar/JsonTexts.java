package dev.gantry.worker.model.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;

/** Test helpers: JSON parsing, and serialization with random whitespace inside the grammar's bounds. */
final class JsonTexts {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonTexts() {}

    static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    /** {@code node} written out with random allowed whitespace in every gap between tokens. */
    static String withRandomWhitespace(JsonNode node, Random random) {
        StringBuilder sb = new StringBuilder();
        write(node, random, sb);
        return sb.toString();
    }

    private static void write(JsonNode node, Random random, StringBuilder sb) {
        if (node.isObject()) {
            sb.append('{').append(ws(random));
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                sb.append(MAPPER.getNodeFactory().textNode(f.getKey())).append(ws(random)).append(':')
                        .append(ws(random));
                write(f.getValue(), random, sb);
                sb.append(ws(random));
                if (fields.hasNext()) {
                    sb.append(',').append(ws(random));
                }
            }
            sb.append('}');
        } else if (node.isArray()) {
            sb.append('[').append(ws(random));
            for (int i = 0; i < node.size(); i++) {
                write(node.get(i), random, sb);
                sb.append(ws(random));
                if (i + 1 < node.size()) {
                    sb.append(',').append(ws(random));
                }
            }
            sb.append(']');
        } else {
            sb.append(node);
        }
    }

    /** Nothing, a space, or a newline and up to 20 spaces or tabs. */
    static String ws(Random random) {
        return switch (random.nextInt(3)) {
            case 0 -> "";
            case 1 -> " ";
            default -> "\n" + (random.nextBoolean() ? " " : "\t").repeat(random.nextInt(21));
        };
    }
}
