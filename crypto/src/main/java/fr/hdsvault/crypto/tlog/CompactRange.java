package fr.hdsvault.crypto.tlog;

import java.util.ArrayList;
import java.util.List;

/**
 * The root of an append-only Merkle tree kept in O(log n) memory: the hashes of the perfect
 * subtrees that cover leaves {@code [0, size)}, largest first (a "compact range" in the
 * transparency-log literature). Appending merges equal-sized subtrees; the RFC 9162 root is
 * their right-to-left fold.
 */
public final class CompactRange {

    private final List<byte[]> peaks = new ArrayList<>();
    private long size;

    public CompactRange() {
    }

    /**
     * The range of a tree of {@code size} leaves from its peaks (as {@link #peaks} gave them):
     * how a log continues after its older leaves were pruned. Check {@link #root} against a
     * signed checkpoint of that size before trusting it.
     */
    public static CompactRange restore(long size, List<byte[]> peaks) {
        if (Long.bitCount(size) != peaks.size()) {
            throw new IllegalArgumentException("a tree of " + size + " leaves has " + Long.bitCount(size) + " peaks, not " + peaks.size());
        }
        CompactRange range = new CompactRange();
        peaks.forEach(p -> range.peaks.add(MerkleTree.copy(p)));
        range.size = size;
        return range;
    }

    /** The hashes of the perfect subtrees covering the leaves, largest first. */
    public List<byte[]> peaks() {
        return peaks.stream().map(MerkleTree::copy).toList();
    }

    public long size() {
        return size;
    }

    public void append(byte[] leafHash) {
        byte[] h = leafHash;
        long s = size;
        while ((s & 1) == 1) { // merge while the lowest subtree has a twin
            h = MerkleTree.nodeHash(peaks.remove(peaks.size() - 1), h);
            s >>= 1;
        }
        peaks.add(h);
        size++;
    }

    public byte[] root() {
        if (peaks.isEmpty()) {
            return MerkleTree.sha256().digest();
        }
        byte[] h = peaks.get(peaks.size() - 1);
        for (int i = peaks.size() - 2; i >= 0; i--) {
            h = MerkleTree.nodeHash(peaks.get(i), h);
        }
        return MerkleTree.copy(h);
    }
}
