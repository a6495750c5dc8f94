package fr.hdsvault.crypto.tlog;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing over SHA-256: leaf hashes
 * {@code H(0x00 || data)}, interior nodes {@code H(0x01 || left || right)}, the tree head of n
 * leaves, inclusion and consistency proofs, and their verification (RFC 9162 sections 2.1.1 to
 * 2.1.4). Proofs are computed from the leaf hashes, or from the subtrees a pruned log still
 * knows ({@link PrunedTree}); {@link CompactRange} keeps a growing log's root in O(log n) memory.
 */
public final class MerkleTree {

    public static final int HASH_LENGTH = 32;

    private MerkleTree() {
    }

    public static byte[] leafHash(byte[] data) {
        MessageDigest d = sha256();
        d.update((byte) 0x00);
        d.update(data);
        return d.digest();
    }

    public static byte[] nodeHash(byte[] left, byte[] right) {
        MessageDigest d = sha256();
        d.update((byte) 0x01);
        d.update(left);
        d.update(right);
        return d.digest();
    }

    /**
     * The hashes of a tree's subtrees: MTH of the leaves {@code [from, to)}. A list of leaf hashes
     * is one; {@link PrunedTree} is another, for a log whose oldest leaves were removed.
     */
    public interface Subtrees {
        /** MTH of the leaves [from, to), to > from; IllegalArgumentException when that range is no longer known. */
        byte[] hash(long from, long to);

        /** How many leaves the tree has. */
        long size();
    }

    /** The tree head of the leaves {@code [0, n)}: MTH in RFC 9162. */
    public static byte[] root(List<byte[]> leafHashes) {
        return root(of(leafHashes), leafHashes.size());
    }

    /** The tree head of the first {@code size} leaves. */
    public static byte[] root(Subtrees tree, long size) {
        if (size < 0 || size > tree.size()) {
            throw new IllegalArgumentException("no tree of " + size + " leaves in a log of " + tree.size());
        }
        return size == 0 ? sha256().digest() : tree.hash(0, size);
    }

    /** The audit path of leaf {@code index} in the tree of the first {@code size} leaves. */
    public static List<byte[]> inclusionProof(List<byte[]> leafHashes, long index, long size) {
        return inclusionProof(of(leafHashes), index, size);
    }

    public static List<byte[]> inclusionProof(Subtrees tree, long index, long size) {
        if (index < 0 || index >= size || size > tree.size()) {
            throw new IllegalArgumentException("no leaf " + index + " in a tree of " + size);
        }
        List<byte[]> proof = new ArrayList<>();
        path(index, tree, 0, size, proof);
        return proof;
    }

    /** The proof that the tree of {@code first} leaves is a prefix of the tree of {@code second}. */
    public static List<byte[]> consistencyProof(List<byte[]> leafHashes, long first, long second) {
        return consistencyProof(of(leafHashes), first, second);
    }

    public static List<byte[]> consistencyProof(Subtrees tree, long first, long second) {
        if (first < 0 || first > second || second > tree.size()) {
            throw new IllegalArgumentException("no consistency proof from " + first + " to " + second);
        }
        List<byte[]> proof = new ArrayList<>();
        if (first > 0 && first < second) {
            subproof(first, tree, 0, second, true, proof);
        }
        return proof;
    }

    /** A list of leaf hashes as subtrees. */
    static Subtrees of(List<byte[]> leaves) {
        return new Subtrees() {
            @Override
            public byte[] hash(long from, long to) {
                return mth(leaves, (int) from, (int) to);
            }

            @Override
            public long size() {
                return leaves.size();
            }
        };
    }

    /** RFC 9162 2.1.3.2: true only when the path proves the leaf at {@code index} in the tree of {@code size} with this root. */
    public static boolean verifyInclusion(byte[] leafHash, long index, long size, List<byte[]> proof, byte[] root) {
        if (index < 0 || index >= size) {
            return false;
        }
        long fn = index;
        long sn = size - 1;
        byte[] r = leafHash;
        for (byte[] p : proof) {
            if (sn == 0) {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn) {
                r = nodeHash(p, r);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = nodeHash(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && MessageDigest.isEqual(r, root);
    }

    /** RFC 9162 2.1.4.2: true only when the proof shows the first tree is a prefix of the second. */
    public static boolean verifyConsistency(long first, long second, byte[] firstRoot, byte[] secondRoot, List<byte[]> proof) {
        if (first < 0 || first > second) {
            return false;
        }
        if (first == second) {
            return proof.isEmpty() && MessageDigest.isEqual(firstRoot, secondRoot);
        }
        if (first == 0) {
            return proof.isEmpty(); // the empty tree is a prefix of every tree
        }
        if (proof.isEmpty()) {
            return false;
        }
        List<byte[]> c = new ArrayList<>(proof);
        if (Long.bitCount(first) == 1) {
            c.add(0, firstRoot);
        }
        long fn = first - 1;
        long sn = second - 1;
        while ((fn & 1) == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        byte[] fr = c.get(0);
        byte[] sr = c.get(0);
        for (byte[] h : c.subList(1, c.size())) {
            if (sn == 0) {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn) {
                fr = nodeHash(h, fr);
                sr = nodeHash(h, sr);
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = nodeHash(sr, h);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && MessageDigest.isEqual(fr, firstRoot) && MessageDigest.isEqual(sr, secondRoot);
    }

    /** The largest power of two strictly below n (n >= 2). */
    static long split(long n) {
        return Long.highestOneBit(n - 1);
    }

    static byte[] mth(List<byte[]> leaves, int from, int to) {
        int n = to - from;
        if (n == 1) {
            return leaves.get(from);
        }
        int k = (int) split(n);
        return nodeHash(mth(leaves, from, from + k), mth(leaves, from + k, to));
    }

    private static void path(long m, Subtrees tree, long from, long to, List<byte[]> out) {
        long n = to - from;
        if (n == 1) {
            return;
        }
        long k = split(n);
        if (m < k) {
            path(m, tree, from, from + k, out);
            out.add(tree.hash(from + k, to));
        } else {
            path(m - k, tree, from + k, to, out);
            out.add(tree.hash(from, from + k));
        }
    }

    private static void subproof(long m, Subtrees tree, long from, long to, boolean complete, List<byte[]> out) {
        long n = to - from;
        if (m == n) {
            if (!complete) {
                out.add(tree.hash(from, to));
            }
            return;
        }
        long k = split(n);
        if (m <= k) {
            subproof(m, tree, from, from + k, complete, out);
            out.add(tree.hash(from + k, to));
        } else {
            subproof(m - k, tree, from + k, to, false, out);
            out.add(tree.hash(from, from + k));
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    static byte[] copy(byte[] hash) {
        return Arrays.copyOf(hash, hash.length);
    }
}
