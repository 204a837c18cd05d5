package dev.gantry.worker.api;

import dev.gantry.worker.model.source.DownloadListener;
import dev.gantry.worker.model.source.HubFile;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a loading worker is: downloading its model (how far), loading it, or warming up. The
 * readiness check shows it, so that {@code kubectl get --raw .../health/ready} or a probe's body
 * tells a long download from a hang. Written by the loader thread, read by HTTP threads.
 */
public final class LoadProgress implements DownloadListener {
    /** The steps of loading, in order. */
    public enum Phase {
        /** Fetching the model file from the hub (or finding it in the cache). */
        DOWNLOADING,
        /** Mapping and checking the file, preparing the backend, sizing the KV cache. */
        LOADING,
        /** One request through the engine before the worker turns ready. */
        WARMING;

        /** The name the readiness check shows. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private volatile Phase phase = Phase.LOADING;
    private volatile String file;
    private volatile long bytesDone = -1;
    private volatile long bytesTotal = -1;

    public Phase phase() {
        return phase;
    }

    public void enter(Phase next) {
        phase = next;
    }

    @Override
    public void started(HubFile hubFile, URI source, long resumedFrom, long totalBytes) {
        phase = Phase.DOWNLOADING;
        file = hubFile.toString();
        bytesTotal = totalBytes;
        bytesDone = resumedFrom;
    }

    @Override
    public void progressed(HubFile hubFile, long done, long totalBytes) {
        bytesTotal = totalBytes;
        bytesDone = done;
    }

    @Override
    public void finished(HubFile hubFile, long totalBytes) {
        bytesTotal = totalBytes;
        bytesDone = totalBytes;
    }

    /**
     * The readiness check's data: {@code phase}, and while downloading {@code file},
     * {@code downloadedBytes} and {@code totalBytes} (when the hub announced a size).
     */
    public Map<String, Object> data() {
        Map<String, Object> data = new LinkedHashMap<>();
        Phase p = phase;
        data.put("phase", p.label());
        if (p == Phase.DOWNLOADING && file != null) {
            data.put("file", file);
            data.put("downloadedBytes", Math.max(0, bytesDone));
            long total = bytesTotal;
            if (total >= 0) {
                data.put("totalBytes", total);
            }
        }
        return data;
    }
}
