package fr.hdsvault.api.detection;

import java.io.IOException;

/** Where alerts are pushed (a SIEM, a webhook): delivered in the trail's order, at least once. */
interface AlertSink extends AutoCloseable {

    /** The sink's name in {@code alert_delivery} and in metrics labels: {@code syslog}, {@code webhook}. */
    String name();

    /** Returns once the receiver has it (as far as the protocol tells); throws otherwise, and is called again later. */
    void deliver(SecurityAlert alert) throws IOException;

    @Override
    default void close() {
    }
}
