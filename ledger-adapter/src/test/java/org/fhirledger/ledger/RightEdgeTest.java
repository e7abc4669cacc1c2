package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fhirledger.ledger.LedgerStorage.TileWrite;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.merkle.ReferenceTree;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.tiles.TileReader;
import org.fhirledger.ledger.tiles.Tiles;
import org.junit.jupiter.api.Test;

/** The right edge against the plain recursive {@link ReferenceTree}: roots, consistency proofs and tiles. */
class RightEdgeTest {
  private final ReferenceTree ref = new ReferenceTree();
  private final List<byte[]> leafHashes = new ArrayList<>();
  // every tile written, as storage would keep it: (level, index) -> widest hashes so far
  private final Map<String, byte[]> stored = new HashMap<>();

  private final TileReader storedTiles = new TileReader() {
    @Override
    public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
      byte[] t = stored.get(level + "/" + index);
      if (t == null || t.length < width * Rfc6962.HASH_SIZE) {
        throw new LedgerUnavailableException("no " + Tiles.tilePath(level, index, width));
      }
      return java.util.Arrays.copyOf(t, width * Rfc6962.HASH_SIZE);
    }

    @Override
    public byte[] entryBundle(long index, int width) {
      throw new UnsupportedOperationException();
    }
  };

  private List<byte[]> newLeaves(int count, String tag) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] entry = (tag + " " + (ref.size() + i)).getBytes(StandardCharsets.UTF_8);
      out.add(entry);
    }
    return out;
  }

  /** Extends {@code edge} by {@code entries} and checks the batch against the reference tree; returns the new edge. */
  private RightEdge extendAndCheck(RightEdge edge, List<byte[]> entries) throws Exception {
    int oldSize = ref.size();
    List<byte[]> leaves = new ArrayList<>();
    for (byte[] e : entries) {
      ref.add(e);
      leaves.add(Rfc6962.leafHash(e));
    }
    leafHashes.addAll(leaves);
    int newSize = ref.size();
    RightEdge.Extension ext = edge.extend(leaves);
    assertEquals(newSize, ext.edge().size());
    assertArrayEquals(ref.root(newSize), ext.edge().root(), "root at " + newSize);
    assertArrayEquals(ref.root(newSize), MerkleProofs.root(newSize, ext.nodes()), "batch root at " + newSize);
    List<byte[]> proof = MerkleProofs.consistencyProof(oldSize, newSize, ext.nodes());
    List<byte[]> expected = ref.consistency(oldSize, newSize);
    assertEquals(expected.size(), proof.size(), "proof " + oldSize + " -> " + newSize);
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), proof.get(i), "proof " + oldSize + " -> " + newSize + " element " + i);
    }
    for (TileWrite t : ext.tiles()) {
      assertArrayEquals(expectedTile(t.level(), t.index(), t.width()), t.hashes(),
          Tiles.tilePath(t.level(), t.index(), t.width()) + " at size " + newSize);
      stored.put(t.level() + "/" + t.index(), t.hashes().clone());
    }
    assertEquals(expectedTileWrites(oldSize, newSize), ext.tiles().size(), "tiles written " + oldSize + " -> "
        + newSize);
    return ext.edge();
  }

  /** Tile hashes from the reference tree: level L holds the roots of consecutive 256^L-leaf subtrees. */
  private byte[] expectedTile(int level, long index, int width) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int span = 1 << (Tiles.HEIGHT * level);
    for (int i = 0; i < width; i++) {
      int first = (int) ((index * Tiles.WIDTH + i) * span);
      out.writeBytes(level == 0 ? leafHashes.get(first) : ref.mth(first, first + span));
    }
    return out.toByteArray();
  }

  /** One write per tile whose width grew: full tiles completed and the partial tile of every level that grew. */
  private static int expectedTileWrites(long oldSize, long newSize) {
    int n = 0;
    for (int level = 0; Tiles.hashesAtLevel(level, newSize) > 0; level++) {
      long before = Tiles.hashesAtLevel(level, oldSize);
      long after = Tiles.hashesAtLevel(level, newSize);
      n += (int) ((after >>> Tiles.HEIGHT) - (before >>> Tiles.HEIGHT));
      if (after != before && (after & (Tiles.WIDTH - 1)) != 0) {
        n++;
      }
    }
    return n;
  }

  @Test
  void extend_batchesOfManySizes_rootsProofsAndTilesMatchTheReferenceTree() throws Exception {
    Random random = new Random(6962);
    RightEdge edge = RightEdge.empty();
    while (ref.size() < 1100) {
      int batch = random.nextInt(4) == 0 ? 1 + random.nextInt(300) : 1 + random.nextInt(9);
      edge = extendAndCheck(edge, newLeaves(batch, "entry"));
    }
  }

  @Test
  void load_fromStoredTilesAtEverySize_continuesLikeTheEdgeItWasStoredFrom() throws Exception {
    RightEdge edge = RightEdge.empty();
    for (int batch = 1; ref.size() < 800; batch = batch % 37 + 1) {
      edge = extendAndCheck(edge, newLeaves(batch, "entry"));
      RightEdge loaded = RightEdge.load(storedTiles, ref.size());
      assertArrayEquals(edge.root(), loaded.root(), "loaded root at " + ref.size());
      // the loaded edge must also carry the compact range a proof from this size needs: extend it and check
      edge = extendAndCheck(loaded, newLeaves(3, "after load"));
    }
  }

  @Test
  void extend_pastAFullLevelOneTile_matchesTheReferenceTree() throws Exception {
    RightEdge edge = RightEdge.empty();
    // 65,536 leaves complete tile 0 of level 1; batches straddle it
    int[] batches = {1000, 30_000, 34_000, 535, 1, 100, 4096};
    for (int b : batches) {
      edge = extendAndCheck(edge, newLeaves(b, "many"));
    }
    assertEquals(69_732, edge.size());
    assertArrayEquals(ref.root(ref.size()), RightEdge.load(storedTiles, ref.size()).root());
  }

  @Test
  void extend_discardedExtension_leavesTheEdgeItExtendedUnchanged() throws Exception {
    RightEdge edge = RightEdge.empty();
    edge = extendAndCheck(edge, newLeaves(250, "kept"));
    // a batch that never commits: completes tile 0 and writes the partial level-0 tile past it
    List<byte[]> lost = new ArrayList<>();
    for (byte[] e : newLeaves(20, "lost")) {
      lost.add(Rfc6962.leafHash(e));
    }
    RightEdge.Extension discarded = edge.extend(lost);
    assertEquals(270, discarded.edge().size());
    // different entries at the same indices: everything must come from these, nothing from the discarded batch
    edge = extendAndCheck(edge, newLeaves(20, "instead"));
    edge = extendAndCheck(edge, newLeaves(5, "then"));
    assertEquals(275, edge.size());
  }

  @Test
  void nodes_outsideTheBatchAndTheOldCompactRange_areRefused() throws Exception {
    RightEdge edge = extendAndCheck(RightEdge.empty(), newLeaves(6, "entry"));
    RightEdge.Extension ext = edge.extend(List.of(Rfc6962.leafHash(new byte[] {7})));
    // leaf 0 is inside the old tree but not in the compact range of 6 ([0, 4) and [4, 6))
    assertThrows(IllegalStateException.class, () -> ext.nodes().perfect(0, 0));
    assertArrayEquals(ref.mth(0, 4), ext.nodes().perfect(2, 0));
    assertArrayEquals(ref.mth(4, 6), ext.nodes().perfect(1, 2));
  }
}
