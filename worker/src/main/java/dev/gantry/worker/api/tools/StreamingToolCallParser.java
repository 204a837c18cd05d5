package dev.gantry.worker.api.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Reads tool calls out of a choice's text as it is generated, for streaming: fed the text deltas,
 * it hands back the chunks to send, ordinary content while no call can be starting, and for each
 * call a first {@link ToolCallDelta} with its id and name, then the text of its arguments piece by
 * piece as the model writes it.
 *
 * <p>A call is a JSON object {@code {"name": "<one of the request's tools>", "arguments": {...}}}
 * ({@code "parameters"} too, as Llama 3.1 writes it), name first (or after {@code "type":
 * "function"}), in one of these places:
 * <ul>
 *   <li>in {@code <tool_call>...</tool_call>} tags, anywhere in the text (Hermes, Qwen2.5, and what
 *       {@link ToolPrompt} asks of templates without tools);</li>
 *   <li>at the start of the text, alone or after {@code <|python_tag|>} (Llama 3.1), several of them
 *       separated by {@code ;} or white space, or as a JSON array of calls (what the constraint of
 *       {@link ToolConstraint} forces for {@code parallel_tool_calls}).</li>
 * </ul>
 * Text that could still become the start of a call is held back until it is known not to; text
 * that turns out not to be a call (unknown name, not JSON, other keys) goes out as content. White
 * space right before a call, and at the end after one, is dropped. The arguments are the model's
 * text of the arguments object, as written.
 *
 * <p>Once a call's name has been sent, the call stands: arguments cut short by the end of the
 * output (max_tokens) stay cut short, as with OpenAI, where {@link ToolCallParser} on the whole
 * text would return it all as content instead. Otherwise the two agree: the buffered parser is this
 * one fed the whole text at once. Not thread-safe: one per streamed choice.
 */
public final class StreamingToolCallParser {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";
    static final String PYTHON_TAG = "<|python_tag|>";
    private static final String ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private enum Mode { START, TEXT, HERMES_OPEN, CALL_PRE, CALL_ARGS, CALL_TAIL, HERMES_CLOSE, ARRAY_NEXT, SEQUENCE_NEXT }

    /** Where a call stands, which decides what comes after it. */
    private enum Container { HERMES, ARRAY, SEQUENCE }

    /** What was read of one call: {@link ToolCallParser} builds its result from these. */
    static final class Call {
        final String id;
        final String name;
        final StringBuilder arguments = new StringBuilder();
        boolean complete;

        Call(String id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    /**
     * What {@link #finish} hands back.
     *
     * @param deltas    the chunks still to send
     * @param toolCalls whether any call was made: the choice's finish reason is then {@code tool_calls}
     */
    public record Finish(List<StreamDelta> deltas, boolean toolCalls) {}

    private final Set<String> names;
    private final Supplier<String> ids;
    private final StringBuilder buf = new StringBuilder();
    private final List<StreamDelta> out = new ArrayList<>();
    private final StringBuilder content = new StringBuilder();
    final List<Call> calls = new ArrayList<>();
    /** Whether calls were made and what followed them broke off (an array not closed). */
    boolean malformed;

    private Mode mode = Mode.START;
    private Container container;
    private boolean ended;
    /** The white space at the front follows a call: dropped unless text follows it. */
    private boolean dropSpace;
    /** CALL_PRE: where the call object starts in {@link #buf}. */
    private int callStart;
    /** When the object at {@link #callStart} is no call: how much of {@link #buf} goes out as content first. */
    private int failLength;
    private boolean failMalformed;
    private int depth;
    private boolean inString;
    private boolean escaped;
    private String parsedName;

    /** A parser for the calls of these settings' tools, with vLLM-style ids. */
    public StreamingToolCallParser(ToolSettings settings) {
        this(settings.names(), StreamingToolCallParser::newId);
    }

    StreamingToolCallParser(Set<String> names, Supplier<String> ids) {
        this.names = Set.copyOf(names);
        this.ids = ids;
    }

    /** {@code call_} and 24 random letters and digits, as vLLM's ids. */
    public static String newId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder id = new StringBuilder("call_");
        for (int i = 0; i < 24; i++) {
            id.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
        }
        return id.toString();
    }

