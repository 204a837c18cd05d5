package dev.gantry.worker.model.source;

import java.net.URI;

/**
 * Told how a download goes, on the thread that downloads. {@link ConsoleProgress} draws a
 * progress bar; tests record the calls. One listener may hear about several files at once when
 * several threads resolve different files, hence the file in every call.
 *
 * <p>One download is {@link #started}, then any number of {@link #progressed} calls with a byte
 * count that only grows, then {@link #finished} on success. A transfer that breaks off and is
 * resumed within the same resolve gets {@link #interrupted} and a new {@link #started}; when the
 * server ignores the range and the download starts over, {@link #started} comes with
 * {@code resumedFrom} 0. A download that fails gets no further call: the exception tells the
 * caller.
 */
public interface DownloadListener {
    /** A listener that ignores everything. */
    DownloadListener NONE = new DownloadListener() {
        @Override
        public void progressed(HubFile file, long bytesDone, long totalBytes) {}
    };

    /**
     * The response has arrived and its body is about to be read.
     *
     * @param file        the file being fetched
     * @param source      the URL the bytes come from, after redirects
     * @param resumedFrom bytes already on disk from an earlier attempt, 0 for a fresh download
     * @param totalBytes  the announced size of the whole file, or -1 when the server gave none
     */
    default void started(HubFile file, URI source, long resumedFrom, long totalBytes) {}

    /**
     * More bytes are on disk.
     *
     * @param bytesDone  bytes of the file on disk so far, counting resumed ones
     * @param totalBytes as in {@link #started}
     */
    void progressed(HubFile file, long bytesDone, long totalBytes);

    /**
     * The transfer broke off and will be resumed within the same resolve; {@link #started} follows.
     *
     * @param bytesDone bytes on disk, kept for the resumption
     * @param reason    what went wrong, for a person to read
     */
    default void interrupted(HubFile file, long bytesDone, String reason) {}

    /** The file is complete, checked, and in its final place. */
    default void finished(HubFile file, long totalBytes) {}

    /** A listener that tells this one, then {@code next}, of every call. */
    default DownloadListener andThen(DownloadListener next) {
        DownloadListener first = this;
        return new DownloadListener() {
            @Override
            public void started(HubFile file, URI source, long resumedFrom, long totalBytes) {
                first.started(file, source, resumedFrom, totalBytes);
                next.started(file, source, resumedFrom, totalBytes);
            }

            @Override
            public void progressed(HubFile file, long bytesDone, long totalBytes) {
                first.progressed(file, bytesDone, totalBytes);
                next.progressed(file, bytesDone, totalBytes);
            }

            @Override
            public void interrupted(HubFile file, long bytesDone, String reason) {
                first.interrupted(file, bytesDone, reason);
                next.interrupted(file, bytesDone, reason);
            }

            @Override
            public void finished(HubFile file, long totalBytes) {
                first.finished(file, totalBytes);
                next.finished(file, totalBytes);
            }
        };
    }
}
