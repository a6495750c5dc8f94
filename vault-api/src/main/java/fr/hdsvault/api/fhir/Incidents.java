package fr.hdsvault.api.fhir;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How the vault logs an unexpected exception: the classes of its cause chain and where each was
 * thrown, never a message. Messages (a parser's, a driver's, HAPI's) can quote request content.
 */
public final class Incidents {

    private static final int FRAMES = 3;

    private Incidents() {
    }

    /**
     * What the client may read when a request failed because a service the vault depends on is
     * out (the index database, the object store): an outage, answered 503 so that clients and
     * load balancers retry, not a 500; null when the failure is something else.
     */
    public static String unavailable(Throwable e) {
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof org.springframework.dao.DataAccessResourceFailureException
                    || t instanceof org.springframework.dao.TransientDataAccessResourceException
                    || t instanceof org.springframework.dao.RecoverableDataAccessException
                    || t instanceof org.springframework.transaction.CannotCreateTransactionException
                    || t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLRecoverableException
                    || t instanceof java.sql.SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
                return "The index database is unavailable; retry later";
            }
            if (t instanceof fr.hdsvault.storage.StoreUnavailableException) {
                return "The object store is unavailable; retry later";
            }
        }
        return null;
    }

    public static String describe(Throwable e) {
        List<String> parts = new ArrayList<>();
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            StringBuilder part = new StringBuilder(t.getClass().getName());
            StackTraceElement[] frames = t.getStackTrace();
            for (int i = 0; i < Math.min(FRAMES, frames.length); i++) {
                part.append(i == 0 ? " at " : " < ").append(frames[i].getClassName()).append('.')
                        .append(frames[i].getMethodName()).append(':').append(frames[i].getLineNumber());
            }
            parts.add(part.toString());
        }
        return String.join(", caused by ", parts);
    }
}
