package org.fhirledger.gateway.ledger;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.witness.Witness;
import org.fhirledger.ledger.witness.WitnessStore;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * This gateway as a C2SP tlog-witness at {@code /ledger/witness/}: {@code POST add-checkpoint} (answers exactly as
 * the spec says: 200 cosignature lines, 400, 403, 404, 409 with {@code text/x.tlog.size}, 422), and
 * {@code GET evidence?origin=} listing refused, contradicting checkpoints (no PHI: checkpoints hold sizes and
 * hashes). 404 when this gateway is not configured as a witness. Thread-safe.
 */
@RestController
@RequestMapping("/ledger/witness")
class WitnessHttpApi {
  private static final MediaType TEXT_UTF8 = MediaType.parseMediaType("text/plain; charset=utf-8");
  private final Witness witness;

  WitnessHttpApi(WitnessConfiguration.WitnessHolder holder) {
    this.witness = holder.witness();
  }

  @PostMapping("/add-checkpoint")
  ResponseEntity<String> addCheckpoint(@RequestBody(required = false) byte[] body) {
    if (witness == null) {
      return notAWitness();
    }
    try {
      Witness.Response r = witness.addCheckpoint(body == null ? "" : new String(body, StandardCharsets.UTF_8));
      return ResponseEntity.status(r.status()).contentType(MediaType.parseMediaType(r.contentType())).body(r.body());
    } catch (LedgerUnavailableException e) {
      return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).contentType(TEXT_UTF8)
          .body("The witness state is unavailable; try again later.\n");
    }
  }

  @GetMapping("/evidence")
  ResponseEntity<String> evidence(@RequestParam String origin) throws LedgerUnavailableException {
    if (witness == null) {
      return notAWitness();
    }
    List<WitnessStore.Evidence> all = witness.evidence(origin);
    StringBuilder out = new StringBuilder();
    for (WitnessStore.Evidence e : all) {
      out.append(e.receivedAt()).append(' ').append(e.reason()).append("\n\n").append(e.checkpoint()).append('\n');
    }
    return ResponseEntity.ok().contentType(TEXT_UTF8).body(out.toString());
  }

  private static ResponseEntity<String> notAWitness() {
    return ResponseEntity.status(HttpStatus.NOT_FOUND).contentType(TEXT_UTF8)
        .body("This gateway is not configured as a witness (gateway.ledger.witness.enabled).\n");
  }
}
