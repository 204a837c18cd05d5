package dev.gantry.worker.model.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tokenizer test vectors in llama.cpp's layout: an {@code .inp} file of texts, each followed by a
 * line {@code __ggml_vocab_test__}, and an {@code .out} file with one line of expected ids per text.
 */
final class VocabVectors {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    record Case(int index, String text, int[] ids) {
        @Override
        public String toString() {
            String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
            return "#" + index + " \"" + shown.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "\"";
        }
    }

    private VocabVectors() {}

    static List<Case> read(String inputs, String outputs) {
        List<String> texts = new ArrayList<>();
        int from = 0;
        for (int at; (at = inputs.indexOf(SEPARATOR, from)) >= 0; from = at + SEPARATOR.length()) {
            texts.add(inputs.substring(from, at));
        }
        List<String> lines = outputs.lines().toList();
        if (lines.size() != texts.size()) {
            throw new IllegalStateException(texts.size() + " inputs but " + lines.size() + " lines of ids");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String line = lines.get(i).trim();
            int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split("\\s+")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(i, texts.get(i), ids));
        }
        return cases;
    }

    static List<Case> readFiles(Path inp, Path out) {
        try {
            return read(Files.readString(inp, StandardCharsets.UTF_8), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Vectors committed under {@code src/test/resources/tokenizer/}: the shared inputs and {@code name.out}. */
    static List<Case> resource(String name) {
        return read(resourceText("inputs.inp"), resourceText(name + ".out"));
    }

    static String resourceText(String name) {
        try (InputStream in = VocabVectors.class.getResourceAsStream("/tokenizer/" + name)) {
            if (in == null) {
                throw new IllegalStateException("test resource tokenizer/" + name + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
