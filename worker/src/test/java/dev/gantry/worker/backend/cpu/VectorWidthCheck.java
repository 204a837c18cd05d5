package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.BackendContractTest;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every case of {@link BackendContractTest} on {@link VectorBackend} in this JVM and exits
 * non-zero on any failure. {@link VectorWidthsTest} starts it in a child JVM with {@code
 * -Dgantry.vector.bits} set, because the vector width is fixed once per JVM (see {@link Simd}).
 * A tiny runner instead of JUnit's launcher, which the test classpath need not contain.
 */
final class VectorWidthCheck {
    private VectorWidthCheck() {}

    public static void main(String[] args) throws ReflectiveOperationException {
        VectorBackendTest test = new VectorBackendTest();
        test.openBackend();
        int run = 0;
        int failed = 0;
        Method[] methods = BackendContractTest.class.getDeclaredMethods();
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        try {
            for (Method m : methods) {
                MethodSource source = m.getAnnotation(MethodSource.class);
                if (m.getAnnotation(ParameterizedTest.class) == null || source == null) {
                    continue;
                }
                Method factory = BackendContractTest.class.getDeclaredMethod(source.value()[0]);
                factory.setAccessible(true);
                @SuppressWarnings("unchecked")
                Stream<Arguments> cases = (Stream<Arguments>) factory.invoke(null);
                for (Arguments c : (Iterable<Arguments>) cases::iterator) {
                    run++;
                    try {
                        m.invoke(test, c.get());
                    } catch (InvocationTargetException e) {
                        failed++;
                        System.out.println("FAILED " + m.getName() + Arrays.toString(c.get()) + ": " + e.getCause());
                    }
                }
            }
        } finally {
            test.closeBackend();
        }
        System.out.println("lanes=" + VectorBackend.vectorLanes() + " cases=" + run + " failed=" + failed);
        System.exit(failed == 0 ? 0 : 1);
    }
}
