package org.fhirledger.ledger.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.ConsistencyProof;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.merkle.HashSource;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.merkle.ProofVerifier;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.witness.CosignaturePolicy;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.tiles.TileHashSource;
import org.fhirledger.ledger.tiles.Tiles;

/**
 * An independent verifier of a ledger that trusts only the log's verifier key. It checks checkpoint signatures,
 * recomputes the tree from the entries and compares it with every stored tile and with the signed root, and checks
 * inclusion and consistency proofs. On failure it throws {@link LedgerVerificationException} saying exactly what
 * does not match: which entry index or tile, the expected and the actual hash.
 *
 * <p>Immutable and thread-safe. Verification methods return nothing and throw on failure.
 */
public final class LogVerifier {
  private final NoteVerifier key;

  public LogVerifier(NoteVerifier key) {
    this.key = Objects.requireNonNull(key, "key");
  }

  /** Verifies a signed checkpoint note and returns its contents. */
  public Checkpoint openCheckpoint(String signedNote) throws LedgerVerificationException {
    try {
      return Checkpoints.open(signedNote, key);
    } catch (LedgerVerificationException e) {
      throw new LedgerVerificationException("checkpoint: " + e.getMessage(), e);
    }
  }

  /** Checks that {@code entry} is at {@code proof.index()} in the tree of {@code checkpoint}, which must be signed. */
  public void verifyInclusion(Checkpoint checkpoint, byte[] entry, InclusionProof proof)
      throws LedgerVerificationException {
    Checkpoint cp = openCheckpoint(checkpoint.signedNote());
    if (proof.treeSize() != cp.size()) {
      throw new LedgerVerificationException("inclusion proof is for tree size " + proof.treeSize()
          + " but the checkpoint is for size " + cp.size());
    }
    ProofVerifier.verifyInclusion(proof.index(), proof.treeSize(), Rfc6962.leafHash(entry), proof.hashes(),
        cp.rootHash());
  }

  /** Checks that signed checkpoint {@code newer} extends signed checkpoint {@code older}. */
  public void verifyConsistency(Checkpoint older, Checkpoint newer, ConsistencyProof proof)
      throws LedgerVerificationException {
    Checkpoint a = openCheckpoint(older.signedNote());
    Checkpoint b = openCheckpoint(newer.signedNote());
    if (proof.size1() != a.size() || proof.size2() != b.size()) {
      throw new LedgerVerificationException("consistency proof is for sizes " + proof.size1() + " -> "
          + proof.size2() + " but the checkpoints are for " + a.size() + " -> " + b.size());
    }
    if (a.size() == 0) {
      if (!Arrays.equals(a.rootHash(), Rfc6962.emptyRoot())) {
        throw new LedgerVerificationException("checkpoint of size 0 has root " + Rfc6962.hex(a.rootHash())
            + ", expected the empty root " + Rfc6962.hex(Rfc6962.emptyRoot()));
      }
      return;
    }
    ProofVerifier.verifyConsistency(a.size(), b.size(), a.rootHash(), b.rootHash(), proof.hashes());
  }

  /**
   * Audits a whole log: verifies its checkpoint, recomputes every leaf hash from the entry bundles and every tile
   * level from the one below, compares each with the stored tile, and the recomputed root with the signed root.
   *
   * @return the verified checkpoint
   * @throws LedgerVerificationException naming the first defect
   * @throws LedgerUnavailableException if the source cannot be read (a missing tile or bundle)
   */
  public Checkpoint verifyLog(LogSource source) throws LedgerVerificationException, LedgerUnavailableException {
    Checkpoint cp = openCheckpoint(source.checkpoint());
    verifyTree(source, cp);
    return cp;
  }

  /**
   * As {@link #verifyLog}, and the source's checkpoint must also carry cosignatures from at least the policy's quorum
   * of witnesses (C2SP tlog-cosignature).
   */
  public Checkpoint verifyLog(LogSource source, CosignaturePolicy policy)
      throws LedgerVerificationException, LedgerUnavailableException {
    String note = source.checkpoint();
    Checkpoint cp = openCheckpoint(note);
    policy.verify(note);
    verifyTree(source, cp);
    return cp;
  }

