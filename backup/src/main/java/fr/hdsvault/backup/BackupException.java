package fr.hdsvault.backup;

/** A backup, verification or restore that cannot go on; the message names the set, item or object key, never content. */
public class BackupException extends RuntimeException {

    public BackupException(String message) {
        super(message);
    }

    public BackupException(String message, Throwable cause) {
        super(message, cause);
    }
}
