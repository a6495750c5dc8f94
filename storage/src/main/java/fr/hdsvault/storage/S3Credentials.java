package fr.hdsvault.storage;

/** An S3 access key pair. {@link #toString()} hides the secret. */
public record S3Credentials(String accessKey, String secretKey) {
    @Override
    public String toString() {
        return "S3Credentials[" + accessKey + ", secret hidden]";
    }
}
