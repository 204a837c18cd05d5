package dev.gantry.worker.api;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Backends;
import dev.gantry.worker.config.InvalidConfigException;
import dev.gantry.worker.config.ServingPlan;
import dev.gantry.worker.config.WorkerConfig;
import dev.gantry.worker.config.WorkerSettings;
import dev.gantry.worker.engine.Engine;
import dev.gantry.worker.engine.EngineRequest;
import dev.gantry.worker.engine.FinishReason;
import dev.gantry.worker.engine.RequestHandle;
import dev.gantry.worker.engine.RequestListener;
import dev.gantry.worker.engine.RequestRejectedException;
import dev.gantry.worker.engine.RequestResult;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.source.ConsoleProgress;
import dev.gantry.worker.model.source.HubSettings;
import dev.gantry.worker.model.source.ModelLocator;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Brings the worker up and down. On start it loads the model on a background thread (so that
 * {@code /health/live} answers during a long download), builds and warms the engine, then turns
 * ready. Any failure on the way ends the process with exit code 1, the reason in the log and, as
 * one classified line ({@link StartFailure}), in the termination-message file that Kubernetes
 * shows in the pod's status: a worker that cannot serve must not linger unready, and must say why.
 * While it loads, {@link #progress()} says how far it got (the readiness check shows it).
 *
 * <p>Shutdown (SIGTERM) runs in Quarkus's order: in the pre-shutdown phase
 * ({@link ShutdownDelayInitiatedEvent}, enabled by {@code quarkus.shutdown.delay-enabled}) the
 * worker turns unready and answers new API requests with 503 while the requests in flight finish,
 * up to {@code gantry.drain-timeout}; then the engine closes, aborting what is left. Only after
 * that does Quarkus's HTTP layer refuse requests and close the server (within
 * {@code quarkus.shutdown.timeout}), and {@link ShutdownEvent} frees the model.
 */
@ApplicationScoped
public class WorkerLifecycle {
    private static final Logger LOG = Logger.getLogger(WorkerLifecycle.class);
    private static final long WARM_UP_MINUTES = 10;

    /** Where the worker is in its life; only {@link #READY} serves. */
    public enum State { STARTING, LOADING, READY, DRAINING, STOPPED, FAILED }

    @Inject
    WorkerConfig config;

    @Inject
    MeterRegistry registry;

    private volatile State state = State.STARTING;
    private volatile WorkerSettings settings;
    private volatile ServingPlan plan;
    private volatile Model model;
    private volatile Backend backend;
    private volatile Engine engine;
    private final AtomicBoolean engineClosed = new AtomicBoolean();
    private final LoadProgress progress = new LoadProgress();

    void onStart(@Observes StartupEvent event) {
        try {
            settings = WorkerSettings.resolve(config);
        } catch (InvalidConfigException e) {
            fail(StartFailure.of(e, config.model().orElse(null)), "invalid configuration: " + e.getMessage());
            return;
        }
        state = State.LOADING;
        Thread.ofPlatform().name("gantry-model-loader").daemon().start(this::load);
    }

