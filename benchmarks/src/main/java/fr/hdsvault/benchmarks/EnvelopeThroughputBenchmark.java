package fr.hdsvault.benchmarks;

import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Envelope seal and open against raw JDK AES-256-GCM on the same bytes, in one run, so the
 * ratio holds on a noisy machine. Raw GCM uses one long-lived key (no per-object key work) and
 * is measured two ways: one call on the whole buffer, and in 64 KiB calls (the fastest way the
 * JDK 17 offers for large buffers). Every variant returns a fresh array, as the envelope does.
 * The envelope's target is 80% of the faster of the two.
 * Throughput in ops/s; MB/s = ops/s x size.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class EnvelopeThroughputBenchmark {

    @Param({"1024", "16384", "262144", "4194304"})
    int size;

    static final EncryptionContext CTX = new EncryptionContext("tenant", "Observation", "bench-id", "1");
    static final int FRAME = EnvelopeCipher.FRAME_SIZE;
    static final int TAG = 16;

    EnvelopeCipher envelopes;
    byte[] plaintext;
    byte[] sealed;
    SecretKeySpec key;
    Cipher gcm;
    long ivCounter;
    // Raw ciphertexts made in setUp, with their IVs, so raw decryption authenticates real data.
    byte[] oneCallIv;
    byte[] oneCallCiphertext;
    byte[][] frameIvs;
    byte[] framedCiphertext;

    @Setup
    public void setUp() throws GeneralSecurityException {
        SecureRandom random = new SecureRandom();
        envelopes = new EnvelopeCipher(BenchmarkKeys.keyring());
        plaintext = new byte[size];
        random.nextBytes(plaintext);
        sealed = envelopes.seal("kek-bench", CTX, plaintext);
        byte[] k = new byte[32];
        random.nextBytes(k);
        key = new SecretKeySpec(k, "AES");
        gcm = Cipher.getInstance("AES/GCM/NoPadding");

        int frames = Math.max(1, (size + FRAME - 1) / FRAME);
        oneCallIv = nextIv();
        gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, oneCallIv));
        oneCallCiphertext = gcm.doFinal(plaintext);
        frameIvs = new byte[frames][];
        for (int f = 0; f < frames; f++) {
            frameIvs[f] = nextIv();
        }
        framedCiphertext = encryptFramed(frameIvs);
    }

    private byte[] nextIv() {
        byte[] iv = new byte[12];
        long c = ++ivCounter;
        for (int i = 0; i < 8; i++) {
            iv[4 + i] = (byte) (c >>> (8 * i));
        }
        return iv;
    }

    /** Like the envelope, returns a fresh array: allocation is part of the work being compared. */
    private byte[] encryptFramed(byte[][] ivs) throws GeneralSecurityException {
        byte[] out = new byte[size + ivs.length * TAG];
        int outOff = 0;
        for (int f = 0; f < ivs.length; f++) {
            int off = f * FRAME;
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, ivs[f]));
            outOff += gcm.doFinal(plaintext, off, Math.min(FRAME, size - off), out, outOff);
        }
        return out;
    }

    @Benchmark
    public byte[] seal() {
        return envelopes.seal("kek-bench", CTX, plaintext);
    }

    @Benchmark
    public byte[] open() {
        return envelopes.open(CTX, sealed);
    }

    @Benchmark
    public byte[] rawEncryptOneCall() throws GeneralSecurityException {
        gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nextIv()));
        return gcm.doFinal(plaintext);
    }

    @Benchmark
    public byte[] rawEncryptFramed() throws GeneralSecurityException {
        byte[][] ivs = new byte[frameIvs.length][];
        for (int f = 0; f < ivs.length; f++) {
            ivs[f] = nextIv();
        }
        return encryptFramed(ivs);
    }

    @Benchmark
    public byte[] rawDecryptOneCall() throws GeneralSecurityException {
        gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, oneCallIv));
        return gcm.doFinal(oneCallCiphertext);
    }

    @Benchmark
    public byte[] rawDecryptFramed() throws GeneralSecurityException {
        byte[] out = new byte[size];
        int outOff = 0;
        for (int f = 0; f < frameIvs.length; f++) {
            int off = f * (FRAME + TAG);
            int n = Math.min(FRAME + TAG, framedCiphertext.length - off);
            gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, frameIvs[f]));
            outOff += gcm.doFinal(framedCiphertext, off, n, out, outOff);
        }
        return out;
    }
}
