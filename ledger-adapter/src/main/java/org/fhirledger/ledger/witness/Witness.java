package org.fhirledger.ledger.witness;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.merkle.ProofVerifier;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A C2SP {@code tlog-witness}: {@link #addCheckpoint} implements {@code POST <prefix>/add-checkpoint} for the logs
 * this witness is configured to follow, independent of HTTP. It cosigns (tlog-cosignature v1) a checkpoint only if
 * it is signed by the log's key and provably extends the latest checkpoint it cosigned for that log; a checkpoint
 * that contradicts it (same size with another root, or a consistency proof that does not verify) is refused and
 * kept as evidence in the store.
 *
 * <p>Thread-safe: checking the old size and recording the new checkpoint is one compare-and-set in the store.
 */
public final class Witness {
  private static final Logger log = LoggerFactory.getLogger(Witness.class);
  private static final int MAX_BODY = 16 * 1024;
  private static final int MAX_PROOF = 63;

  /** The HTTP answer the spec prescribes: status, body and content type. */
  public record Response(int status, String body, String contentType) {
    static Response of(int status, String message) {
      return new Response(status, message + "\n", "text/plain; charset=utf-8");
    }
  }

  private final Cosigner key;
  private final Map<String, NoteVerifier> logs;
  private final WitnessStore store;
  private final Clock clock;

  /**
   * @param key this witness's cosigning key
   * @param logs the logs followed, by origin; each checkpoint must carry a signature by its log's key
   */
  public Witness(Cosigner key, List<NoteVerifier> logs, WitnessStore store, Clock clock) {
    this.key = Objects.requireNonNull(key, "key");
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    Map<String, NoteVerifier> m = new java.util.HashMap<>();
    for (NoteVerifier v : logs) {
      m.put(v.name(), v);
    }
    this.logs = Map.copyOf(m);
  }

  public CosignatureVerifier verifier() {
    return key.verifier();
  }

  /** The latest checkpoint size and root this witness cosigned for {@code origin}. */
  public Optional<WitnessStore.Cosigned> latest(String origin) throws LedgerUnavailableException {
    return store.latest(origin);
  }

  /** The checkpoints this witness refused for {@code origin}, oldest first. */
  public List<WitnessStore.Evidence> evidence(String origin) throws LedgerUnavailableException {
    return store.evidence(origin, 1000);
  }

  /**
   * Handles an add-checkpoint request body: {@code old <size>\n}, up to 63 base64 proof hashes one per line, an
   * empty line, then the signed checkpoint.
   *
   * @return 200 with the cosignature line; 400 malformed; 403 no valid signature by the log's key; 404 unknown log;
   *     409 old size is not the latest cosigned size (body: that size, {@code text/x.tlog.size}) or same size with
   *     another root; 422 consistency proof does not verify
   * @throws LedgerUnavailableException if the store fails (answer 503)
   */
  public Response addCheckpoint(String body) throws LedgerUnavailableException {
    if (body.length() > MAX_BODY) {
      return Response.of(400, "request body exceeds " + MAX_BODY + " characters");
    }
    int blank = body.indexOf("\n\n");
    if (!body.startsWith("old ") || blank < 0) {
      return Response.of(400, "body must be 'old <size>', proof lines, an empty line, then the checkpoint");
    }
    String[] head = body.substring(0, blank).split("\n", -1);
    long oldSize;
    try {
      String digits = head[0].substring(4);
      if (!digits.matches("0|[1-9][0-9]{0,18}")) {
        throw new NumberFormatException();
      }
      oldSize = Long.parseLong(digits);
    } catch (NumberFormatException e) {
      return Response.of(400, "old size must be a decimal without leading zeroes");
    }
    if (head.length - 1 > MAX_PROOF) {
      return Response.of(400, "more than " + MAX_PROOF + " consistency proof lines");
    }
    List<byte[]> proof = new ArrayList<>();
    for (int i = 1; i < head.length; i++) {
      byte[] h;
      try {
        h = Base64.getDecoder().decode(head[i]);
      } catch (IllegalArgumentException e) {
        return Response.of(400, "consistency proof line " + i + " is not base64");
      }
      if (h.length != 32) {
        return Response.of(400, "consistency proof line " + i + " is not a 32-byte hash");
      }
      proof.add(h);
    }
    String note = body.substring(blank + 2);
    String origin = note.indexOf('\n') > 0 ? note.substring(0, note.indexOf('\n')) : "";
    NoteVerifier logKey = logs.get(origin);
    if (logKey == null) {
      return Response.of(404, "this witness does not follow a log with origin '" + abbreviate(origin) + "'");
    }
    Checkpoint cp;
    try {
      cp = Checkpoints.open(note, logKey);
    } catch (LedgerVerificationException e) {
      return Response.of(403, "checkpoint does not carry a valid signature by the log's key: " + e.getMessage());
    }
    if (oldSize > cp.size()) {
      return Response.of(400, "old size " + oldSize + " is larger than the checkpoint size " + cp.size());
    }
    Optional<WitnessStore.Cosigned> latest = store.latest(origin);
    long latestSize = latest.map(WitnessStore.Cosigned::size).orElse(0L);
    if (oldSize != latestSize) {
      return new Response(409, latestSize + "\n", "text/x.tlog.size");
    }
    if (oldSize == cp.size()) {
      byte[] expected = latest.map(WitnessStore.Cosigned::rootHash).orElse(Rfc6962.emptyRoot());
      if (!Arrays.equals(expected, cp.rootHash())) {
        evidence(origin, "checkpoint for size " + cp.size() + " has root " + Rfc6962.hex(cp.rootHash())
            + " but this witness cosigned root " + Rfc6962.hex(expected) + " for that size", note);
        return Response.of(409, "root hash differs from the cosigned checkpoint of the same size");
      }
    } else if (oldSize == 0) {
      if (!proof.isEmpty()) {
        return Response.of(422, "the consistency proof from size 0 must be empty");
      }
    } else {
      try {
        ProofVerifier.verifyConsistency(oldSize, cp.size(), latest.orElseThrow().rootHash(), cp.rootHash(), proof);
      } catch (LedgerVerificationException e) {
        evidence(origin, "no valid consistency proof from the cosigned size " + oldSize + " to " + cp.size() + ": "
            + e.getMessage(), note);
        return Response.of(422, "consistency proof from " + oldSize + " to " + cp.size() + " does not verify");
      }
    }
    Instant now = clock.instant();
    if (!store.compareAndSet(origin, oldSize, new WitnessStore.Cosigned(cp.size(), cp.rootHash()), now)) {
      long current = store.latest(origin).map(WitnessStore.Cosigned::size).orElse(0L);
      return new Response(409, current + "\n", "text/x.tlog.size");
    }
    String text = note.substring(0, note.lastIndexOf("\n\n") + 1);
    return new Response(200, key.cosign(text, now.getEpochSecond()), "text/plain; charset=utf-8");
  }

  private void evidence(String origin, String reason, String note) throws LedgerUnavailableException {
    log.warn("witness {} refused a checkpoint of log {}: {}", key.verifier().name(), origin, reason);
    store.recordEvidence(new WitnessStore.Evidence(origin, clock.instant(), reason, note));
  }

  private static String abbreviate(String s) {
    String clean = s.replaceAll("[^\\x20-\\x7e]", "?");
    return clean.length() > 100 ? clean.substring(0, 100) + "..." : clean;
  }
}
