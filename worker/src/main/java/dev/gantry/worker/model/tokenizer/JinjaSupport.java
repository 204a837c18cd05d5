package dev.gantry.worker.model.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.beans.FeatureDescriptor;
import java.lang.reflect.Method;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Makes Jinjava behave like the Jinja2 environment Hugging Face renders chat templates in:
 * {@code trim_blocks} and {@code lstrip_blocks}, {@code raise_exception}, {@code strftime_now},
 * a {@code tojson} that writes what Python's {@code json.dumps} writes, and the Python string
 * methods templates call ({@code .strip()}, {@code .startswith()}, {@code .split()}...), the
 * {@code items} filter, strings that are {@code iterable} and {@code sequence}, {@code not x is
 * test} read as {@code not (x is test)} and {@code lstrip_blocks} as Jinja2's ({@link #preprocess}).
 */
final class JinjaSupport {
    private JinjaSupport() {}

    /** What {@code raise_exception} throws; {@link ChatTemplate} reports its message. */
    static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message);
        }
    }

    static Jinjava newJinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                // lstrip_blocks is done by preprocess: Jinjava's strips spaces before a tag mid-line too
                .withLstripBlocks(false)
                .withElResolver(resolver)
                .withMaxOutputSize(64L << 20)
                // Jinja2's semantics where Jinjava keeps its own by default: {{- -}} trimming,
                // operator precedence, dict literal keys, iteration over dicts, Python-style
                // printing of lists and dicts, loops keeping None items
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.registerFunction(function("raise_exception", "raiseException", Object.class));
        jinjava.registerFunction(function("strftime_now", "strftimeNow", String.class));
        jinjava.registerFilter(new ToJson());
        jinjava.registerFilter(new Items());
        // Jinja2's strings are iterable sequences (Llama 3.1's template writes a tool result that
        // "is iterable" as JSON, strings included); Jinjava's are neither
        jinjava.getGlobalContext().registerExpTest(new PyTest("iterable", v -> v instanceof String
                || v instanceof Iterable<?> || v instanceof Map<?, ?> || (v != null && v.getClass().isArray())));
        jinjava.getGlobalContext().registerExpTest(new PyTest("sequence", v -> v instanceof String
                || v instanceof Collection<?> || v instanceof Map<?, ?> || (v != null && v.getClass().isArray())));
        return jinjava;
    }

    /**
     * Rewrites a template where Jinjava would read it otherwise than Jinja2 does. {@code
     * lstrip_blocks} strips only the spaces that start a line (Jinjava's strips those before any
     * tag). In Jinja2 {@code not} binds looser than comparisons and tests: {@code not x is defined} is
     * {@code not (x is defined)}, {@code not m.tool_calls|length == 1} is {@code not (... == 1)};
     * Jinjava binds {@code not} to the operand alone. Rewrites the expressions of a template
     * ({@code {% ... %}} and {@code {{ ... }}}) with parentheses so that Jinjava reads them as Jinja2
     * does, where both sides are names, attributes, subscripts (with filters) or literals.
     */
    static String preprocess(String template) {
        template = LSTRIP.matcher(template).replaceAll("");
        Matcher block = EXPRESSION.matcher(template);
        StringBuilder out = new StringBuilder(template.length());
        while (block.find()) {
            // string literals are matched first, so that what they hold is left alone
            String rewritten = NOT_COMPARE.matcher(block.group()).replaceAll(m -> Matcher.quoteReplacement(
                    m.group(1) == null ? m.group() : "not (" + m.group(1) + " " + m.group(2) + " " + m.group(3) + ")"));
            block.appendReplacement(out, Matcher.quoteReplacement(rewritten));
        }
        block.appendTail(out);
        return out.toString();
    }

    /** Jinja2's lstrip_blocks: spaces and tabs from the start of a line to a block tag or comment. */
    private static final Pattern LSTRIP = Pattern.compile("(?m)^[ \\t]+(?=\\{%(?![+-])|\\{#(?![+-]))");
    private static final Pattern EXPRESSION = Pattern.compile("\\{%.*?%}|\\{\\{.*?}}", Pattern.DOTALL);
    /** A name with attributes, subscripts and filters (Jinja filters bind tighter than comparisons). */
    private static final String OPERAND = "[A-Za-z_]\\w*(?:\\.[A-Za-z_]\\w*|\\[[^\\[\\]]*])*(?:\\s*\\|\\s*[A-Za-z_]\\w*(?:\\([^()]*\\))?)*";
    private static final String LITERAL = "'[^']*'|\"[^\"]*\"|-?\\d+(?:\\.\\d+)?|\\[[^\\[\\]]*]|\\([^()]*\\)";
    private static final Pattern NOT_COMPARE = Pattern.compile("'[^']*'|\"[^\"]*\"|(?<![\\w.])not\\s+(" + OPERAND + "|" + LITERAL
            + ")\\s*(==|!=|<=|>=|<|>|\\bin\\b|\\bis\\s+not\\b|\\bis\\b)\\s*(" + OPERAND + "|" + LITERAL + ")");

    /** A Jinja test defined by a predicate. */
    private record PyTest(String getName, Predicate<Object> test) implements ExpTest {
        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return test.test(var);
        }
    }

    /** Jinja2's {@code items} filter: a mapping's (key, value) pairs, to loop over with two names. */
    private static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return List.of();
            }
            if (var instanceof Map<?, ?> map) {
                return new ArrayList<>(map.entrySet());
            }
            throw new IllegalArgumentException("items: can only get item pairs from a mapping, got " + var.getClass().getSimpleName());
        }
    }

    private static ELFunctionDefinition function(String name, String method, Class<?> parameter) {
        try {
            Method m = JinjaSupport.class.getDeclaredMethod(method, parameter);
            m.setAccessible(true); // this class is package-private; Jinjava calls it reflectively
            return new ELFunctionDefinition("", name, m);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    static Object raiseException(Object message) {
        throw new RaisedException(String.valueOf(message));
    }

    /** Python's {@code strftime} on the current local time, for the codes templates use. */
    static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char code = format.charAt(++i);
            switch (code) {
                case 'd' -> out.append(String.format("%02d", now.getDayOfMonth()));
                case 'm' -> out.append(String.format("%02d", now.getMonthValue()));
                case 'Y' -> out.append(now.getYear());
                case 'y' -> out.append(String.format("%02d", now.getYear() % 100));
                case 'b' -> out.append(now.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(now.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(now.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(now.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> out.append(String.format("%02d", now.getHour()));
                case 'I' -> out.append(String.format("%02d", (now.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format("%02d", now.getMinute()));
                case 'S' -> out.append(String.format("%02d", now.getSecond()));
                case 'p' -> out.append(now.getHour() < 12 ? "AM" : "PM");
                case 'j' -> out.append(String.format("%03d", now.getDayOfYear()));
                case '%' -> out.append('%');
                default -> out.append('%').append(code);
            }
        }
        return out.toString();
    }

    /** {@code tojson} as Hugging Face defines it: {@code json.dumps(x, ensure_ascii=False, indent=indent)}. */
    private static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            int n = indent instanceof Number num ? num.intValue() : indent != null ? Integer.parseInt(indent.toString()) : -1;
            StringBuilder out = new StringBuilder();
            writeJson(out, var, n, 0);
            return out.toString();
        }
    }

    /** Python's json.dumps layout: ", " and ": " on one line, or one item per line when indenting. */
    static void writeJson(StringBuilder out, Object value, int indent, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean || value instanceof Number) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                separator(out, first, indent, depth + 1);
                first = false;
                writeString(out, String.valueOf(e.getKey()));
                out.append(": ");
                writeJson(out, e.getValue(), indent, depth + 1);
            }
            newline(out, indent, depth);
            out.append('}');
        } else if (value instanceof Collection<?> || value instanceof Object[]) {
            Collection<?> items = value instanceof Object[] a ? List.of(a) : (Collection<?>) value;
            if (items.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object item : items) {
                separator(out, first, indent, depth + 1);
                first = false;
                writeJson(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.append(']');
        } else {
            writeString(out, value.toString());
        }
    }

    private static void separator(StringBuilder out, boolean first, int indent, int depth) {
        if (!first) {
            out.append(indent >= 0 ? "," : ", ");
        }
        newline(out, indent, depth);
    }

    private static void newline(StringBuilder out, int indent, int depth) {
        if (indent >= 0) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python {@code str} methods on Java strings; anything else falls through to Jinjava. */
    static final class PythonStringMethods extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (!(base instanceof String s) || !(method instanceof String name)) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            Object result = call(s, name, p);
            if (result != NOT_HANDLED) {
                context.setPropertyResolved(true);
                return result;
            }
            return null;
        }

        private static final Object NOT_HANDLED = new Object();

        private static Object call(String s, String name, Object[] p) {
            return switch (name) {
                case "strip" -> p.length == 0 || p[0] == null ? pyStrip(s, null, true, true) : pyStrip(s, str(p[0]), true, true);
                case "lstrip" -> pyStrip(s, p.length == 0 || p[0] == null ? null : str(p[0]), true, false);
                case "rstrip" -> pyStrip(s, p.length == 0 || p[0] == null ? null : str(p[0]), false, true);
                case "startswith" -> p.length == 1 ? anyMatch(p[0], s::startsWith) : NOT_HANDLED;
                case "endswith" -> p.length == 1 ? anyMatch(p[0], s::endsWith) : NOT_HANDLED;
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "capitalize" -> s.isEmpty() ? s
                        : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "split" -> split(s, p.length > 0 ? p[0] : null, p.length > 1 ? ((Number) p[1]).intValue() : -1);
                case "replace" -> p.length >= 2 ? replace(s, str(p[0]), str(p[1]),
                        p.length > 2 ? ((Number) p[2]).intValue() : -1) : NOT_HANDLED;
                case "find" -> p.length == 1 ? (long) s.indexOf(str(p[0])) : NOT_HANDLED;
                case "rfind" -> p.length == 1 ? (long) s.lastIndexOf(str(p[0])) : NOT_HANDLED;
                case "count" -> p.length == 1 ? count(s, str(p[0])) : NOT_HANDLED;
                case "join" -> p.length == 1 ? join(s, p[0]) : NOT_HANDLED;
                case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
                case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
                case "isspace" -> !s.isEmpty() && s.chars().allMatch(PythonStringMethods::isPySpace);
                default -> NOT_HANDLED;
            };
        }

        private static String str(Object o) {
            return String.valueOf(o);
        }

        private static boolean anyMatch(Object arg, java.util.function.Predicate<String> test) {
            if (arg instanceof Collection<?> options) {
                return options.stream().anyMatch(o -> test.test(str(o)));
            }
            return test.test(str(arg));
        }

        static boolean isPySpace(int c) {
            return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
        }

        private static String pyStrip(String s, String chars, boolean left, boolean right) {
            int start = 0;
            int end = s.length();
            while (left && start < end && (chars == null ? isPySpace(s.charAt(start)) : chars.indexOf(s.charAt(start)) >= 0)) {
                start++;
            }
            while (right && end > start && (chars == null ? isPySpace(s.charAt(end - 1)) : chars.indexOf(s.charAt(end - 1)) >= 0)) {
                end--;
            }
            return s.substring(start, end);
        }

        private static String title(String s) {
            StringBuilder out = new StringBuilder(s.length());
            boolean prevCased = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                out.append(prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
                prevCased = Character.isLetter(c);
            }
            return out.toString();
        }

        private static List<String> split(String s, Object sep, int maxSplit) {
            List<String> parts = new ArrayList<>();
            if (sep == null) { // runs of whitespace, none at the ends
                int i = 0;
                while (i < s.length()) {
                    while (i < s.length() && isPySpace(s.charAt(i))) {
                        i++;
                    }
                    if (i == s.length()) {
                        break;
                    }
                    int j = i;
                    if (maxSplit >= 0 && parts.size() == maxSplit) {
                        parts.add(pyStrip(s.substring(i), null, false, true));
                        break;
                    }
                    while (j < s.length() && !isPySpace(s.charAt(j))) {
                        j++;
                    }
                    parts.add(s.substring(i, j));
                    i = j;
                }
                return parts;
            }
            String d = str(sep);
            if (d.isEmpty()) {
                throw new IllegalArgumentException("empty separator");
            }
            int from = 0;
            for (int at; (maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(d, from)) >= 0; from = at + d.length()) {
                parts.add(s.substring(from, at));
            }
            parts.add(s.substring(from));
            return parts;
        }

        private static String replace(String s, String old, String with, int count) {
            if (count < 0) {
                return s.replace(old, with);
            }
            StringBuilder out = new StringBuilder();
            int from = 0;
            for (int n = 0, at; n < count && (at = s.indexOf(old, from)) >= 0; n++) {
                out.append(s, from, at).append(with);
                from = at + old.length();
                if (old.isEmpty()) {
                    break; // Python inserts between characters; templates never rely on it
                }
            }
            return out.append(s, from, s.length()).toString();
        }

        private static long count(String s, String sub) {
            if (sub.isEmpty()) {
                return s.length() + 1;
            }
            long n = 0;
            for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
                n++;
            }
            return n;
        }

        private static String join(String sep, Object items) {
            Iterable<?> it = items instanceof Iterable<?> i ? i : items instanceof Object[] a ? List.of(a) : List.of(items);
            StringBuilder out = new StringBuilder();
            boolean first = true;
            for (Object o : it) {
                if (!first) {
                    out.append(sep);
                }
                first = false;
                out.append(o);
            }
            return out.toString();
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {}

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }
}
