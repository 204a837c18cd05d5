package dev.gantry.worker.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** {@code /health/ready}: up once the model is loaded and warmed, down again from the start of shutdown. */
@Readiness
@ApplicationScoped
public class WorkerReadiness implements HealthCheck {

    @Inject
    WorkerLifecycle lifecycle;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("model")
                .status(lifecycle.ready())
                .withData("state", lifecycle.state().name().toLowerCase(java.util.Locale.ROOT))
                .withData("model", lifecycle.modelLabel())
                .build();
    }
}
