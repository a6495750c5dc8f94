package fr.hdsvault.backup;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Object copies and checks wait on the stores, not the CPU: a few named daemon threads run them in parallel. */
public final class Workers {

    private Workers() {
    }

    public static ExecutorService pool(String name, int threads) {
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }
}