    /** The chunks that a piece of generated text lets out; often none while a call may be starting. */
    public List<StreamDelta> feed(String delta) {
        if (ended) {
            throw new IllegalStateException("finished");
        }
        buf.append(delta);
        run();
        return drain();
    }

    /** Ends the text: what was held back goes out. */
    public Finish finish() {
        if (!ended) {
            ended = true;
            run();
        }
        return new Finish(drain(), !calls.isEmpty());
    }

    private List<StreamDelta> drain() {
        flushContent();
        List<StreamDelta> result = List.copyOf(out);
        out.clear();
        return result;
    }

    private void run() {
        while (step()) {
            // each step consumes input or changes mode
        }
    }

    private boolean step() {
        return switch (mode) {
            case START -> start();
            case TEXT -> text();
            case HERMES_OPEN -> hermesOpen();
            case CALL_PRE -> callPre();
            case CALL_ARGS -> callArgs();
            case CALL_TAIL -> callTail();
            case HERMES_CLOSE -> hermesClose();
            case ARRAY_NEXT -> arrayNext();
            case SEQUENCE_NEXT -> sequenceNext();
        };
    }

    // --- the modes; each returns whether to step again

    /** Nothing but white space yet: a JSON call may start the output. */
    private boolean start() {
        int i = skipSpace(0);
        if (i == buf.length()) {
            return waitOr(Mode.TEXT);
        }
        if (startsWith(i, PYTHON_TAG)) {
            i = skipSpace(i + PYTHON_TAG.length());
            if (i == buf.length()) {
                return waitOr(Mode.TEXT);
            }
        } else if (PYTHON_TAG.startsWith(buf.substring(i))) {
            return waitOr(Mode.TEXT);
        }
        char c = buf.charAt(i);
        if (c == '[') {
            int j = skipSpace(i + 1);
            if (j == buf.length()) {
                return waitOr(Mode.TEXT);
            }
            if (buf.charAt(j) == '{') {
                beginCall(Container.ARRAY, j, 0, false);
                return true;
            }
        } else if (c == '{') {
            beginCall(Container.SEQUENCE, i, 0, false);
            return true;
        }
        mode = Mode.TEXT;
        return true;
    }

    private boolean text() {
        if (dropSpace) {
            // white space after a call goes out only with the text that follows it
            if (skipSpace(0) == buf.length()) {
                if (ended) {
                    buf.setLength(0);
                }
                return false;
            }
            dropSpace = false;
        }
        int at = buf.indexOf(OPEN);
        if (at >= 0) {
            int space = spaceBefore(at);
            emitContent(0, space);
            failLength = at - space + OPEN.length();
            mode = Mode.HERMES_OPEN;
            return true;
        }
        if (ended) {
            emitContent(0, buf.length());
            return false;
        }
        emitContent(0, holdFrom());
        return false;
    }

    /** {@link #buf} holds white space and {@code <tool_call>} ({@link #failLength} of it), then the call. */
    private boolean hermesOpen() {
        int i = skipSpace(failLength);
        if (i == buf.length()) {
            if (!ended) {
                return false;
            }
            return fail();
        }
        if (buf.charAt(i) != '{') {
            return fail();
        }
        beginCall(Container.HERMES, i, failLength, false);
        return true;
    }

    private boolean callPre() {
        int argsStart = preParse(callStart);
        if (argsStart == NEED) {
            return ended ? fail() : false;
        }
        if (argsStart == FAIL) {
            return fail();
        }
        Call call = new Call(ids.get(), parsedName);
        calls.add(call);
        emitCall(ToolCallDelta.start(calls.size() - 1, call.id, call.name));
        buf.delete(0, argsStart);
        mode = Mode.CALL_ARGS;
        depth = 0;
        inString = false;
        escaped = false;
        return true;
    }

    /** The arguments object, sent as it comes. */
    private boolean callArgs() {
        int end = scan(0);
        Call call = calls.getLast();
        int upTo = end < 0 ? buf.length() : end;
        if (upTo > 0) {
            String piece = buf.substring(0, upTo);
            call.arguments.append(piece);
            emitCall(ToolCallDelta.arguments(calls.size() - 1, piece));
            buf.delete(0, upTo);
        }
        if (end < 0) {
            return false;
        }
        mode = Mode.CALL_TAIL;
        depth = 1;
        return true;
    }