  /**
   * Checks one copy of a log against a checkpoint its witnesses cosigned (obtained from anywhere: another member, a
   * witness, an earlier receipt): the cosigned checkpoint must satisfy {@code policy}, and the copy must hold exactly
   * that tree, and extend it. A copy whose database was rewritten, rolled back or forked fails, naming how.
   *
   * @return the copy's latest checkpoint, verified
   */
  public Checkpoint verifyWitnessed(LogSource source, String cosignedNote, CosignaturePolicy policy)
      throws LedgerVerificationException, LedgerUnavailableException {
    Checkpoint witnessed = openCheckpoint(cosignedNote);
    List<String> cosigners = policy.verify(cosignedNote);
    Checkpoint latest = openCheckpoint(source.checkpoint());
    if (latest.size() < witnessed.size()) {
      throw new LedgerVerificationException("this copy of the log has size " + latest.size() + ", smaller than the "
          + "size " + witnessed.size() + " that witnesses " + cosigners + " cosigned: it was rolled back");
    }
    if (latest.size() == witnessed.size() && !Arrays.equals(latest.rootHash(), witnessed.rootHash())) {
      throw new LedgerVerificationException("this copy's checkpoint for size " + latest.size() + " has root "
          + Rfc6962.hex(latest.rootHash()) + " but witnesses " + cosigners + " cosigned root "
          + Rfc6962.hex(witnessed.rootHash()) + ": the log was forked or rewritten");
    }
    try {
      verifyTree(source, witnessed);
    } catch (LedgerVerificationException e) {
      throw new LedgerVerificationException("this copy does not hold the tree that witnesses " + cosigners
          + " cosigned at size " + witnessed.size() + ": " + e.getMessage(), e);
    }
    verifyTree(source, latest);
    return latest;
  }

  /** As {@link #verifyLog}, for a given signed checkpoint rather than the source's latest. */
  public void verifyTree(LogSource source, Checkpoint checkpoint)
      throws LedgerVerificationException, LedgerUnavailableException {
    Checkpoint cp = openCheckpoint(checkpoint.signedNote());
    long n = cp.size();
    if (n == 0) {
      if (!Arrays.equals(cp.rootHash(), Rfc6962.emptyRoot())) {
        throw new LedgerVerificationException("checkpoint of size 0 has root " + Rfc6962.hex(cp.rootHash())
            + ", expected the empty root");
      }
      return;
    }
    int top = Tiles.topLevel(n);
    byte[][] computed = new byte[top + 1][];
    List<String> tileDefects = new ArrayList<>();
    String firstEntryDefect = null;
    boolean storedChainBroken = false;
    computed[0] = leafHashes(source, n);
    byte[][] storedUp = new byte[top + 2][];
    for (int level = 0; level <= top; level++) {
      long count = Tiles.hashesAtLevel(level, n);
      long tilesAtLevel = (count + Tiles.WIDTH - 1) / Tiles.WIDTH;
      byte[] next = new byte[(int) (Tiles.hashesAtLevel(level + 1, n) * Rfc6962.HASH_SIZE)];
      storedUp[level + 1] = new byte[next.length];
      for (long t = 0; t < tilesAtLevel; t++) {
        int width = Tiles.widthAt(level, t, n);
        String path = Tiles.tilePath(level, t, width);
        byte[] stored = source.tile(level, t, width);
        if (stored.length != width * Rfc6962.HASH_SIZE) {
          throw new LedgerVerificationException(path + " has " + stored.length + " bytes, expected "
              + width * Rfc6962.HASH_SIZE);
        }
        for (int p = 0; p < width; p++) {
          int off = (int) ((t * Tiles.WIDTH + p) * Rfc6962.HASH_SIZE);
          byte[] want = Arrays.copyOfRange(computed[level], off, off + Rfc6962.HASH_SIZE);
          byte[] got = Arrays.copyOfRange(stored, p * Rfc6962.HASH_SIZE, (p + 1) * Rfc6962.HASH_SIZE);
          if (!Arrays.equals(want, got)) {
            String where = level == 0 ? " (entry " + (t * Tiles.WIDTH + p) + ")" : "";
            if (level == 0 && firstEntryDefect == null) {
              long idx = t * Tiles.WIDTH + p;
              firstEntryDefect = "entry " + idx + " (" + Tiles.entriesPath(t, width) + ", position " + p
                  + ") hashes to " + Rfc6962.hex(want) + " but " + path + " position " + p
                  + ", which the signed tree commits to, holds " + Rfc6962.hex(got);
            }
            if (tileDefects.size() < 8) {
              tileDefects.add(path + " position " + p + where + ": expected " + Rfc6962.hex(want)
                  + " (recomputed from entries), actual " + Rfc6962.hex(got));
            }
          }
          if (level > 0 && storedUp[level] != null && storedUp[level].length >= off + Rfc6962.HASH_SIZE) {
            byte[] up = Arrays.copyOfRange(storedUp[level], off, off + Rfc6962.HASH_SIZE);
            if (!Arrays.equals(up, got)) {
              storedChainBroken = true;
            }
          }
        }
        if (width == Tiles.WIDTH) {
          byte[] h = Rfc6962.perfectRoot(computed[level], (int) (t * Tiles.WIDTH * Rfc6962.HASH_SIZE), Tiles.WIDTH);
          System.arraycopy(h, 0, next, (int) (t * Rfc6962.HASH_SIZE), Rfc6962.HASH_SIZE);
          byte[] s = Rfc6962.perfectRoot(stored, 0, Tiles.WIDTH);
          System.arraycopy(s, 0, storedUp[level + 1], (int) (t * Rfc6962.HASH_SIZE), Rfc6962.HASH_SIZE);
        }
      }
      if (level < top) {
        computed[level + 1] = next;
      }
    }
    byte[] entriesRoot = MerkleProofs.root(n, levelSource(computed));
    byte[] signedRoot = cp.rootHash();
    if (Arrays.equals(entriesRoot, signedRoot)) {
      if (!tileDefects.isEmpty()) {
        throw new LedgerVerificationException("the entries match the signed root " + Rfc6962.hex(signedRoot)
            + " at size " + n + " but stored tiles do not: " + String.join("; ", tileDefects));
      }
      return;
    }
    byte[] tilesRoot;
    try {
      tilesRoot = MerkleProofs.root(n, new TileHashSource(source, n));
    } catch (LedgerVerificationException e) {
      tilesRoot = new byte[0];
    }
    if (Arrays.equals(tilesRoot, signedRoot) && !storedChainBroken && firstEntryDefect != null) {
      throw new LedgerVerificationException("entry altered: " + firstEntryDefect);
    }
    throw new LedgerVerificationException("the tree recomputed from the entries has root " + Rfc6962.hex(entriesRoot)
        + " at size " + n + " but the signed checkpoint says " + Rfc6962.hex(signedRoot)
        + (tileDefects.isEmpty() ? "" : "; mismatches: " + String.join("; ", tileDefects)));
  }

