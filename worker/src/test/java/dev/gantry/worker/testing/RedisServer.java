package dev.gantry.worker.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} for integration tests: started on a free loopback port with no
 * persistence, ready once it answers {@code PING}, and stopped on {@link #close()}. The binary
 * comes from Debian's {@code redis-server} package. {@link #command} talks RESP over a plain
 * socket, so tests can check what reached the server without the client under test.
 */
public final class RedisServer implements AutoCloseable {
    private static final List<Path> SEARCH_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/bin"));

    private final Path dir;
    private final int port;
    private Process process;

    private RedisServer(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Starts a fresh server and waits (up to 10 s) until it answers PING. */
    public static RedisServer start() {
        Path binary = findBinary();
        try {
            Path dir = Files.createTempDirectory("gantry-redis");
            int port = freePort();
            Process process = new ProcessBuilder(binary.toString(),
                    "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", dir.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.log").toFile())
                    .start();
            RedisServer server = new RedisServer(dir, port, process);
            server.awaitPing();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException("could not start " + binary, e);
        }
    }

    /** {@code redis-server} from PATH or the usual Debian locations. */
    public static Path findBinary() {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String entry : path.split(java.io.File.pathSeparator)) {
                if (!entry.isEmpty()) {
                    candidates.add(Path.of(entry));
                }
            }
        }
        candidates.addAll(SEARCH_DIRS);
        for (Path dir : candidates) {
            Path binary = dir.resolve("redis-server");
            if (Files.isExecutable(binary)) {
                return binary;
            }
        }
        throw new IllegalStateException("redis-server not found on PATH or in " + SEARCH_DIRS
                + ": install Debian's redis-server package (apt-get install redis-server)");
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /**
     * Sends one command and returns the reply: simple strings and bulk strings as text (UTF-8),
     * integers as their decimal text, a nil bulk string as {@code null}. Error replies throw.
     */
    public String command(String... args) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(5_000);
            ByteArrayOutputStream request = new ByteArrayOutputStream();
            request.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (String arg : args) {
                byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
                request.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                request.writeBytes(bytes);
                request.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            OutputStream out = socket.getOutputStream();
            out.write(request.toByteArray());
            out.flush();
            InputStream in = socket.getInputStream();
            String header = readLine(in);
            return switch (header.charAt(0)) {
                case '+', ':' -> header.substring(1);
                case '-' -> throw new IllegalStateException("redis error reply to " + args[0] + ": " + header.substring(1));
                case '$' -> {
                    int length = Integer.parseInt(header.substring(1));
                    if (length < 0) {
                        yield null;
                    }
                    byte[] body = in.readNBytes(length + 2);
                    yield new String(body, 0, length, StandardCharsets.UTF_8);
                }
                default -> throw new IllegalStateException("unexpected redis reply to " + args[0] + ": " + header);
            };
        } catch (IOException e) {
            throw new IllegalStateException("redis on port " + port + " did not answer " + args[0], e);
        }
    }

    /** Stops the server; it no longer accepts connections when this returns. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    @Override
    public void close() {
        stop();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A temp directory left behind is not worth failing a test over.
        }
    }

    private void awaitPing() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        IllegalStateException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited with " + process.exitValue() + ": " + log());
            }
            try {
                if ("PONG".equals(command("PING"))) {
                    return;
                }
            } catch (IllegalStateException e) {
                last = e;
            }
            sleep(50);
        }
        String log = log();
        close();
        throw new IllegalStateException("redis-server on port " + port + " did not answer PING within 10 s: " + log, last);
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("redis.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int previous = -1;
        for (int b = in.read(); b >= 0; b = in.read()) {
            if (previous == '\r' && b == '\n') {
                byte[] bytes = line.toByteArray();
                return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
            }
            line.write(b);
            previous = b;
        }
        throw new IOException("connection closed mid-reply");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for redis-server", e);
        }
    }
}