    /** After the arguments, up to the end of the call object (other keys are skipped). */
    private boolean callTail() {
        int end = scan(0);
        if (end < 0) {
            buf.setLength(0);
            return false;
        }
        buf.delete(0, end);
        calls.getLast().complete = true;
        mode = switch (container) {
            case HERMES -> Mode.HERMES_CLOSE;
            case ARRAY -> Mode.ARRAY_NEXT;
            case SEQUENCE -> Mode.SEQUENCE_NEXT;
        };
        return true;
    }

    private boolean hermesClose() {
        int i = skipSpace(0);
        String rest = buf.substring(i);
        if (rest.startsWith(CLOSE)) {
            buf.delete(0, i + CLOSE.length());
            dropSpace = true;
        } else if (CLOSE.startsWith(rest) && !ended) {
            return false;
        } else {
            buf.delete(0, rest.isEmpty() || CLOSE.startsWith(rest) ? buf.length() : i);
        }
        mode = Mode.TEXT;
        return true;
    }

    private boolean arrayNext() {
        int i = skipSpace(0);
        if (i == buf.length()) {
            if (!ended) {
                return false;
            }
            malformed = true;
            mode = Mode.TEXT;
            return true;
        }
        char c = buf.charAt(i);
        if (c == ']') {
            buf.delete(0, i + 1);
            dropSpace = true;
            mode = Mode.TEXT;
            return true;
        }
        if (c == ',') {
            int j = skipSpace(i + 1);
            if (j == buf.length() && !ended) {
                return false;
            }
            if (j < buf.length() && buf.charAt(j) == '{') {
                buf.delete(0, j);
                beginCall(Container.ARRAY, 0, 0, true);
                return true;
            }
        }
        malformed = true;
        buf.delete(0, i);
        mode = Mode.TEXT;
        return true;
    }

    private boolean sequenceNext() {
        int i = 0;
        while (i < buf.length() && (isSpace(buf.charAt(i)) || buf.charAt(i) == ';')) {
            i++;
        }
        if (i == buf.length()) {
            if (!ended) {
                return false;
            }
            buf.setLength(0);
            mode = Mode.TEXT;
            return true;
        }
        buf.delete(0, i);
        if (buf.charAt(0) == '{') {
            beginCall(Container.SEQUENCE, 0, 0, false);
        } else {
            mode = Mode.TEXT;
        }
        return true;
    }

    // --- helpers

    private void beginCall(Container where, int start, int failLength, boolean failMalformed) {
        container = where;
        callStart = start;
        this.failLength = failLength;
        this.failMalformed = failMalformed;
        mode = Mode.CALL_PRE;
    }

    /** The object at {@link #callStart} is no call: its text is content, read again as text. */
    private boolean fail() {
        emitContent(0, failLength);
        failLength = 0;
        malformed |= failMalformed;
        failMalformed = false;
        mode = Mode.TEXT;
        return true;
    }

    /** Waits for more text, or at the end moves to {@code next}. */
    private boolean waitOr(Mode next) {
        if (!ended) {
            return false;
        }
        mode = next;
        return true;
    }

