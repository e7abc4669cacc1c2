package org.fhirledger.ledger;

import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.tiles.TileHashSource;
import org.fhirledger.ledger.tiles.Tiles;

/**
 * The read side of a {@link Ledger} over its {@link LedgerStorage}: proofs, entries, tiles and entry bundles, each
 * checked against the tree size the ledger currently signs. Shared by the ledgers that sequence appends themselves
 * ({@link SequencingLedger}, the shared-PostgreSQL ledger), which differ only in how they learn that size.
 */
public final class LogReads {
  /** Most entries one {@link #entries} call returns. */
  public static final int MAX_READ = 4096;

  private final LedgerStorage storage;

  public LogReads(LedgerStorage storage) {
    this.storage = storage;
  }

  /** See {@link Ledger#inclusionProof}; {@code latestSize} is the size of the ledger's latest checkpoint. */
  public InclusionProof inclusionProof(long index, long treeSize, long latestSize) throws LedgerUnavailableException {
    checkSize(treeSize, latestSize);
    if (index < 0 || index >= treeSize) {
      throw new IllegalArgumentException("need 0 <= index < treeSize, got " + index + ", " + treeSize);
    }
    try {
      return new InclusionProof(index, treeSize,
          MerkleProofs.inclusionProof(index, treeSize, new TileHashSource(storage, treeSize)));
    } catch (LedgerVerificationException e) {
      throw new LedgerUnavailableException("stored tiles are malformed: " + e.getMessage(), e);
    }
  }

  /** See {@link Ledger#consistencyProof}. */
  public ConsistencyProof consistencyProof(long size1, long size2, long latestSize)
      throws LedgerUnavailableException {
    checkSize(size2, latestSize);
    if (size1 < 0 || size1 > size2) {
      throw new IllegalArgumentException("need 0 <= size1 <= size2, got " + size1 + ", " + size2);
    }
    try {
      return new ConsistencyProof(size1, size2,
          MerkleProofs.consistencyProof(size1, size2, new TileHashSource(storage, size2)));
    } catch (LedgerVerificationException e) {
      throw new LedgerUnavailableException("stored tiles are malformed: " + e.getMessage(), e);
    }
  }

  /** See {@link Ledger#entries}. */
  public List<LedgerEntry> entries(long from, long to, long latestSize) throws LedgerUnavailableException {
    checkSize(to, latestSize);
    if (from < 0 || from > to || to - from > MAX_READ) {
      throw new IllegalArgumentException("need 0 <= from <= to and at most " + MAX_READ + " entries, got [" + from
          + ", " + to + ")");
    }
    List<byte[]> data = storage.entries(from, to);
    List<LedgerEntry> out = new ArrayList<>(data.size());
    for (int i = 0; i < data.size(); i++) {
      out.add(new LedgerEntry(from + i, data.get(i)));
    }
    return out;
  }

  /** See {@link Ledger#tile}. */
  public byte[] tile(int level, long index, int width, long latestSize) throws LedgerUnavailableException {
    if (level < 0 || level > 63 || index < 0 || width < 1 || width > Tiles.WIDTH
        || Tiles.widthAt(level, index, latestSize) < width) {
      throw new IllegalArgumentException("tile " + level + "/" + index + " of width " + width
          + " does not exist at tree size " + latestSize);
    }
    return storage.tile(level, index, width);
  }

  /** See {@link Ledger#entryBundle}. */
  public byte[] entryBundle(long index, int width, long latestSize) throws LedgerUnavailableException {
    if (index < 0 || width < 1 || width > Tiles.WIDTH || Tiles.widthAt(0, index, latestSize) < width) {
      throw new IllegalArgumentException("entry bundle " + index + " of width " + width
          + " does not exist at tree size " + latestSize);
    }
    return storage.entryBundle(index, width);
  }

  private static void checkSize(long treeSize, long latestSize) {
    if (treeSize < 0 || treeSize > latestSize) {
      throw new IllegalArgumentException("tree size " + treeSize + " is beyond the latest checkpoint (" + latestSize
          + ")");
    }
  }
}
