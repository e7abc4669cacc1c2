package org.fhirledger.conformance.ledger;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;

/** A gateway's ledger read the way an outside auditor reads it: over HTTP, trusting only {@code /ledger/vkey}. */
final class LedgerOverHttp {

  private final HttpClient http;
  private final String root;
  private final HttpLogSource source;

  LedgerOverHttp(HttpClient http, String root) {
    this.http = http;
    this.root = root;
    this.source = new HttpLogSource(URI.create(root + "/ledger/"), http, Duration.ofSeconds(30));
  }

  LogVerifier verifier() throws Exception {
    HttpResponse<String> vkey = http.send(HttpRequest.newBuilder(URI.create(root + "/ledger/vkey"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    return new LogVerifier(NoteVerifier.parse(vkey.body().trim()));
  }

  /** Verifies the whole log (every tile, every entry, the signed checkpoint) and returns its checkpoint. */
  Checkpoint verifyLog() throws Exception {
    return verifier().verifyLog(source);
  }

  /** Entry {@code index} of the tree of {@code size}, raw, from its entry bundle. */
  byte[] entryAt(long index, long size) throws Exception {
    long tile = index / 256;
    int width = (int) Math.min(256, size - tile * 256);
    return EntryBundles.decode(source.entryBundle(tile, width), width, "bundle " + tile).get((int) (index % 256));
  }

  /** Every entry up to the checkpoint's size, raw. */
  List<byte[]> entries(Checkpoint checkpoint) throws Exception {
    List<byte[]> out = new ArrayList<>();
    long size = checkpoint.size();
    for (long tile = 0; tile * 256 < size; tile++) {
      int width = (int) Math.min(256, size - tile * 256);
      out.addAll(EntryBundles.decode(source.entryBundle(tile, width), width, "bundle " + tile));
    }
    return out;
  }
}
