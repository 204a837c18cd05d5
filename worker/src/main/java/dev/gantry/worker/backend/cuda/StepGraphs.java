package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.cuda.Device.Launch;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CUDA graphs for forward passes that repeat: a decode step of the same batch size runs the same
 * few hundred kernels with the same arguments (the small per-step arrays change, but they live at
 * the same staging addresses), so after it has been seen twice it is recorded as one graph and
 * each later step is one launch instead of hundreds.
 *
 * <p>How a pass goes: {@link #begin} starts recording; the backend's launches are held back
 * instead of issued ({@link #launch}); the staging copies still go to the device as they come,
 * which is safe because a pass writes each staging buffer with the same values however often it
 * asks for it (the staging calls {@link #flush} otherwise). {@link #end} then looks the recorded
 * sequence up: the same launches, argument for argument, replay their graph; a sequence seen
 * often enough becomes a graph; any other runs launch by launch. The graph is keyed by the whole
 * sequence, so a replay can only ever do exactly what the eager launches would have done.
 *
 * <p>Anything else during a recording that touches device memory the held launches may read
 * ({@link #flush}: an upload, a download, a staging buffer rewritten or freed) first issues the
 * held launches in order and ends the recording; the pass goes on eagerly.
 *
 * <p>Not thread-safe: the engine's step thread drives the backend.
 */
public final class StepGraphs implements AutoCloseable {
    /** A pass becomes a graph the second time it is seen: a one-off batch shape never pays for one. */
    static final int CAPTURE_AFTER = 2;
    /** Graphs kept, least recently used dropped first (each holds a few hundred nodes). */
    static final int MAX_GRAPHS = 64;
    private static final int MAX_SEEN = 1024;

    private static final System.Logger LOG = System.getLogger(StepGraphs.class.getName());

    private final Device device;
    private boolean enabled;
    private final Map<List<Launch>, Long> graphs = new LinkedHashMap<>(16, 0.75f, true);
    /** How often each recorded sequence (by hash) has been seen; a collision only captures early. */
    private final Map<Integer, Integer> seen = new LinkedHashMap<>(16, 0.75f, true);
    private List<Launch> pending;
    private long pass;
    private long replays;
    private long captures;
    private long eagerPasses;

    StepGraphs(Device device, boolean enabled) {
        this.device = device;
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    /** Starts recording a pass (when graphs are on). */
    void begin() {
        pass++;
        if (enabled) {
            if (pending != null) {
                throw new IllegalStateException("a forward pass is already being recorded");
            }
            pending = new ArrayList<>(512);
        }
    }

    /** The number of the current pass (staging uses it to know what this pass has asked for). */
    long pass() {
        return pass;
    }

    boolean recording() {
        return pending != null;
    }

    void launch(Launch l) {
        if (pending != null) {
            pending.add(l);
        } else {
            device.launch(l.kernel(), l.grid(), l.block(), l.sharedBytes(), l.args());
        }
    }

    /** Issues the held launches in order and stops recording: the rest of the pass runs eagerly. */
    void flush() {
        if (pending == null) {
            return;
        }
        List<Launch> held = pending;
        pending = null;
        eagerPasses++;
        for (Launch l : held) {
            device.launch(l.kernel(), l.grid(), l.block(), l.sharedBytes(), l.args());
        }
    }

    /** Ends the pass: replays or captures its graph, or issues its launches one by one. */
    void end() {
        if (pending == null) {
            return;
        }
        List<Launch> key = List.copyOf(pending);
        pending = null;
        if (key.isEmpty()) {
            return;
        }
        Long graph = graphs.get(key);
        if (graph == null && seen.merge(key.hashCode(), 1, Integer::sum) >= CAPTURE_AFTER) {
            graph = capture(key);
        }
        evict(seen, MAX_SEEN, false);
        if (graph == null) {
            eagerPasses++;
            for (Launch l : key) {
                device.launch(l.kernel(), l.grid(), l.block(), l.sharedBytes(), l.args());
            }
            return;
        }
        replays++;
        device.launchGraph(graph);
    }

    /** The graph of these launches, kept; null (and graphs off from now on) when the driver refuses to make one. */
    private Long capture(List<Launch> key) {
        seen.remove(key.hashCode());
        long graph;
        try {
            graph = device.createGraph(key);
        } catch (RuntimeException e) {
            enabled = false;
            LOG.log(System.Logger.Level.WARNING, "CUDA graphs are off: the driver could not make one ("
                    + e.getMessage() + "); every kernel is launched by itself from now on");
            return null;
        }
        graphs.put(key, graph);
        captures++;
        evict(graphs, MAX_GRAPHS, true);
        return graph;
    }

    private <K, V> void evict(Map<K, V> map, int max, boolean destroy) {
        Iterator<Map.Entry<K, V>> it = map.entrySet().iterator();
        while (map.size() > max && it.hasNext()) {
            V v = it.next().getValue();
            it.remove();
            if (destroy) {
                device.destroyGraph((Long) v);
            }
        }
    }

    /** Passes run as a replayed graph, graphs made, and passes run launch by launch, so far. */
    Stats stats() {
        return new Stats(replays, captures, eagerPasses, graphs.size());
    }

    public record Stats(long replays, long captures, long eagerPasses, int graphs) {}

    @Override
    public void close() {
        pending = null;
        for (long g : graphs.values()) {
            device.destroyGraph(g);
        }
        graphs.clear();
        seen.clear();
    }
}
