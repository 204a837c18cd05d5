package dev.gantry.worker.engine.kv;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The content key of one full KV block: SHA-256 over the parent block's key and this block's
 * token ids. Because the parent key covers everything before it, equal keys mean equal token
 * prefixes up to and including this block, and therefore equal K/V (same model, same weights).
 *
 * <p>All 256 bits take part in {@link #equals}; the 32-bit {@link #hashCode} only spreads keys
 * over hash-map buckets, so an accidental match would need a SHA-256 collision.
 */
public record BlockHash(long w0, long w1, long w2, long w3) {

    // Domain-separation tags so that a root block can never hash like a child of some parent.
    private static final byte ROOT = 0;
    private static final byte CHILD = 1;

    /** A reusable hasher; like {@link MessageDigest}, one instance must not be shared across threads. */
    public static final class Hasher {
        private final MessageDigest sha;
        private ByteBuffer buffer = ByteBuffer.allocate(1 + 32 + 4 * 16);

        public Hasher() {
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required by every Java platform", e);
            }
        }

        /**
         * The key of the block holding {@code tokens[from, to)}, chained to {@code parent} (null
         * for the first block of a sequence).
         */
        public BlockHash hash(BlockHash parent, int[] tokens, int from, int to) {
            if (from < 0 || to > tokens.length || from >= to) {
                throw new IllegalArgumentException(
                        "block token range [" + from + ", " + to + ") is not inside " + tokens.length + " tokens");
            }
            int bytes = 1 + 32 + 4 * (to - from);
            if (buffer.capacity() < bytes) {
                buffer = ByteBuffer.allocate(bytes);
            }
            buffer.clear();
            if (parent == null) {
                buffer.put(ROOT);
            } else {
                buffer.put(CHILD).putLong(parent.w0).putLong(parent.w1).putLong(parent.w2).putLong(parent.w3);
            }
            for (int i = from; i < to; i++) {
                buffer.putInt(tokens[i]);
            }
            sha.update(buffer.array(), 0, buffer.position());
            ByteBuffer digest = ByteBuffer.wrap(sha.digest());
            return new BlockHash(digest.getLong(), digest.getLong(), digest.getLong(), digest.getLong());
        }
    }
}
