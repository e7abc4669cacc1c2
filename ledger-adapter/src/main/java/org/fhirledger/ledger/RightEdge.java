package org.fhirledger.ledger;

import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerStorage.TileWrite;
import org.fhirledger.ledger.merkle.HashSource;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.tiles.TileReader;
import org.fhirledger.ledger.tiles.Tiles;

/**
 * The right edge of a tree of {@code size} leaves: its compact range (one perfect-subtree hash per set bit of the
 * size, which is all a root or a consistency proof from this size needs on the left) and the partial tile of every
 * tile level (what the next batch's partial tiles extend). Extending it by a batch hashes O(batch + log n) nodes and
 * copies each changed partial tile once; nothing is recomputed from earlier batches.
 *
 * <p>Immutable once built, and so are the byte arrays it holds (tile buffers are copied before they are written),
 * so a batch that fails to commit leaves the edge it was extended from exactly as it was. Confined to the sequencer.
 */
final class RightEdge {
  private static final int TILE_LEVELS = 8;
  private static final int TREE_LEVELS = Tiles.HEIGHT * TILE_LEVELS;

  private final long size;
  // frontier[l]: hash of the perfect subtree at tree level l in the compact range of [0, size); non-null iff bit l
  // of size is set
  private final byte[][] frontier;
  // partial[t]: the hashes of the partial tile at tile level t, exactly count * 32 bytes; null if width is 0
  private final byte[][] partial;

  private RightEdge(long size, byte[][] frontier, byte[][] partial) {
    this.size = size;
    this.frontier = frontier;
    this.partial = partial;
  }

  static RightEdge empty() {
    return new RightEdge(0, new byte[TREE_LEVELS][], new byte[TILE_LEVELS][]);
  }

  /** Loads the partial tiles of the tree of {@code size} from storage and rebuilds its compact range from them. */
  static RightEdge load(TileReader reader, long size) throws LedgerUnavailableException {
    byte[][] frontier = new byte[TREE_LEVELS][];
    byte[][] partial = new byte[TILE_LEVELS][];
    for (int level = 0; level < TILE_LEVELS; level++) {
      long hashes = Tiles.hashesAtLevel(level, size);
      int width = (int) (hashes & (Tiles.WIDTH - 1));
      if (width == 0) {
        continue;
      }
      byte[] t = reader.tile(level, hashes >>> Tiles.HEIGHT, width);
      if (t.length != width * Rfc6962.HASH_SIZE) {
        throw new LedgerUnavailableException("stored " + Tiles.tilePath(level, hashes >>> Tiles.HEIGHT, width)
            + " has " + t.length + " bytes");
      }
      partial[level] = t.clone();
      // the set bits of the width are the perfect subtrees of the tile's prefix, largest first
      for (int r = 0; r < Tiles.HEIGHT; r++) {
        if ((width >>> r & 1) != 0) {
          int start = width >>> (r + 1) << (r + 1);
          frontier[Tiles.HEIGHT * level + r] = Rfc6962.perfectRoot(t, start * Rfc6962.HASH_SIZE, 1 << r);
        }
      }
    }
    return new RightEdge(size, frontier, partial);
  }

  long size() {
    return size;
  }

  /** The root hash of the tree: the compact range folded from the right. */
  byte[] root() {
    try {
      return MerkleProofs.root(size, frontierSource()).clone();
    } catch (LedgerUnavailableException | LedgerVerificationException e) {
      throw new IllegalStateException("in-memory hash source cannot fail", e);
    }
  }

  private HashSource frontierSource() {
    return (level, index) -> {
      byte[] h = onFrontier(level, index);
      if (h == null) {
        throw new IllegalStateException("node (" + level + ", " + index + ") is not in the compact range of size "
            + size);
      }
      return h;
    };
  }

  /** The hash of node {@code (level, index)} if it is in this edge's compact range, else null. */
  private byte[] onFrontier(int level, long index) {
    return level < TREE_LEVELS && frontier[level] != null && index == (size >>> level) - 1 ? frontier[level] : null;
  }

