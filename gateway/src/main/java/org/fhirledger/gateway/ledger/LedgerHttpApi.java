package org.fhirledger.gateway.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.ConsistencyProof;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.HandlerMapping;

/**
 * The ledger's public read API at {@code /ledger/}, following C2SP tlog-tiles so that any tiled-log
 * client that knows the verifier key can audit the gateway: {@code checkpoint} (mutable, cached for
 * at most a few seconds), {@code tile/<L>/<N>[.p/<W>]} and {@code tile/entries/<N>[.p/<W>]}
 * (immutable, long-lived caching), plus {@code vkey} and JSON proof conveniences. Entries hold no
 * PHI (patients appear only as pseudonyms), so the API is public. Thread-safe.
 */
@RestController
@RequestMapping("/ledger")
class LedgerHttpApi {

  private static final MediaType TEXT_UTF8 = MediaType.parseMediaType("text/plain; charset=utf-8");
  private static final CacheControl IMMUTABLE = CacheControl.maxAge(365, TimeUnit.DAYS).cachePublic().immutable();

  private final Ledger ledger;
  private final WitnessConfiguration.WitnessRounds witnessRounds;

  LedgerHttpApi(Ledger ledger, WitnessConfiguration.WitnessRounds witnessRounds) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.witnessRounds = Objects.requireNonNull(witnessRounds, "witnessRounds");
  }

  /**
   * The latest checkpoint; when witnesses are configured, the latest one they cosigned, with their cosignatures
   * appended (C2SP tlog-cosignature), until a first round has cosigned one.
   */
  @GetMapping("/checkpoint")
  ResponseEntity<String> checkpoint() {
    String note = witnessRounds.cosigning().flatMap(c -> c.latestCosigned())
        .orElseGet(() -> ledger.latestCheckpoint().signedNote());
    return ResponseEntity.ok()
        .contentType(TEXT_UTF8)
        .cacheControl(CacheControl.maxAge(2, TimeUnit.SECONDS).cachePublic())
        .body(note);
  }

  @GetMapping("/vkey")
  ResponseEntity<String> vkey() {
    return ResponseEntity.ok().contentType(TEXT_UTF8).body(ledger.verifier().vkey() + "\n");
  }

  @GetMapping("/tile/**")
  ResponseEntity<byte[]> tile(jakarta.servlet.http.HttpServletRequest request) throws LedgerUnavailableException {
    String path = (String) request.getAttribute(HandlerMapping.PATH_WITHIN_HANDLER_MAPPING_ATTRIBUTE);
    TilePath tile = TilePath.parse(path.substring("/ledger/tile/".length()));
    byte[] body = tile.entries()
        ? ledger.entryBundle(tile.index(), tile.width())
        : ledger.tile(tile.level(), tile.index(), tile.width());
    return ResponseEntity.ok().contentType(MediaType.APPLICATION_OCTET_STREAM).cacheControl(IMMUTABLE).body(body);
  }

  @GetMapping(value = "/proof/inclusion", produces = MediaType.APPLICATION_JSON_VALUE)
  Map<String, Object> inclusion(@RequestParam long index, @RequestParam(required = false) Long size)
      throws LedgerUnavailableException {
    Checkpoint checkpoint = ledger.latestCheckpoint();
    long treeSize = size == null ? checkpoint.size() : size;
    InclusionProof proof = ledger.inclusionProof(index, treeSize);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("index", proof.index());
    out.put("treeSize", proof.treeSize());
    out.put("hashes", base64(proof.hashes()));
    if (treeSize == checkpoint.size()) {
      out.put("checkpoint", checkpoint.signedNote());
    }
    return out;
  }

  @GetMapping(value = "/proof/consistency", produces = MediaType.APPLICATION_JSON_VALUE)
  Map<String, Object> consistency(@RequestParam long from, @RequestParam long to) throws LedgerUnavailableException {
    ConsistencyProof proof = ledger.consistencyProof(from, to);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("from", from);
    out.put("to", to);
    out.put("hashes", base64(proof.hashes()));
    return out;
  }

  private static List<String> base64(List<byte[]> hashes) {
    return hashes.stream().map(h -> Base64.getEncoder().encodeToString(h)).toList();
  }

  @ExceptionHandler(IllegalArgumentException.class)
  ResponseEntity<String> notThere(IllegalArgumentException e) {
    return ResponseEntity.status(HttpStatus.NOT_FOUND).contentType(TEXT_UTF8).body(e.getMessage() + "\n");
  }

  @ExceptionHandler(LedgerUnavailableException.class)
  ResponseEntity<String> unavailable(LedgerUnavailableException e) {
    return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).contentType(TEXT_UTF8)
        .body("The ledger is unavailable; try again later.\n");
  }

  @ExceptionHandler(org.springframework.web.bind.MissingServletRequestParameterException.class)
  ResponseEntity<String> missing(Exception e) {
    return ResponseEntity.badRequest().contentType(TEXT_UTF8).body(e.getMessage() + "\n");
  }

  @ExceptionHandler(org.springframework.web.method.annotation.MethodArgumentTypeMismatchException.class)
  ResponseEntity<String> mismatch(org.springframework.web.method.annotation.MethodArgumentTypeMismatchException e) {
    return ResponseEntity.badRequest().contentType(TEXT_UTF8)
        .body("Parameter '" + e.getName() + "' must be a whole number\n");
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
