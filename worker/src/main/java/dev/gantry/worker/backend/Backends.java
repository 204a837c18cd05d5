package dev.gantry.worker.backend;

import dev.gantry.worker.backend.cpu.VectorBackend;
import java.util.List;

/** Creates a backend by the name users give on the command line or in configuration. */
public final class Backends {
    /** Names accepted by {@link #create}. */
    public static final List<String> NAMES = List.of("cpu", "reference");

    private Backends() {}

    /**
     * @param name    {@code cpu} (Vector API, many threads) or {@code reference} (scalar, one thread, for checking)
     * @param threads threads for the CPU backend; 0 or less means one per available processor
     */
    public static Backend create(String name, int threads) {
        return create(name, threads, ActivationPrecision.F32);
    }

    /**
     * @param name      {@code cpu} (Vector API, many threads) or {@code reference} (scalar, one thread, for checking)
     * @param threads   threads for the CPU backend; 0 or less means one per available processor
     * @param precision {@link ActivationPrecision#Q8} to compute quantized products as llama.cpp does
     */
    public static Backend create(String name, int threads, ActivationPrecision precision) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (name) {
            case "cpu" -> new VectorBackend(n, precision);
            case "reference" -> new ReferenceBackend(precision);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (choose one of " + NAMES + ")");
        };
    }
}