    /**
     * Scans JSON text from {@code from} with the current {@link #depth}: the index just past the
     * bracket that brings the depth to 0, or -1 when the buffer ends first.
     */
    private int scan(int from) {
        for (int i = from; i < buf.length(); i++) {
            char c = buf.charAt(i);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return -1;
    }

    /** Where the text that may not go out yet begins: a partial {@code <tool_call>} and the white space before it. */
    private int holdFrom() {
        int n = buf.length();
        int keep = 0;
        for (int k = Math.min(n, OPEN.length() - 1); k > 0; k--) {
            if (buf.indexOf(OPEN.substring(0, k), n - k) == n - k) {
                keep = k;
                break;
            }
        }
        return spaceBefore(n - keep);
    }

    private int spaceBefore(int at) {
        while (at > 0 && isSpace(buf.charAt(at - 1))) {
            at--;
        }
        return at;
    }

    private int skipSpace(int i) {
        while (i < buf.length() && isSpace(buf.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    private boolean startsWith(int at, String s) {
        return buf.length() - at >= s.length() && buf.indexOf(s, at) == at;
    }

    private void emitContent(int from, int to) {
        if (to > from) {
            content.append(buf, from, to);
            buf.delete(from, to);
        }
    }

    private void flushContent() {
        if (!content.isEmpty()) {
            out.add(StreamDelta.content(content.toString()));
            content.setLength(0);
        }
    }

    private void emitCall(ToolCallDelta delta) {
        flushContent();
        out.add(StreamDelta.call(delta));
    }

    // --- the head of a call object: {"name": "<tool>", "arguments": {

    private static final int NEED = -1;
    private static final int FAIL = -2;

    /**
     * Reads {@code {"name": "X", "arguments": } from {@code from}: the index of the arguments'
     * {@code {}, {@link #NEED} when the text so far could still become that, or {@link #FAIL}.
     * Sets {@link #parsedName}.
     */
    private int preParse(int from) {
        int i = skipSpace(from + 1);
        Str key = readString(i);
        if (key.end < 0) {
            return key.end == NEED && ("name".startsWith(key.value) || "type".startsWith(key.value)) ? NEED : FAIL;
        }
        if (key.value.equals("type")) { // Llama 3.2 may start with "type": "function"
            i = expect(key.end, ':');
            if (i < 0) {
                return i;
            }
            Str type = readString(i);
            if (type.end < 0) {
                return type.end == NEED && "function".startsWith(type.value) ? NEED : FAIL;
            }
            if (!type.value.equals("function")) {
                return FAIL;
            }
            i = expect(type.end, ',');
            if (i < 0) {
                return i;
            }
            key = readString(i);
            if (key.end < 0) {
                return key.end == NEED && "name".startsWith(key.value) ? NEED : FAIL;
            }
        }
        if (!key.value.equals("name")) {
            return FAIL;
        }
        i = expect(key.end, ':');
        if (i < 0) {
            return i;
        }
        Str name = readString(i);
        if (name.end < 0) {
            return name.end == NEED && names.stream().anyMatch(n -> n.startsWith(name.value)) ? NEED : FAIL;
        }
        if (!names.contains(name.value)) {
            return FAIL;
        }
        i = expect(name.end, ',');
        if (i < 0) {
            return i;
        }
        Str key2 = readString(i);
        if (key2.end < 0) {
            return key2.end == NEED && ("arguments".startsWith(key2.value) || "parameters".startsWith(key2.value)) ? NEED : FAIL;
        }
        if (!key2.value.equals("arguments") && !key2.value.equals("parameters")) {
            return FAIL;
        }
        i = expect(key2.end, ':');
        if (i < 0) {
            return i;
        }
        if (buf.charAt(i) != '{') {
            return FAIL;
        }
        parsedName = name.value;
        return i;
    }

    /** After white space, {@code c}, then white space: the index of what follows, or NEED/FAIL. */
    private int expect(int i, char c) {
        i = skipSpace(i);
        if (i == buf.length()) {
            return NEED;
        }
        if (buf.charAt(i) != c) {
            return FAIL;
        }
        i = skipSpace(i + 1);
        return i == buf.length() ? NEED : i;
    }

    /** A JSON string read at {@code i}: end is the index past its quote, or NEED (value: what was read) or FAIL. */
    private record Str(int end, String value) {}

    private Str readString(int i) {
        if (i >= buf.length()) {
            return new Str(NEED, "");
        }
        if (buf.charAt(i) != '"') {
            return new Str(FAIL, "");
        }
        StringBuilder value = new StringBuilder();
        for (int j = i + 1; ; ) {
            if (j >= buf.length()) {
                return new Str(NEED, value.toString());
            }
            char c = buf.charAt(j);
            if (c == '"') {
                return new Str(j + 1, value.toString());
            }
            if (c < 0x20) {
                return new Str(FAIL, "");
            }
            if (c != '\\') {
                value.append(c);
                j++;
                continue;
            }
            if (j + 1 >= buf.length()) {
                return new Str(NEED, value.toString());
            }
            char e = buf.charAt(j + 1);
            if (e == 'u') {
                if (j + 6 > buf.length()) {
                    return new Str(NEED, value.toString());
                }
                try {
                    value.append((char) Integer.parseInt(buf.substring(j + 2, j + 6), 16));
                } catch (NumberFormatException ex) {
                    return new Str(FAIL, "");
                }
                j += 6;
                continue;
            }
            int k = "\"\\/bfnrt".indexOf(e);
            if (k < 0) {
                return new Str(FAIL, "");
            }
            value.append("\"\\/\b\f\n\r\t".charAt(k));
            j += 2;
        }
    }
}
