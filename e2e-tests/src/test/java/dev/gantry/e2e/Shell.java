package dev.gantry.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command to its end, within a time limit, and keeps what it printed. */
final class Shell {

    /** What a finished command left: its exit code and output. */
    record Result(List<String> command, int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        /** The output, or an error with everything a person needs to see why it failed. */
        String orThrow() {
            if (exit != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited " + exit + "\nstdout:\n"
                        + tail(out) + "\nstderr:\n" + tail(err));
            }
            return out;
        }

        private static String tail(String s) {
            return s.length() <= 8000 ? s : "..." + s.substring(s.length() - 8000);
        }
    }

    private Shell() {
    }

    static Result run(Duration limit, Map<String, String> env, String stdin, List<String> command) {
        return run(limit, env, stdin, command, null);
    }

    /** @param echo where to copy the output as it comes (a long command's progress), or null */
    static Result run(Duration limit, Map<String, String> env, String stdin, List<String> command, OutputStream echo) {
        ProcessBuilder pb = new ProcessBuilder(command).directory(Cluster.REPO.toFile());
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread o = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out, echo));
            Thread e = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err, echo));
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                o.join(5000);
                e.join(5000);
                return new Result(command, 124, out.toString(StandardCharsets.UTF_8),
                        err.toString(StandardCharsets.UTF_8) + "\n(killed after " + limit + ")");
            }
            o.join();
            e.join();
            return new Result(command, p.exitValue(), out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot run " + command, ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command, ex);
        }
    }

    private static void copy(InputStream from, ByteArrayOutputStream to, OutputStream echo) {
        byte[] buf = new byte[8192];
        try (from) {
            for (int n; (n = from.read(buf)) > 0; ) {
                synchronized (to) {
                    to.write(buf, 0, n);
                }
                if (echo != null) {
                    synchronized (echo) {
                        echo.write(buf, 0, n);
                        echo.flush();
                    }
                }
            }
        } catch (IOException ignored) {
            // the process went away; what was read is kept
        }
    }
}