    private void load() {
        long start = System.nanoTime();
        try {
            WorkerSettings s = settings;
            if (s.modelUri().strip().toLowerCase(Locale.ROOT).startsWith("hf:")) {
                progress.enter(LoadProgress.Phase.DOWNLOADING);
            }
            // Progress on stderr (in a pod's log: a line per tenth of the file or every 10 s), and
            // for the readiness check.
            ModelLocator locator = new ModelLocator(HubSettings.fromEnvironment(),
                    ConsoleProgress.stderr().andThen(progress));
            Path path = locator.resolve(s.modelUri());
            progress.enter(LoadProgress.Phase.LOADING);
            LOG.infof("loading model %s", path);
            model = Model.load(path);
            backend = Backends.open(s.device(), s.cudaGraphs(), s.backend(), s.threads(), s.activations(),
                    LOG::info);
            if (backend instanceof dev.gantry.worker.backend.cpu.VectorBackend cpu) {
                LOG.info(cpu.describe());
            }
            if (!backend.kvCacheDtypes().contains(s.kvCacheDtype())) { // e.g. device auto that found a GPU
                throw dev.gantry.worker.config.InvalidConfigException.of("kv-cache-dtype", s.kvCacheDtype().label()
                        + " is not stored by the " + backend.name() + " backend, which stores "
                        + backend.kvCacheDtypes().stream().map(d -> d.label()).toList());
            }
            backend.prepare(model.weights().all());
            java.util.OptionalLong deviceFree = backend.deviceMemoryFree();
            ServingPlan p = ServingPlan.of(s, model.name(), model.config(),
                    deviceFree.isPresent() ? deviceFree.getAsLong() : freeHostBytes(backend), deviceFree.isPresent());
            LOG.info(p.describe());
            if (backend instanceof dev.gantry.worker.backend.cuda.CudaBackend) {
                dev.gantry.worker.backend.cuda.Nvml.open()
                        .ifPresent(nvml -> dev.gantry.worker.metrics.GpuMetrics.register(registry, nvml));
            }
            Engine e = new Engine(model, backend, p.engine(), registry, p.servedModelName());
            // At zero from the start: an HPA on requests per second must find the series of a
            // worker that has had no request yet.
            for (GenerationRequest.Endpoint endpoint : GenerationRequest.Endpoint.values()) {
                GenerationHandler.arrivals(registry, endpoint, p.servedModelName());
            }
            engine = e;
            plan = p;
            e.start();
            progress.enter(LoadProgress.Phase.WARMING);
            warmUp(e, model);
            boolean ready = false;
            synchronized (this) {
                if (state == State.LOADING) {
                    state = State.READY;
                    ready = true;
                }
            }
            if (!ready) {
                closeAll(); // shut down while loading: free what was built
                return;
            }
            LOG.infof("ready: model '%s' loaded and warmed up in %.1f s", p.servedModelName(),
                    (System.nanoTime() - start) / 1e9);
        } catch (InvalidConfigException e) {
            fail(StartFailure.of(e, modelUri()), "invalid configuration: " + e.getMessage());
        } catch (ModelLoadException e) {
            fail(StartFailure.of(e, modelUri()), "cannot load the model: " + e.getMessage());
        } catch (dev.gantry.worker.backend.cuda.CudaUnavailableException e) {
            fail(StartFailure.of(e, modelUri()), "no GPU to compute on (device cuda): " + e.getMessage());
        } catch (Throwable e) {
            LOG.error("start failed", e);
            fail(StartFailure.of(e, modelUri()), "cannot start: " + e);
        }
    }

    /** One greedy token through the whole path, so the first client does not pay for JIT and allocation. */
    private static void warmUp(Engine engine, Model model) throws Exception {
        int[] prompt = model.tokenizer().encode("Hello", model.tokenizer().addBosByDefault(), false);
        if (prompt.length == 0) {
            prompt = new int[] {model.tokenizer().bosId()};
        }
        SamplingParams greedy = SamplingParams.defaults().withTemperature(0).withMaxTokens(1);
        CompletableFuture<RequestResult> done = new CompletableFuture<>();
        engine.submit(new EngineRequest("warmup", prompt, greedy), new RequestListener() {
            @Override
            public void onOutput(int[] newTokenIds, String textDelta, dev.gantry.worker.model.sample.TokenLogprobs[] logprobs) {}

            @Override
            public void onFinish(RequestResult result) {
                done.complete(result);
            }
        });
        RequestResult result = done.get(WARM_UP_MINUTES, TimeUnit.MINUTES);
        if (result.finishReason() == FinishReason.ERROR || result.finishReason() == FinishReason.ABORT) {
            throw new IllegalStateException("the warm-up request failed: " + result.finishReason()
                    + (result.error() != null ? ": " + result.error() : ""));
        }
    }

    /** Host memory outside the heap the KV cache may take, the backend's packed weights counted. */
    private static long freeHostBytes(Backend backend) {
        return dev.gantry.worker.config.HostMemory.freeForKvCache(backend.hostNativeBytes());
    }

    private String modelUri() {
        WorkerSettings s = settings;
        return s != null ? s.modelUri() : config.model().orElse(null);
    }

