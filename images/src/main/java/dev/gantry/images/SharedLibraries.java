package dev.gantry.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The C library a jlink'd runtime links against, for the scratch-based images: the JDK's binaries
 * are dynamically linked against glibc, and an empty base has none. Found with ldd on every ELF
 * file of the runtime, so the image carries exactly what the runtime loads (libc, libm, libdl,
 * libpthread, librt and the dynamic loader on glibc 2.34+, where nss files/dns live in libc).
 */
public final class SharedLibraries {
    /** "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)". */
    private static final Pattern RESOLVED = Pattern.compile("^\\s*\\S+\\s+=>\\s+(/\\S+)\\s+\\(0x[0-9a-f]+\\)");
    private static final Pattern LOADER = Pattern.compile("^\\s*(/\\S+)\\s+\\(0x[0-9a-f]+\\)");
    private static final Pattern NOT_FOUND = Pattern.compile("^\\s*(\\S+)\\s+=>\\s+not found");

    /**
     * Loaded at run time through dlopen, so ldd does not list it: glibc opens libgcc_s when a
     * thread is cancelled or unwinds (pthread_exit, pthread_cancel).
     */
    static final List<String> DLOPENED = List.of("libgcc_s.so.1");

    private SharedLibraries() {
    }

    /**
     * The absolute host paths (as the loader looks them up, symbolic links not resolved) of the
     * libraries outside {@code runtime} that its ELF files need.
     */
    public static Set<Path> of(Path runtime) throws IOException, InterruptedException {
        Set<Path> libraries = new TreeSet<>();
        List<String> missing = new ArrayList<>();
        for (Path elf : elfFiles(runtime)) {
            String ldd = Processes.run(List.of("ldd", elf.toString()), runtime, "ldd");
            for (String line : ldd.split("\n")) {
                Matcher notFound = NOT_FOUND.matcher(line);
                if (notFound.find()) {
                    // libjvm.so is found by the launcher at run time, not through the loader's path.
                    if (!notFound.group(1).equals("libjvm.so")) {
                        missing.add(runtime.relativize(elf) + " needs " + notFound.group(1));
                    }
                    continue;
                }
                Matcher m = RESOLVED.matcher(line);
                Matcher loader = LOADER.matcher(line);
                Path lib = m.find() ? Path.of(m.group(1)) : loader.find() ? Path.of(loader.group(1)) : null;
                if (lib != null && !lib.normalize().startsWith(runtime.toAbsolutePath().normalize())) {
                    libraries.add(lib.normalize());
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new IOException("the runtime needs libraries this machine lacks: " + missing);
        }
        if (libraries.isEmpty()) {
            throw new IOException("ldd found no C library under " + runtime + ": is this a glibc system?");
        }
        Path libc = libraries.stream().filter(p -> p.getFileName().toString().startsWith("libc.so")).findFirst()
                .orElseThrow(() -> new IOException("ldd found no libc for " + runtime));
        for (String name : DLOPENED) {
            Path lib = libc.resolveSibling(name);
            if (Files.exists(lib)) {
                libraries.add(lib);
            }
        }
        return libraries;
    }

    static List<Path> elfFiles(Path runtime) throws IOException {
        try (Stream<Path> files = Files.walk(runtime)) {
            return files.filter(Files::isRegularFile).filter(SharedLibraries::isElf).sorted().toList();
        }
    }

    private static boolean isElf(Path file) {
        try (var in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }
}
