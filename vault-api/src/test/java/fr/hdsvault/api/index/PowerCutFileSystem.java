package fr.hdsvault.api.index;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.h2.store.fs.FileBaseDefault;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * An H2 file system ({@code jdbc:h2:powercut:/path/db}) that keeps, beside each database file
 * (and the audit journal the vault keeps beside it),
 * the image a disk would hold after a power cut: {@code <file>.durable} receives a write only
 * when H2 forces the file ({@code FileChannel.force}). Writes H2 made but never forced reach the
 * real file (and so survive a killed process) but not the image, until a later process forces
 * the file: an fsync writes every dirty page of the file, whoever wrote it. A test simulates a power cut
 * by killing the process and putting the image in place of the file ({@link #cutPower}), or, in
 * the same process, by copying the image while the database runs ({@link #snapshotImage}).
 * {@link #slowBackgroundSaves} models a slow disk under H2's background save thread, which
 * widens the window in which an asynchronous store is still being written.
 */
public final class PowerCutFileSystem extends FilePathWrapper {

    public static final String SCHEME = "powercut";
    static final String DURABLE_SUFFIX = ".durable";
    /** Held while a force applies writes to an image, so that a snapshot is never torn. */
    private static final Object IMAGES = new Object();
    private static volatile long backgroundSaveDelayMillis;

    /** Registers the scheme; call before H2 opens a {@code powercut:} URL. */
    public static void register() {
        FilePath.register(new PowerCutFileSystem());
    }

    /** What a power cut leaves of a stopped database file: only what was forced to disk. */
    public static void cutPower(Path databaseFile) throws IOException {
        Path image = Path.of(databaseFile + DURABLE_SUFFIX);
        if (Files.exists(image)) {
            Files.copy(image, databaseFile, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Copies what a power cut would leave of a running database file, as of now, to {@code target}. */
    public static void snapshotImage(Path databaseFile, Path target) throws IOException {
        synchronized (IMAGES) {
            Files.copy(Path.of(databaseFile + DURABLE_SUFFIX), target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Delays every write made by H2's background save thread ("H2-save") by {@code millis}. */
    public static void slowBackgroundSaves(long millis) {
        backgroundSaveDelayMillis = millis;
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        FileChannel real = getBase().open(mode);
        String file = getBase().toString();
        if ("r".equals(mode) || !file.endsWith(".mv.db") && !file.endsWith(".audit-journal")) {
            return real;
        }
        Path image = Path.of(file + DURABLE_SUFFIX);
        if (!Files.exists(image)) { // first open: the disk holds what the file holds now
            Files.copy(Path.of(file), image, StandardCopyOption.REPLACE_EXISTING);
        }
        return new ImagedChannel(real, image);
    }

    /** Passes everything to the real file; keeps unforced writes aside until force() applies them to the image. */
    private static final class ImagedChannel extends FileBaseDefault {
        private record Write(long position, byte[] bytes) {
        }

        private final FileChannel real;
        private final RandomAccessFile image;
        private final List<Write> pending = new ArrayList<>();
        /**
         * Until this channel's first force, the file may hold writes a killed process made and never
         * forced: they stay in the page cache, and the first fsync of the file, from any process,
         * writes them to disk with this process's own. So the first force takes the whole file.
         */
        private boolean firstForce = true;

        ImagedChannel(FileChannel real, Path image) throws IOException {
            this.real = real;
            this.image = new RandomAccessFile(image.toFile(), "rw");
        }

        @Override
        public synchronized int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            long delay = backgroundSaveDelayMillis;
            if (delay > 0 && Thread.currentThread().getName().startsWith("H2-save")) {
                try { // outside the channel's lock: a slow disk does not hold back a concurrent force
                    Thread.sleep(delay);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            synchronized (this) {
                ByteBuffer copy = src.duplicate();
                int written = real.write(src, position);
                byte[] bytes = new byte[written];
                copy.get(bytes);
                pending.add(new Write(position, bytes));
                return written;
            }
        }

        @Override
        protected synchronized void implTruncate(long size) throws IOException {
            real.truncate(size);
            pending.add(new Write(size, null));
        }

        @Override
        public synchronized void force(boolean metaData) throws IOException {
            real.force(metaData);
            synchronized (IMAGES) {
                if (firstForce) {
                    firstForce = false;
                    pending.clear();
                    image.setLength(0);
                    image.seek(0);
                    ByteBuffer all = ByteBuffer.allocate(64 * 1024);
                    for (long position = 0; real.read(all, position) > 0; position = image.length()) {
                        image.write(all.array(), 0, all.position());
                        all.clear();
                    }
                }
                for (Write w : pending) {
                    if (w.bytes() == null) {
                        image.setLength(Math.min(image.length(), w.position()));
                    } else {
                        image.seek(w.position());
                        image.write(w.bytes());
                    }
                }
                pending.clear();
                image.getFD().sync();
            }
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public synchronized FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
            image.close();
        }
    }
}
