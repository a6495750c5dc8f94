package fr.hdsvault.benchmarks;

import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import java.security.DrbgParameters;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-object cost, sampled (p50 and p99 in microseconds): a whole empty seal and open (every
 * per-object step and nothing else), the steps one by one with the same primitives the
 * envelope uses, and the header-only rewrap of a 256 KiB envelope after a KEK rotation,
 * against the full re-encryption it replaces.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class EnvelopeOverheadBenchmark {

    static final EncryptionContext CTX = new EncryptionContext("tenant", "Observation", "bench-id", "1");

    EnvelopeCipher envelopes;
    byte[] emptySealed;
    byte[] oldEnvelope;
    SecureRandom drbg;
    Cipher kwp;
    Cipher gcm;
    SecretKeySpec kek;
    byte[] dek = new byte[32];
    byte[] nonce = new byte[12];
    byte[] info = new byte[64];

    @Setup
    public void setUp() throws GeneralSecurityException {
        Keyring keyring = BenchmarkKeys.keyring();
        envelopes = new EnvelopeCipher(keyring);
        emptySealed = envelopes.seal("kek-bench", CTX, new byte[0]);
        oldEnvelope = envelopes.seal("kek-bench", CTX, new byte[256 * 1024]);
        keyring.rotateKek("kek-bench");
        drbg = SecureRandom.getInstance("DRBG", DrbgParameters.instantiation(256, DrbgParameters.Capability.RESEED_ONLY, null));
        kwp = Cipher.getInstance("AES/KWP/NoPadding");
        gcm = Cipher.getInstance("AES/GCM/NoPadding");
        byte[] k = new byte[32];
        drbg.nextBytes(k);
        kek = new SecretKeySpec(k, "AES");
    }

    @Benchmark
    public byte[] sealEmpty() {
        return envelopes.seal("kek-bench", CTX, new byte[0]);
    }

    @Benchmark
    public byte[] openEmpty() {
        return envelopes.open(CTX, emptySealed);
    }

    @Benchmark
    public byte[] stepDekAndNonce() {
        drbg.nextBytes(dek);
        drbg.nextBytes(nonce);
        return dek;
    }

    /** HKDF over Bouncy Castle's pure-Java SHA-256 (the envelope runs it over the JDK's SHA-256; compare sealEmpty). */
    @Benchmark
    public byte[] stepHkdfPureJavaSha256() {
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(new HKDFParameters(dek, nonce, info));
        byte[] okm = new byte[64];
        hkdf.generateBytes(okm, 0, 64);
        return okm;
    }

    @Benchmark
    public byte[] stepWrapDek() throws GeneralSecurityException {
        kwp.init(Cipher.ENCRYPT_MODE, kek);
        return kwp.doFinal(dek);
    }

    @Benchmark
    public byte[] stepFreshGcmKeyEmptyFrame() throws GeneralSecurityException {
        drbg.nextBytes(dek);
        gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(dek, "AES"), new GCMParameterSpec(128, nonce));
        return gcm.doFinal(new byte[0]);
    }

    /** Rewrap returning a new array: header work plus a copy of the 256 KiB body. */
    @Benchmark
    public byte[] rewrapHeader256KiB() {
        return envelopes.rewrap(CTX, oldEnvelope);
    }

    /** Streaming rewrap to a sink that discards: the header work alone, whatever the body size. */
    @Benchmark
    public long rewrapHeaderStreaming256KiB() throws java.io.IOException {
        return envelopes.rewrap(CTX, new java.io.ByteArrayInputStream(oldEnvelope), java.io.OutputStream.nullOutputStream());
    }

    /** What a rewrap avoids: decrypting and re-encrypting the whole 256 KiB object. */
    @Benchmark
    public byte[] reencrypt256KiB() {
        return envelopes.seal("kek-bench", CTX, envelopes.open(CTX, oldEnvelope));
    }
}
