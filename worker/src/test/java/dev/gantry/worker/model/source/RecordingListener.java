package dev.gantry.worker.model.source;

import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every download event, in order, for tests to assert on. */
final class RecordingListener implements DownloadListener {
    /** One call: its kind, the byte count it carried, and the total. */
    record Event(String kind, long bytes, long total) {}

    final List<Event> events = new CopyOnWriteArrayList<>();
    final List<URI> sources = new CopyOnWriteArrayList<>();

    @Override
    public void started(HubFile file, URI source, long resumedFrom, long totalBytes) {
        sources.add(source);
        events.add(new Event("started", resumedFrom, totalBytes));
    }

    @Override
    public void progressed(HubFile file, long bytesDone, long totalBytes) {
        events.add(new Event("progressed", bytesDone, totalBytes));
    }

    @Override
    public void interrupted(HubFile file, long bytesDone, String reason) {
        events.add(new Event("interrupted", bytesDone, -1));
    }

    @Override
    public void finished(HubFile file, long totalBytes) {
        events.add(new Event("finished", totalBytes, totalBytes));
    }

    List<Event> of(String kind) {
        return events.stream().filter(e -> e.kind().equals(kind)).toList();
    }

    /** The byte counts of the progress events, in order. */
    List<Long> progress() {
        return of("progressed").stream().map(Event::bytes).toList();
    }
}
