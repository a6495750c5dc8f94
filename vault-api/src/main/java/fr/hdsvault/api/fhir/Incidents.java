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
