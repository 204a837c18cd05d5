package dev.gantry.worker.backend;

import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.backend.cuda.CudaBackend;
import dev.gantry.worker.backend.cuda.CudaUnavailableException;
import dev.gantry.worker.backend.cuda.DriverDevice;
import java.util.List;
import java.util.function.Consumer;

/** Creates a backend by the name users give on the command line or in configuration. */
public final class Backends {
    /** Names accepted by {@link #create}. */
    public static final List<String> NAMES = List.of("cpu", "reference");
    /** Devices accepted by {@link #open}. */
    public static final List<String> DEVICES = List.of("auto", "cpu", "cuda");

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
    /**
     * The backend for a device choice: {@code cuda} the GPU (device 0) or an error saying why there
     * is none; {@code cpu} the CPU backend {@code cpuBackend}; {@code auto} the GPU where one is
     * usable, else the CPU, telling {@code notes} why. {@code cudaGraphs}: whether the GPU replays
     * repeated decode steps as CUDA graphs.
     *
     * @throws CudaUnavailableException for {@code cuda} without a usable GPU
     */
    public static Backend open(String device, boolean cudaGraphs, String cpuBackend, int threads,
            ActivationPrecision precision, Consumer<String> notes) {
        switch (device) {
            case "cuda" -> {
                return new CudaBackend(DriverDevice.open(0), cudaGraphs);
            }
            case "cpu" -> {
                return create(cpuBackend, threads, precision);
            }
            case "auto" -> {
                if (precision != ActivationPrecision.Q8) { // the GPU computes with float activations
                    try {
                        CudaBackend gpu = new CudaBackend(DriverDevice.open(0), cudaGraphs);
                        notes.accept("device auto: computing on " + gpu.device().name());
                        return gpu;
                    } catch (CudaUnavailableException e) {
                        notes.accept("device auto: computing on the CPU (" + e.getMessage() + ")");
                    } catch (RuntimeException | LinkageError e) { // auto must never keep a CPU-only machine from serving
                        notes.accept("device auto: computing on the CPU (the GPU could not be opened: " + e + ")");
                    }
                } else {
                    notes.accept("device auto: computing on the CPU (activations " + precision + " are CPU only)");
                }
                return create(cpuBackend, threads, precision);
            }
            default -> throw new IllegalArgumentException("unknown device '" + device + "' (choose one of " + DEVICES + ")");
        }
    }

    public static Backend create(String name, int threads, ActivationPrecision precision) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (name) {
            case "cpu" -> new VectorBackend(n, precision);
            case "reference" -> new ReferenceBackend(precision);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (choose one of " + NAMES + ")");
        };
    }
}