  /**
   * The tree extended by one batch.
   *
   * @param edge the right edge after the batch
   * @param tiles the full tiles the batch completed, then the partial tile of every level it changed (their arrays
   *     are {@code edge}'s own: read them, never modify them)
   * @param nodes every perfect subtree a root of {@code edge} or a consistency proof from this edge's size to it
   *     needs: those completed by the batch and this edge's compact range (anything else throws
   *     {@link IllegalStateException})
   */
  record Extension(RightEdge edge, List<TileWrite> tiles, HashSource nodes) {}

  /** Appends {@code leafHashes}; this edge is unchanged. */
  Extension extend(List<byte[]> leafHashes) {
    long oldSize = size;
    long newSize = size + leafHashes.size();
    byte[][] f = frontier.clone();
    byte[][] p = partial.clone();
    boolean[] written = new boolean[TILE_LEVELS];
    // node (l, i) completed by this batch is created[l][i - (oldSize >>> l)]: the batch completes exactly the
    // nodes that end in (oldSize, newSize]
    byte[][][] created = new byte[TREE_LEVELS][][];
    List<TileWrite> tiles = new ArrayList<>();
    for (long leaf = oldSize; leaf < newSize; leaf++) {
      byte[] h = leafHashes.get((int) (leaf - oldSize));
      long index = leaf;
      for (int level = 0; ; level++) {
        if (created[level] == null) {
          created[level] = new byte[(int) ((newSize >>> level) - (oldSize >>> level))][];
        }
        created[level][(int) (index - (oldSize >>> level))] = h;
        if (level % Tiles.HEIGHT == 0) {
          int t = level / Tiles.HEIGHT;
          int pos = (int) (index & (Tiles.WIDTH - 1));
          if (!written[t]) {
            // copy on first write, straight into an array of the width the tile has after the batch
            long fullAfter = ((index >>> Tiles.HEIGHT) + 1) << Tiles.HEIGHT;
            int w = Tiles.hashesAtLevel(t, newSize) >= fullAfter ? Tiles.WIDTH
                : (int) (Tiles.hashesAtLevel(t, newSize) & (Tiles.WIDTH - 1));
            byte[] buf = new byte[w * Rfc6962.HASH_SIZE];
            if (p[t] != null) {
              System.arraycopy(p[t], 0, buf, 0, pos * Rfc6962.HASH_SIZE);
            }
            p[t] = buf;
            written[t] = true;
          }
          System.arraycopy(h, 0, p[t], pos * Rfc6962.HASH_SIZE, Rfc6962.HASH_SIZE);
          if (pos == Tiles.WIDTH - 1) {
            tiles.add(new TileWrite(t, index >>> Tiles.HEIGHT, p[t]));
            p[t] = null;
            written[t] = false;
          }
        }
        if ((index & 1) == 0) {
          f[level] = h;
          break;
        }
        h = Rfc6962.nodeHash(f[level], h);
        f[level] = null;
        index >>>= 1;
      }
    }
    for (int t = 0; t < TILE_LEVELS; t++) {
      if (written[t]) {
        tiles.add(new TileWrite(t, Tiles.hashesAtLevel(t, newSize) >>> Tiles.HEIGHT, p[t]));
      }
    }
    RightEdge next = new RightEdge(newSize, f, p);
    HashSource nodes = (level, index) -> {
      if (level < TREE_LEVELS && created[level] != null) {
        long first = oldSize >>> level;
        if (index >= first && index < first + created[level].length) {
          return created[level][(int) (index - first)];
        }
      }
      byte[] h = onFrontier(level, index);
      if (h == null) {
        throw new IllegalStateException("node (" + level + ", " + index + ") is neither completed by the batch ["
            + oldSize + ", " + newSize + ") nor in the compact range of " + oldSize);
      }
      return h;
    };
    return new Extension(next, List.copyOf(tiles), nodes);
  }
}