  /** Leaf hashes of entries [0, n), read bundle by bundle; malformed bundles are named. */
  private static byte[] leafHashes(LogSource source, long n)
      throws LedgerVerificationException, LedgerUnavailableException {
    if (n > Integer.MAX_VALUE / Rfc6962.HASH_SIZE) {
      throw new LedgerVerificationException("log of " + n + " entries is too large for this in-memory verifier");
    }
    byte[] out = new byte[(int) n * Rfc6962.HASH_SIZE];
    long bundles = (n + Tiles.WIDTH - 1) / Tiles.WIDTH;
    for (long b = 0; b < bundles; b++) {
      int width = Tiles.widthAt(0, b, n);
      String path = Tiles.entriesPath(b, width);
      List<byte[]> entries = EntryBundles.decode(source.entryBundle(b, width), width, path);
      for (int i = 0; i < width; i++) {
        System.arraycopy(Rfc6962.leafHash(entries.get(i)), 0, out,
            (int) ((b * Tiles.WIDTH + i) * Rfc6962.HASH_SIZE), Rfc6962.HASH_SIZE);
      }
    }
    return out;
  }

  private static HashSource levelSource(byte[][] levels) {
    return (level, index) -> {
      int tileLevel = level / Tiles.HEIGHT;
      int r = level % Tiles.HEIGHT;
      long first = index << r;
      return Rfc6962.perfectRoot(levels[tileLevel], (int) (first * Rfc6962.HASH_SIZE), 1 << r);
    };
  }

  /**
   * Audits the history of a log in a database: every stored checkpoint must be signed by the key and its root must
   * be the root of the verified tree at its size, so all are consistent with each other.
   */
  public void verifyHistory(JdbcLogSource source) throws LedgerVerificationException, LedgerUnavailableException {
    Checkpoint latest = verifyLog(source);
    long from = 0;
    while (true) {
      List<Long> sizes = source.checkpointSizes(from, latest.size(), 1000);
      for (long size : sizes) {
        String note = source.checkpoint(size).orElseThrow();
        Checkpoint cp;
        try {
          cp = openCheckpoint(note);
        } catch (LedgerVerificationException e) {
          throw new LedgerVerificationException("stored checkpoint for size " + size + ": " + e.getMessage(), e);
        }
        if (cp.size() != size) {
          throw new LedgerVerificationException("checkpoint stored under size " + size + " is for size " + cp.size());
        }
        byte[] root = size == 0 ? Rfc6962.emptyRoot() : MerkleProofs.root(size, tilesAt(source, size));
        if (!Arrays.equals(root, cp.rootHash())) {
          throw new LedgerVerificationException("checkpoint for size " + size + " has root " + Rfc6962.hex(
              cp.rootHash()) + " but the verified tree at that size has root " + Rfc6962.hex(root)
              + ": it is inconsistent with checkpoint " + latest.size());
        }
      }
      if (sizes.size() < 1000) {
        break;
      }
      from = sizes.get(sizes.size() - 1) + 1;
    }
  }

  private static HashSource tilesAt(LogSource source, long size) {
    return new TileHashSource(source, size);
  }
}
