package dev.gantry.operator;

import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.config.dependent.DependentResourceSpec;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResourceFactory;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.function.Consumer;

/**
 * Runs the reconciler without Quarkus, against a given client: what integration tests against a
 * real API server (e.g. io.fabric8:kube-api-test) use.
 *
 * <pre>{@code
 * Operator operator = StandaloneOperator.create(client, config);
 * operator.start();      // informers sync, reconciling starts
 * ...
 * operator.stop();
 * }</pre>
 *
 * Under Quarkus, CDI builds the dependents and injects {@link OperatorConfig}; here a dependent
 * factory hands it to the constructors that take one. A test gets a config with every default
 * as {@code dev.gantry.operator.Fixtures.config()} in the test sources builds it (plain SmallRye
 * Config with Quarkus's duration converter), or its own values the same way.
 */
public final class StandaloneOperator {

    private StandaloneOperator() {
    }

    public static Operator create(KubernetesClient client, OperatorConfig config) {
        return create(client, config, overrider -> {
        });
    }

    /**
     * As {@link #create(KubernetesClient, OperatorConfig)}, with further JOSDK settings applied last
     * (a test's {@code withMetrics(...)} to count reconciles, say).
     */
    public static Operator create(KubernetesClient client, OperatorConfig config,
            Consumer<ConfigurationServiceOverrider> settings) {
        Operator operator = new Operator(o -> {
            o.withKubernetesClient(client)
                    .withCloseClientOnStop(false)
                    // The CRD comes from crds/; the test installs it and the local model must match it.
                    .checkingCRDAndValidateLocalModel(false)
                    .withDependentResourceFactory(new ConfigInjectingFactory(config));
            settings.accept(o);
        });
        operator.register(new LLMDeploymentReconciler());
        return operator;
    }

    /** Builds dependents with their (OperatorConfig) constructor where they have one. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    private record ConfigInjectingFactory(OperatorConfig config) implements DependentResourceFactory {
        @Override
        public DependentResource createFrom(DependentResourceSpec spec, ControllerConfiguration controller) {
            Class<?> type = spec.getDependentResourceClass();
            DependentResource dependent;
            try {
                Constructor<?> withConfig = findConfigConstructor(type);
                dependent = (DependentResource) (withConfig != null
                        ? withConfig.newInstance(config)
                        : type.getDeclaredConstructor().newInstance());
            } catch (InstantiationException | IllegalAccessException | InvocationTargetException
                    | NoSuchMethodException e) {
                throw new IllegalStateException("cannot build dependent " + type.getName(), e);
            }
            configure(dependent, spec, controller);
            return dependent;
        }

        private static Constructor<?> findConfigConstructor(Class<?> type) {
            try {
                return type.getConstructor(OperatorConfig.class);
            } catch (NoSuchMethodException e) {
                return null;
            }
        }
    }
}
