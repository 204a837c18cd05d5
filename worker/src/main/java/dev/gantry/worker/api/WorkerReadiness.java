package dev.gantry.worker.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Locale;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * {@code /health/ready}: up once the model is loaded and warmed, down again from the start of
 * shutdown. While loading, its data also say the phase ({@code downloading}, {@code loading},
 * {@code warming}) and, while downloading, {@code file}, {@code downloadedBytes} and
 * {@code totalBytes}.
 */
@Readiness
@ApplicationScoped
public class WorkerReadiness implements HealthCheck {

    @Inject
    WorkerLifecycle lifecycle;

    @Override
    public HealthCheckResponse call() {
        WorkerLifecycle.State state = lifecycle.state();
        HealthCheckResponseBuilder response = HealthCheckResponse.named("model")
                .status(lifecycle.ready())
                .withData("state", state.name().toLowerCase(Locale.ROOT))
                .withData("model", lifecycle.modelLabel());
        if (state == WorkerLifecycle.State.LOADING) {
            // Which step, and how far a download is: a long start is then told from a stuck one.
            lifecycle.progress().data().forEach((key, value) -> {
                if (value instanceof Long n) {
                    response.withData(key, n);
                } else {
                    response.withData(key, String.valueOf(value));
                }
            });
        }
        return response.build();
    }
}
