package fr.hdsvault.crypto.tlog;

import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;

/**
 * A signed tree head in the C2SP {@code tlog-checkpoint} format, as a C2SP {@code signed-note}:
 *
 * <pre>
 * &lt;origin&gt;
 * &lt;tree size&gt;
 * &lt;base64 root hash&gt;
 * time &lt;ISO-8601 instant&gt;        (an extension line: when it was signed)
 *
 * — &lt;key name&gt; &lt;base64(key id || Ed25519 signature)&gt;
 * </pre>
 *
 * The signature covers the body (every line up to the blank line, newline included). The key id
 * is the first 4 bytes of {@code SHA-256(key name || "\n" || 0x01 || public key)}, as
 * signed-note specifies for Ed25519, so any note verifier can check it offline.
 */
public record Checkpoint(String origin, long size, byte[] rootHash, Instant time) {

    private static final String SIGNATURE_PREFIX = "\u2014 ";
    private static final byte ED25519_TYPE = 0x01;

    public String body() {
        return origin + "\n" + size + "\n" + Base64.getEncoder().encodeToString(rootHash) + "\ntime " + time + "\n";
    }

    /** The signed note: body, blank line, one signature line. */
    public String sign(String keyName, Ed25519.SigningKey key) {
        byte[] body = body().getBytes(StandardCharsets.UTF_8);
        byte[] signature = key.sign(body);
        byte[] blob = new byte[4 + signature.length];
        System.arraycopy(keyId(keyName, key.publicKey()), 0, blob, 0, 4);
        System.arraycopy(signature, 0, blob, 4, signature.length);
        return body() + "\n" + SIGNATURE_PREFIX + keyName + " " + Base64.getEncoder().encodeToString(blob) + "\n";
    }

    /**
     * Parses a signed note and checks its signature by {@code keyName}'s public key.
     * @return the checkpoint, or empty when the note is malformed or not signed by that key
     */
    public static Optional<Checkpoint> verify(String note, String keyName, byte[] publicKey) {
        int split = note.indexOf("\n\n");
        if (split < 0) {
            return Optional.empty();
        }
        String body = note.substring(0, split + 1);
        byte[] expectedId = keyId(keyName, publicKey);
        for (String line : note.substring(split + 2).split("\n")) {
            if (!line.startsWith(SIGNATURE_PREFIX + keyName + " ")) {
                continue;
            }
            byte[] blob;
            try {
                blob = Base64.getDecoder().decode(line.substring(SIGNATURE_PREFIX.length() + keyName.length() + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (blob.length == 4 + Ed25519.SIGNATURE_LENGTH && MessageDigest.isEqual(Arrays.copyOf(blob, 4), expectedId)
                    && Ed25519.verify(publicKey, body.getBytes(StandardCharsets.UTF_8), Arrays.copyOfRange(blob, 4, blob.length))) {
                return parseBody(body);
            }
        }
        return Optional.empty();
    }

    private static Optional<Checkpoint> parseBody(String body) {
        String[] lines = body.split("\n");
        if (lines.length < 4 || !lines[3].startsWith("time ")) {
            return Optional.empty();
        }
        try {
            byte[] root = Base64.getDecoder().decode(lines[2]);
            if (root.length != MerkleTree.HASH_LENGTH) {
                return Optional.empty();
            }
            return Optional.of(new Checkpoint(lines[0], Long.parseLong(lines[1]), root, Instant.parse(lines[3].substring(5))));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    static byte[] keyId(String keyName, byte[] publicKey) {
        MessageDigest d = MerkleTree.sha256();
        d.update(keyName.getBytes(StandardCharsets.UTF_8));
        d.update((byte) '\n');
        d.update(ED25519_TYPE);
        d.update(publicKey);
        return Arrays.copyOf(d.digest(), 4);
    }
}
