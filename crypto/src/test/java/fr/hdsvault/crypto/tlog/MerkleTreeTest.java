package fr.hdsvault.crypto.tlog;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.crypto.sign.Ed25519;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 9162 / RFC 6962 hashing against the published reference vectors, and the proofs' failure modes. */
class MerkleTreeTest {

    private static final HexFormat HEX = HexFormat.of();
    // The Certificate Transparency reference inputs and tree heads for sizes 0 to 8.
    private static final String[] INPUTS = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
            "606162636465666768696a6b6c6d6e6f"};
    private static final String[] ROOTS = {
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

    private static List<byte[]> referenceLeaves() {
        List<byte[]> leaves = new ArrayList<>();
        for (String in : INPUTS) {
            leaves.add(MerkleTree.leafHash(HEX.parseHex(in)));
        }
        return leaves;
    }

    private static List<byte[]> hexes(String... h) {
        return java.util.Arrays.stream(h).map(HEX::parseHex).toList();
    }

    @Test
    void treeHeadsMatchTheReferenceForEverySize() {
        List<byte[]> leaves = referenceLeaves();
        CompactRange range = new CompactRange();
        assertThat(HEX.formatHex(range.root())).isEqualTo(ROOTS[0]);
        for (int n = 0; n <= 8; n++) {
            assertThat(HEX.formatHex(MerkleTree.root(leaves.subList(0, n)))).as("size " + n).isEqualTo(ROOTS[n]);
            if (n > 0) {
                range.append(leaves.get(n - 1));
                assertThat(HEX.formatHex(range.root())).as("compact range, size " + n).isEqualTo(ROOTS[n]);
            }
        }
    }

    @Test
    void proofsMatchTheReferenceVectors() {
        List<byte[]> leaves = referenceLeaves();
        assertThat(MerkleTree.inclusionProof(leaves, 0, 8)).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(hexes(
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"));
        assertThat(MerkleTree.inclusionProof(leaves, 5, 8)).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(hexes(
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"));
        assertThat(MerkleTree.consistencyProof(leaves, 6, 8)).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(hexes(
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"));
        assertThat(MerkleTree.consistencyProof(leaves, 2, 5)).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(hexes(
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"));
        assertThat(MerkleTree.consistencyProof(leaves, 1, 8)).hasSize(3);
    }

    @Test
    void everyProofOfEveryTreeShapeVerifiesAndEveryAlterationFails() {
        List<byte[]> leaves = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            leaves.add(MerkleTree.leafHash(new byte[] {(byte) i, (byte) (i * 7)}));
        }
        for (int size = 1; size <= leaves.size(); size++) {
            byte[] root = MerkleTree.root(leaves.subList(0, size));
            for (int i = 0; i < size; i++) {
                List<byte[]> proof = MerkleTree.inclusionProof(leaves, i, size);
                assertThat(MerkleTree.verifyInclusion(leaves.get(i), i, size, proof, root)).isTrue();
                assertThat(MerkleTree.verifyInclusion(leaves.get((i + 1) % size), i, size, proof, root)).isEqualTo(size == 1);
                if (size < leaves.size()) { // the same path does not prove the leaf in the next tree head
                    byte[] next = MerkleTree.root(leaves.subList(0, size + 1));
                    assertThat(MerkleTree.verifyInclusion(leaves.get(i), i, size + 1, proof, next)).isFalse();
                }
                if (!proof.isEmpty()) {
                    List<byte[]> altered = new ArrayList<>(proof);
                    byte[] first = altered.get(0).clone();
                    first[0] ^= 1;
                    altered.set(0, first);
                    assertThat(MerkleTree.verifyInclusion(leaves.get(i), i, size, altered, root)).isFalse();
                    assertThat(MerkleTree.verifyInclusion(leaves.get(i), i, size, proof.subList(1, proof.size()), root)).isFalse();
                }
            }
            for (int first = 1; first <= size; first++) {
                byte[] firstRoot = MerkleTree.root(leaves.subList(0, first));
                List<byte[]> proof = MerkleTree.consistencyProof(leaves, first, size);
                assertThat(MerkleTree.verifyConsistency(first, size, firstRoot, root, proof)).as(first + " -> " + size).isTrue();
                if (first < size) {
                    byte[] otherRoot = MerkleTree.root(leaves.subList(1, first + 1));
                    assertThat(MerkleTree.verifyConsistency(first, size, otherRoot, root, proof)).isFalse();
                    List<byte[]> altered = new ArrayList<>(proof);
                    byte[] last = altered.get(altered.size() - 1).clone();
                    last[31] ^= 1;
                    altered.set(altered.size() - 1, last);
                    assertThat(MerkleTree.verifyConsistency(first, size, firstRoot, root, altered)).isFalse();
                    assertThat(MerkleTree.verifyConsistency(first, size, firstRoot, root, List.of())).isFalse();
                }
            }
        }
    }

    @Test
    void aCompactRangeGivesTheSameRootAsTheWholeTree() {
        List<byte[]> leaves = new ArrayList<>();
        CompactRange range = new CompactRange();
        for (int i = 0; i < 300; i++) {
            byte[] leaf = MerkleTree.leafHash(("event " + i).getBytes());
            leaves.add(leaf);
            range.append(leaf);
            assertThat(range.root()).isEqualTo(MerkleTree.root(leaves));
        }
        assertThat(range.size()).isEqualTo(300);
        // A log pruned at 300 leaves continues from its peaks alone.
        CompactRange resumed = CompactRange.restore(300, range.peaks());
        for (int i = 300; i < 333; i++) {
            byte[] leaf = MerkleTree.leafHash(("event " + i).getBytes());
            leaves.add(leaf);
            resumed.append(leaf);
        }
        assertThat(resumed.root()).isEqualTo(MerkleTree.root(leaves));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CompactRange.restore(301, range.peaks()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A log pruned at any point still gives, for every leaf after that point and every tree size
     * from it on, exactly the proofs the whole tree gives; proofs about pruned leaves are refused.
     */
    @Test
    void aPrunedLogGivesTheSameProofsForWhatItStillHolds() {
        List<byte[]> leaves = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            leaves.add(MerkleTree.leafHash(("event " + i).getBytes()));
        }
        int refusals = 0;
        for (int pruned = 0; pruned <= 64; pruned++) {
            CompactRange prefix = new CompactRange();
            leaves.subList(0, pruned).forEach(prefix::append);
            PrunedTree tree = new PrunedTree(prefix, leaves.subList(pruned, leaves.size()));
            assertThat(tree.size()).isEqualTo(70);
            for (int size = Math.max(1, pruned); size <= 70; size++) {
                assertThat(MerkleTree.root(tree, size)).as("root of %d pruned at %d", size, pruned)
                        .isEqualTo(MerkleTree.root(leaves.subList(0, size)));
                for (int index = pruned; index < size; index++) {
                    List<byte[]> proof = MerkleTree.inclusionProof(tree, index, size);
                    assertThat(proof).as("inclusion %d/%d pruned at %d", index, size, pruned)
                            .containsExactlyElementsOf(MerkleTree.inclusionProof(leaves, index, size));
                    assertThat(MerkleTree.verifyInclusion(leaves.get(index), index, size, proof, MerkleTree.root(leaves.subList(0, size))))
                            .isTrue();
                }
                for (int first = Math.max(1, pruned); first <= size; first++) {
                    assertThat(MerkleTree.consistencyProof(tree, first, size)).as("consistency %d-%d pruned at %d", first, size, pruned)
                            .containsExactlyElementsOf(MerkleTree.consistencyProof(leaves, first, size));
                }
            }
            // About a pruned leaf: the same proof when its siblings are all still known, else a refusal; never a wrong one.
            for (int index = 0; index < pruned; index++) {
                int i = index;
                try {
                    assertThat(MerkleTree.inclusionProof(tree, i, 70)).containsExactlyElementsOf(MerkleTree.inclusionProof(leaves, i, 70));
                } catch (IllegalArgumentException refused) {
                    assertThat(refused).hasMessageContaining("pruned");
                    refusals++;
                }
            }
        }
        assertThat(refusals).as("proofs that need pruned leaves are refused").isPositive();
    }

    @Test
    void checkpointsAreSignedNotesThatOnlyTheirKeyVerifies() {
        Ed25519.SigningKey key = Ed25519.SigningKey.generate();
        Checkpoint cp = new Checkpoint("hds-vault/audit/test", 42, MerkleTree.leafHash(new byte[] {1}),
                Instant.parse("2026-11-28T10:00:00Z"));
        String note = cp.sign("hds-vault-audit", key);
        assertThat(note).startsWith("hds-vault/audit/test\n42\n").contains("\ntime 2026-11-28T10:00:00Z\n\n\u2014 hds-vault-audit ");
        Checkpoint back = Checkpoint.verify(note, "hds-vault-audit", key.publicKey()).orElseThrow();
        assertThat(back.size()).isEqualTo(42);
        assertThat(back.rootHash()).isEqualTo(cp.rootHash());
        assertThat(Checkpoint.verify(note.replace("\n42\n", "\n43\n"), "hds-vault-audit", key.publicKey())).isEmpty();
        assertThat(Checkpoint.verify(note, "hds-vault-audit", Ed25519.SigningKey.generate().publicKey())).isEmpty();
        assertThat(Checkpoint.verify(note, "another-name", key.publicKey())).isEmpty();
        assertThat(Checkpoint.verify(cp.sign("hds-vault-audit", Ed25519.SigningKey.generate()), "hds-vault-audit", key.publicKey())).isEmpty();
        assertThat(Checkpoint.verify("garbage", "hds-vault-audit", key.publicKey())).isEmpty();
    }
}
