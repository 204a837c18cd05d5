package dev.gantry.e2e;

import java.lang.reflect.Field;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Gives each scenario the cluster (a field of type {@link Cluster}, static, named {@code cluster}),
 * takes it down after the last one when this run brought it up, and on a failure leaves what a
 * person needs under {@code e2e-tests/target/e2e/<class>/<test>/} ({@link Diagnostics}).
 */
final class E2eExtension implements BeforeAllCallback, TestWatcher {

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Cluster cluster = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent("gantry-e2e-cluster", k -> new Closing(Cluster.get()), Closing.class).cluster;
        Class<?> test = context.getRequiredTestClass();
        for (Field f : test.getDeclaredFields()) {
            if (f.getType() == Cluster.class && java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                f.setAccessible(true);
                f.set(null, cluster);
            }
        }
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        String where = context.getRequiredTestClass().getSimpleName() + "/" + context.getRequiredTestMethod().getName();
        Diagnostics.collect(Cluster.get(), where, cause);
    }

    /** Closed by JUnit when the whole run ends. */
    @SuppressWarnings("deprecation") // CloseableResource: what JUnit versions before 5.13 close
    record Closing(Cluster cluster) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        @Override
        public void close() {
            cluster.close();
        }
    }
}
