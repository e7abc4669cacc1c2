package org.fhirledger.ledger.witness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.note.Checkpoints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log's side of C2SP tlog-witness: submits this log's latest checkpoint, with a consistency proof from the size
 * each witness last cosigned, to every configured witness, checks the cosignatures that come back, and keeps the
 * latest checkpoint with the cosignatures collected for it (served at {@code /ledger/checkpoint} when witnesses are
 * configured). A witness that refuses a checkpoint as inconsistent with what it saw is reported as an error: either
 * this copy of the log or the witness's view was forked.
 *
 * <p>Thread-safe; {@link #cosignLatest} runs one round at a time.
 */
public final class CheckpointCosigning {
  private static final Logger log = LoggerFactory.getLogger(CheckpointCosigning.class);

  /** What one witness answered in the last round. */
  public record Outcome(String witness, int status, String detail) {}

  private final Ledger ledger;
  private final List<WitnessClient> witnesses;
  private final Map<String, Long> knownSize = new ConcurrentHashMap<>();
  private final JdbcCosignedCheckpoints store;
  private volatile String cosigned;
  private volatile List<Outcome> lastRound = List.of();

  public CheckpointCosigning(Ledger ledger, List<WitnessClient> witnesses) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.witnesses = List.copyOf(witnesses);
    this.store = null;
  }

  /**
   * Cosigning that keeps the latest cosigned checkpoint in {@code store} too, and starts from the one stored there
   * (if it is signed by this log's key, and its cosignatures by configured witnesses; lines that do not verify are
   * dropped), so that a restart serves it at once.
   *
   * @throws LedgerUnavailableException if the store cannot be read
   */
  public CheckpointCosigning(Ledger ledger, List<WitnessClient> witnesses, JdbcCosignedCheckpoints store)
      throws LedgerUnavailableException {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.witnesses = List.copyOf(witnesses);
    this.store = Objects.requireNonNull(store, "store");
    store.latest().flatMap(this::verified).ifPresent(n -> cosigned = n);
  }

  /** The stored note with only the lines that verify: the log's signature and known witnesses' cosignatures. */
  private Optional<String> verified(String stored) {
    int split = stored.indexOf("\n\n");
    if (split < 0) {
      return Optional.empty();
    }
    String body = stored.substring(0, split + 2);
    StringBuilder logSig = new StringBuilder();
    StringBuilder cosigs = new StringBuilder();
    for (String line : stored.substring(split + 2).split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      String candidate = body + line + "\n";
      try {
        Checkpoints.open(candidate, ledger.verifier());
        logSig.append(line).append('\n');
        continue;
      } catch (LedgerVerificationException notTheLog) {
        // a cosignature, perhaps
      }
      for (WitnessClient w : witnesses) {
        try {
          w.key().verify(body + logSig + line + "\n");
          cosigs.append(line).append('\n');
          break;
        } catch (LedgerVerificationException | RuntimeException notThisWitness) {
          // try the next witness
        }
      }
    }
    if (logSig.isEmpty() || cosigs.isEmpty()) {
      log.warn("the stored cosigned checkpoint does not verify; ignored");
      return Optional.empty();
    }
    return Optional.of(body + logSig + cosigs);
  }

  /** The latest checkpoint with the valid cosignatures collected for it, if a round collected any. */
  public Optional<String> latestCosigned() {
    return Optional.ofNullable(cosigned);
  }

  /** What each witness answered in the last round. */
  public List<Outcome> lastRound() {
    return lastRound;
  }

  /**
   * One round: submits the latest checkpoint to every witness and keeps it with the cosignatures that verify.
   *
   * @return the checkpoint with the cosignatures of this round appended
   */
  public synchronized String cosignLatest() throws LedgerUnavailableException {
    Checkpoint cp = ledger.latestCheckpoint();
    StringBuilder note = new StringBuilder(cp.signedNote());
    List<Outcome> outcomes = new ArrayList<>();
    for (WitnessClient w : witnesses) {
      Outcome o = submit(w, cp);
      outcomes.add(o);
      if (o.status() == 200) {
        note.append(o.detail());
      }
    }
    lastRound = List.copyOf(outcomes);
    String result = note.toString();
    if (!result.equals(cp.signedNote())) {
      cosigned = result;
      if (store != null) {
        try {
          store.offer(cp.size(), result);
        } catch (LedgerUnavailableException e) {
          log.warn("could not store the cosigned checkpoint (it is still served from memory): {}", e.getMessage());
        }
      }
    }
    return result;
  }

  private Outcome submit(WitnessClient w, Checkpoint cp) throws LedgerUnavailableException {
    String name = w.key().name();
    for (int attempt = 0; attempt < 2; attempt++) {
      long old = knownSize.getOrDefault(name, 0L);
      if (old > cp.size()) {
        return report(name, 409, "the witness cosigned size " + old + ", beyond this log's " + cp.size()
            + ": this copy of the log is behind or was rolled back");
      }
      StringBuilder body = new StringBuilder("old ").append(old).append('\n');
      if (old > 0) {
        for (byte[] h : ledger.consistencyProof(old, cp.size()).hashes()) {
          body.append(Base64.getEncoder().encodeToString(h)).append('\n');
        }
      }
      body.append('\n').append(cp.signedNote());
      Witness.Response r;
      try {
        r = w.addCheckpoint(body.toString());
      } catch (IOException e) {
        return new Outcome(name, 0, "unreachable: " + e.getMessage());
      }
      if (r.status() == 200) {
        String line = r.body();
        try {
          w.key().verify(cp.signedNote() + line);
        } catch (LedgerVerificationException e) {
          return report(name, 502, "answered with a cosignature that does not verify: " + e.getMessage());
        }
        knownSize.put(name, cp.size());
        return new Outcome(name, 200, line);
      }
      if (r.status() == 409 && r.contentType() != null && r.contentType().startsWith("text/x.tlog.size")) {
        try {
          knownSize.put(name, Long.parseLong(r.body().strip()));
        } catch (NumberFormatException e) {
          return report(name, 502, "answered 409 without a size");
        }
        continue;
      }
      return report(name, r.status(), r.body().strip());
    }
    return report(name, 409, "the witness's size kept moving");
  }

  private static Outcome report(String witness, int status, String detail) {
    if (status == 409 || status == 422) {
      log.error("witness {} refuses this log's checkpoint as inconsistent with what it cosigned ({}): {}", witness,
          status, detail);
    } else {
      log.warn("witness {} did not cosign ({}): {}", witness, status, detail);
    }
    return new Outcome(witness, status, detail);
  }
}
