package dev.gantry.operator.desired;

import java.util.Optional;

/**
 * Where a worker finds its model, from spec.model.uri: what GANTRY_MODEL and GANTRY_CACHE are,
 * and which PersistentVolumeClaim (if any) to mount.
 *
 * @param model the worker's GANTRY_MODEL: an hf:// URI or a path in the container
 * @param cacheDir the worker's GANTRY_CACHE
 * @param claimName the PVC holding the model, mounted read-only at {@link #PVC_MOUNT}; empty for other kinds
 */
public record ModelSource(String model, String cacheDir, Optional<String> claimName) {
    /** Where a pvc:// claim is mounted. */
    public static final String PVC_MOUNT = "/models";
    /**
     * Where hf:// downloads land: an emptyDir of the pod (downloads survive container restarts, not
     * pod moves), or the claim of spec.model.cache, shared by the workers.
     */
    public static final String CACHE_MOUNT = "/var/cache/gantry";

    public static ModelSource of(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("spec.model.uri is required");
        }
        if (uri.startsWith("pvc://")) {
            String rest = uri.substring("pvc://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new IllegalArgumentException("spec.model.uri: expected pvc://claim/path/in/claim, got " + uri);
            }
            // The claim is the cache too: the worker finds the file where the cache would hold it and
            // never writes, so the read-only mount is enough.
            return new ModelSource(PVC_MOUNT + "/" + rest.substring(slash + 1), PVC_MOUNT,
                    Optional.of(rest.substring(0, slash)));
        }
        if (uri.startsWith("hf://") || uri.startsWith("/")) {
            return new ModelSource(uri, CACHE_MOUNT, Optional.empty());
        }
        throw new IllegalArgumentException(
                "spec.model.uri: expected hf://owner/repo/file.gguf, pvc://claim/path or an absolute path, got " + uri);
    }

    public boolean fromClaim() {
        return claimName.isPresent();
    }
}
