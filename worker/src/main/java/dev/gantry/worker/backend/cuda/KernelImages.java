package dev.gantry.worker.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The compiled kernels packed into the worker's jar by {@code src/main/cuda/build.sh}: for every
 * {@code .cu} file ("module") PTX for sm_80 and a cubin for sm_90, under {@code
 * /dev/gantry/worker/cuda/}, with {@code MODULES} listing the modules and {@code BUILD} naming the
 * nvcc that made them. A build without nvcc has none.
 */
public final class KernelImages {
    private static final String DIR = "/dev/gantry/worker/cuda/";

    private KernelImages() {}

    /** The modules in the jar; empty when the worker was built without nvcc. */
    public static List<String> modules() {
        String list = text("MODULES");
        return list == null ? List.of() : Arrays.stream(list.split("\n")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** The nvcc that compiled them ("nvcc 13.0"), or null. */
    public static String compiler() {
        String build = text("BUILD");
        return build == null ? null : build.strip();
    }

    /**
     * The image to load for a GPU of compute capability {@code major.minor}: the sm_90 cubin on an
     * sm_90 GPU (no JIT at start), else the PTX, which the driver compiles for any GPU from sm_80 on.
     */
    public static Image image(String module, int major, int minor) {
        if (major == 9 && minor == 0) {
            byte[] cubin = bytes(module + ".sm_90.cubin");
            if (cubin != null) {
                return new Image(module, "sm_90 cubin", cubin);
            }
        }
        byte[] ptx = bytes(module + ".sm_80.ptx");
        if (ptx == null) {
            throw new IllegalStateException("the worker's jar has no kernels of module " + module);
        }
        byte[] terminated = Arrays.copyOf(ptx, ptx.length + 1); // cuModuleLoadData reads PTX as a C string
        return new Image(module, "sm_80 PTX", terminated);
    }

    /** One module's code as cuModuleLoadData takes it. */
    public record Image(String module, String kind, byte[] data) {}

    private static String text(String name) {
        byte[] b = bytes(name);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static byte[] bytes(String name) {
        try (InputStream in = KernelImages.class.getResourceAsStream(DIR + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
