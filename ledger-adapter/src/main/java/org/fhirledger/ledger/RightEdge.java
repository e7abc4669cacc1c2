package org.fhirledger.ledger;

import java.util.Arrays;
import java.util.List;
import org.fhirledger.ledger.LedgerStorage.TileWrite;
import org.fhirledger.ledger.merkle.HashSource;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.tiles.TileReader;
import org.fhirledger.ledger.tiles.Tiles;

/**
 * The rightmost (partial) tile at each level of the tree: all the writer needs to append leaves, produce the tiles a
 * batch changes, and compute the new root, in O(batch + log n) hashing and memory. Not thread-safe: owned by the
 * sequencer thread.
 */
final class RightEdge {
  private static final int LEVELS = 8;
  private static final int TILE_BYTES = Tiles.WIDTH * Rfc6962.HASH_SIZE;

  private long size;
  private final byte[][] partial = new byte[LEVELS][];
  private final int[] count = new int[LEVELS];

  private RightEdge(long size) {
    this.size = size;
  }

  static RightEdge empty() {
    return new RightEdge(0);
  }

  /** Loads the partial tiles of the tree of {@code size} from storage. */
  static RightEdge load(TileReader reader, long size) throws LedgerUnavailableException {
    RightEdge e = new RightEdge(size);
    for (int level = 0; level < LEVELS; level++) {
      int width = (int) (Tiles.hashesAtLevel(level, size) & (Tiles.WIDTH - 1));
      if (width > 0) {
        byte[] t = reader.tile(level, Tiles.hashesAtLevel(level, size) >>> Tiles.HEIGHT, width);
        if (t.length != width * Rfc6962.HASH_SIZE) {
          throw new LedgerUnavailableException("stored " + Tiles.tilePath(level,
              Tiles.hashesAtLevel(level, size) >>> Tiles.HEIGHT, width) + " has " + t.length + " bytes");
        }
        e.partial[level] = Arrays.copyOf(t, TILE_BYTES);
        e.count[level] = width;
      }
    }
    return e;
  }

  /** The hashes of the partial tile at {@code level} (count * 32 bytes, possibly empty). */
  byte[] partialHashes(int level) {
    return partial[level] == null ? new byte[0] : Arrays.copyOf(partial[level], count[level] * Rfc6962.HASH_SIZE);
  }

  long size() {
    return size;
  }

  RightEdge copy() {
    RightEdge c = new RightEdge(size);
    for (int i = 0; i < LEVELS; i++) {
      c.count[i] = count[i];
      if (partial[i] != null) {
        c.partial[i] = count[i] == 0 ? new byte[TILE_BYTES] : partial[i].clone();
      }
    }
    return c;
  }

  /** Appends one leaf hash; each tile this completes is added to {@code completed}. */
  void append(byte[] leafHash, List<TileWrite> completed) {
    byte[] h = leafHash;
    for (int level = 0; ; level++) {
      if (partial[level] == null) {
        partial[level] = new byte[TILE_BYTES];
      }
      long tileIndex = Tiles.hashesAtLevel(level, size) >>> Tiles.HEIGHT;
      System.arraycopy(h, 0, partial[level], count[level] * Rfc6962.HASH_SIZE, Rfc6962.HASH_SIZE);
      count[level]++;
      if (count[level] < Tiles.WIDTH) {
        break;
      }
      completed.add(new TileWrite(level, tileIndex, partial[level].clone()));
      h = Rfc6962.perfectRoot(partial[level], 0, Tiles.WIDTH);
      count[level] = 0;
    }
    size++;
  }

  /** Adds, for every level whose partial tile differs from the one at {@code oldSize}, that partial tile. */
  void partialTilesSince(long oldSize, List<TileWrite> out) {
    for (int level = 0; level < LEVELS; level++) {
      long hashes = Tiles.hashesAtLevel(level, size);
      if (hashes == Tiles.hashesAtLevel(level, oldSize)) {
        continue;
      }
      int width = (int) (hashes & (Tiles.WIDTH - 1));
      if (width > 0) {
        out.add(new TileWrite(level, hashes >>> Tiles.HEIGHT,
            Arrays.copyOf(partial[level], width * Rfc6962.HASH_SIZE)));
      }
    }
  }

  /** The root hash of the tree, from the partial tiles alone. */
  byte[] root() {
    HashSource edge = (level, index) -> {
      int tileLevel = level / Tiles.HEIGHT;
      int r = level % Tiles.HEIGHT;
      long first = index << r;
      long tileStart = (Tiles.hashesAtLevel(tileLevel, size) >>> Tiles.HEIGHT) << Tiles.HEIGHT;
      int pos = (int) (first - tileStart);
      if (pos < 0 || pos + (1 << r) > count[tileLevel]) {
        throw new IllegalStateException("node (" + level + ", " + index + ") is not on the right edge of size "
            + size);
      }
      return Rfc6962.perfectRoot(partial[tileLevel], pos * Rfc6962.HASH_SIZE, 1 << r);
    };
    try {
      return MerkleProofs.root(size, edge);
    } catch (LedgerUnavailableException | org.fhirledger.ledger.LedgerVerificationException e) {
      throw new IllegalStateException("in-memory hash source cannot fail", e);
    }
  }
}
