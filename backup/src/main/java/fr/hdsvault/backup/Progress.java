package fr.hdsvault.backup;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/** Progress of a long operation (backup, verification, restore): called often, from several threads. */
@FunctionalInterface
public interface Progress {

    /**
     * @param phase what is being done ("objects", "items", "verify", ...)
     * @param done  units done in this phase
     * @param total units in this phase, or -1 when unknown
     * @param bytes bytes moved so far in this phase
     */
    void update(String phase, long done, long total, long bytes);

    Progress NONE = (phase, done, total, bytes) -> {
    };

    /** Both, in order: e.g. logging and a test's fault injection. */
    default Progress and(Progress other) {
        return (phase, done, total, bytes) -> {
            update(phase, done, total, bytes);
            other.update(phase, done, total, bytes);
        };
    }

    /** Logs one line per phase change, then at most one line every {@code every}, and the end of each phase. */
    static Progress logging(Logger log, String operation, Duration every) {
        return reporting(operation, every, log::info);
    }

    /** One line per phase change, then at most one every {@code every}, and the end of each phase, to {@code lines}. */
    static Progress reporting(String operation, Duration every, java.util.function.Consumer<String> lines) {
        AtomicLong last = new AtomicLong();
        String[] lastPhase = {""};
        return (phase, done, total, bytes) -> {
            long now = System.nanoTime();
            boolean end = total >= 0 && done == total;
            boolean newPhase;
            synchronized (lastPhase) {
                newPhase = !phase.equals(lastPhase[0]);
                lastPhase[0] = phase;
            }
            long previous = last.get();
            if (newPhase || end || now - previous >= every.toNanos() && last.compareAndSet(previous, now)) {
                last.set(now);
                lines.accept(operation + ": " + phase + " " + done + (total >= 0 ? "/" + total + String.format(" (%d%%)",
                        total == 0 ? 100 : done * 100 / total) : "") + (bytes > 0 ? ", " + bytes + " bytes" : ""));
            }
        };
    }
}
