package fr.hdsvault.crypto.tlog;

import java.util.ArrayList;
import java.util.List;

/**
 * A log whose leaves before a pruning point were removed: what remains is the compact range at
 * that point (its peaks) and the leaves after it. That is enough to compute every subtree an
 * RFC 9162 proof about a remaining leaf needs: such a subtree either lies after the pruning point,
 * or is one of the peaks, or is split into both. Proofs about a pruned leaf, or from a tree size
 * before the pruning point, are not possible and fail with IllegalArgumentException.
 */
public final class PrunedTree implements MerkleTree.Subtrees {

    private final long prunedSize;
    private final List<long[]> peakRanges = new ArrayList<>();
    private final List<byte[]> peaks;
    private final List<byte[]> leaves;

    /**
     * @param pruned the compact range of the leaves [0, pruned.size()) (empty when nothing was pruned)
     * @param leavesAfter the leaf hashes from pruned.size() on, in order
     */
    public PrunedTree(CompactRange pruned, List<byte[]> leavesAfter) {
        this.prunedSize = pruned.size();
        this.peaks = pruned.peaks();
        this.leaves = List.copyOf(leavesAfter);
        long start = 0;
        for (int bit = 62; bit >= 0; bit--) { // largest first, as CompactRange lists them
            long span = 1L << bit;
            if ((prunedSize & span) != 0) {
                peakRanges.add(new long[] {start, start + span});
                start += span;
            }
        }
    }

    private boolean boundary(long position) {
        return position == prunedSize || peakRanges.stream().anyMatch(r -> r[0] == position);
    }

    /** The first leaf still stored. */
    public long prunedSize() {
        return prunedSize;
    }

    @Override
    public long size() {
        return prunedSize + leaves.size();
    }

    @Override
    public byte[] hash(long from, long to) {
        if (from < 0 || to <= from || to > size()) {
            throw new IllegalArgumentException("no subtree [" + from + ", " + to + ") in a log of " + size());
        }
        if (from >= prunedSize) {
            return MerkleTree.mth(leaves, (int) (from - prunedSize), (int) (to - prunedSize));
        }
        for (int i = 0; i < peakRanges.size(); i++) {
            if (peakRanges.get(i)[0] == from && peakRanges.get(i)[1] == to) {
                return MerkleTree.copy(peaks.get(i));
            }
        }
        if (to <= prunedSize && !(boundary(from) && boundary(to))) { // wholly pruned: only runs of peaks are known
            throw new IllegalArgumentException("leaves before " + prunedSize + " were pruned by retention");
        }
        long k = MerkleTree.split(to - from);
        return MerkleTree.nodeHash(hash(from, from + k), hash(from + k, to));
    }
}
