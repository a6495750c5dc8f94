package fr.hdsvault.storage;

import java.io.InputStream;
import java.util.Random;
import java.util.function.LongConsumer;

/** A stream of pseudo-random bytes made on the fly (never held whole), telling how much it has produced. */
final class GeneratedStream extends InputStream {
    private final Random random;
    private final byte[] chunk = new byte[8192];
    private final LongConsumer onProduced;
    private long left;
    private long produced;

    GeneratedStream(long size, long seed, LongConsumer onProduced) {
        this.left = size;
        this.random = new Random(seed);
        this.onProduced = onProduced;
    }

    GeneratedStream(long size, long seed) {
        this(size, seed, n -> { });
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (left == 0) {
            return -1;
        }
        int n = (int) Math.min(Math.min(len, chunk.length), left);
        random.nextBytes(chunk);
        System.arraycopy(chunk, 0, b, off, n);
        left -= n;
        produced += n;
        onProduced.accept(produced);
        return n;
    }
}