    /**
     * Logs the failure, leaves its line in the termination-message file, frees what was built and
     * exits 1.
     */
    private void fail(StartFailure failure, String logMessage) {
        synchronized (this) {
            if (state == State.STOPPED || state == State.DRAINING) {
                return; // shutting down anyway; the failure is a consequence
            }
            state = State.FAILED;
        }
        LOG.errorf("gantry: %s", logMessage);
        Path file = config.terminationMessagePath();
        if (failure.writeTo(file)) {
            LOG.debugf("wrote the termination message to %s", file);
        } else {
            LOG.debugf("no termination message written: %s cannot be written here (not in a pod?)", file);
        }
        closeAll();
        Quarkus.asyncExit(1);
    }

    /** Pre-shutdown: unready, refuse new requests, let those in flight finish, then close the engine. */
    void onPreShutdown(@Observes ShutdownDelayInitiatedEvent event) {
        synchronized (this) {
            if (state != State.READY) {
                state = state == State.FAILED ? State.FAILED : State.STOPPED;
                return;
            }
            state = State.DRAINING;
        }
        Engine e = engine;
        Duration timeout = settings.drainTimeout();
        int waiting = e.inFlight();
        LOG.infof("shutting down: unready; draining %d request(s) for up to %s", waiting, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (e.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = e.inFlight();
        if (left > 0) {
            LOG.warnf("drain timeout (%s) passed with %d request(s) in flight: aborting them", timeout, left);
        } else if (waiting > 0) {
            LOG.info("drained: all requests finished");
        }
        closeEngine();
    }

    void onShutdown(@Observes ShutdownEvent event) {
        synchronized (this) {
            if (state != State.FAILED) {
                state = State.STOPPED;
            }
        }
        closeAll();
    }

    private void closeEngine() {
        Engine e = engine;
        if (e != null && engineClosed.compareAndSet(false, true)) {
            try {
                e.close();
            } catch (RuntimeException ex) {
                LOG.warn("closing the engine failed", ex);
            }
        }
    }

    private synchronized void closeAll() {
        closeEngine();
        if (backend != null) {
            backend.close();
            backend = null;
        }
        if (model != null) {
            model.close();
            model = null;
        }
    }

    public State state() {
        return state;
    }

    /** How far loading got: meaningful while the state is {@link State#LOADING}. */
    public LoadProgress progress() {
        return progress;
    }

    /**
     * Hands a request to the engine if the worker is ready, or returns null. Under the lock that
     * also guards the start of a drain: a request is either refused, or counted among the
     * engine's requests in flight before the drain first looks. (Checking {@link #ready()} and then
     * submitting left a narrow window: a request passed the check, the drain saw nothing in flight
     * and closed the engine, which then aborted the request just submitted.)
     */
    public synchronized RequestHandle submitIfReady(EngineRequest request, RequestListener listener)
            throws RequestRejectedException {
        return submitIfReady(java.util.List.of(request), java.util.List.of(listener));
    }

    /** {@link Engine#submit(java.util.List, java.util.List)}: the choices of one request; null when not ready. */
    public synchronized RequestHandle submitIfReady(java.util.List<EngineRequest> requests,
            java.util.List<RequestListener> listeners) throws RequestRejectedException {
        Engine e = engine;
        if (state != State.READY || e == null) {
            return null;
        }
        return e.submit(requests, listeners);
    }

    /** Loaded, warmed up and not shutting down. */
    public boolean ready() {
        return state == State.READY;
    }

    /** The checked settings, or null before start or when they were invalid. */
    public WorkerSettings settings() {
        return settings;
    }

    /** How the model is served; null until it is loaded. */
    public ServingPlan plan() {
        return plan;
    }

    /** The loaded model; null until loaded and after shutdown. */
    public Model model() {
        return model;
    }

    /** The engine; null until the model is loaded. */
    public Engine engine() {
        return engine;
    }

    /** The {@code model_name} metric label: the served name once known. */
    public String modelLabel() {
        ServingPlan p = plan;
        if (p != null) {
            return p.servedModelName();
        }
        WorkerSettings s = settings;
        return s != null ? s.servedModelName().orElse("") : "";
    }
}
