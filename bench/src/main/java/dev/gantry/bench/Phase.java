package dev.gantry.bench;

import java.util.List;

/**
 * What one phase (a level's warm-up, or its measured requests) produced.
 *
 * @param results         every finished request, in the order they finished
 * @param durationNanos   from the first send to the last request's end
 * @param abortedBy       the connect failure that stopped the run, or null
 * @param sendOffsetNanos when each request was sent, after the phase's start, in sending order
 */
public record Phase(List<RequestResult> results, long durationNanos, RequestError abortedBy, long[] sendOffsetNanos) {

    public boolean aborted() {
        return abortedBy != null;
    }
}
