package org.fhirledger.conformance.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import org.fhirledger.conformance.Environments;
import org.fhirledger.conformance.LeakGuard;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * One gateway with its sandbox EHR that trusts a test issuer of its own by configuration only
 * ({@code gateway.security.issuer} and {@code jwks-uri}), with the audience left to default to the
 * request's FHIR base: the "external issuer" path. Started once per JVM, shared by the security tests.
 */
final class SecuredGateway {

  static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static SecuredGateway instance;

  final TestIssuer issuer;
  final RunningGateway gateway;
  final String base;
  final String root;
  final RawHttp http;

  private SecuredGateway() {
    issuer = TestIssuer.start();
    Environments.closeAtExit(issuer);
    gateway = RunningGateway.start(RunningGateway.newDataDir("gw-smart"),
        "gateway.security.issuer=" + issuer.issuer(),
        "gateway.security.jwks-uri=" + issuer.jwksUri(),
        "gateway.security.audience=",
        // Rotation is tested here with a single issuer; the rate limit itself is tested in the gateway module.
        "gateway.security.jwks-refresh-min-interval=0s",
        "gateway.ledger.origin=smart.test/ledger");
    Environments.closeAtExit(gateway);
    base = gateway.baseUrl();
    root = base.substring(0, base.length() - "/fhir".length());
    http = new RawHttp(new LeakGuard(gateway.bean(SandboxEhr.class).baseUrl()), null);
  }

  static synchronized SecuredGateway get() {
    if (instance == null) {
      instance = new SecuredGateway();
    }
    return instance;
  }

  /** A token of this gateway's issuer for this gateway's base. */
  TestIssuer.TokenBuilder token(String scope) {
    return issuer.token().audience(base).scope(scope);
  }

  RawHttp.Response get(String token, String pathOrUrl, String... headers) {
    return send(token, "GET", pathOrUrl, null, headers);
  }

  RawHttp.Response send(String token, String method, String pathOrUrl, IBaseResource body, String... headers) {
    String url = pathOrUrl.startsWith("http") ? pathOrUrl : base + pathOrUrl;
    String[] all = token == null ? headers : concat(headers, "Authorization", "Bearer " + token);
    if (body == null) {
      return http.send(method, url, null, null, concat(all, "Accept", "application/fhir+json"));
    }
    return http.send(method, url, "application/fhir+json",
        FHIR.newJsonParser().encodeResourceToString(body).getBytes(java.nio.charset.StandardCharsets.UTF_8),
        concat(all, "Accept", "application/fhir+json"));
  }

  <T extends IBaseResource> T parse(RawHttp.Response r, Class<T> type) {
    return FHIR.newJsonParser().parseResource(type, r.text());
  }

  /** The ledger entry a response names in X-Ledger-Index, read over HTTP and verified against the checkpoint. */
  EntryRecord ledgerEntry(RawHttp.Response r) throws Exception {
    EntryRecord record = EntryCodec.decode(ledgerEntryBytes(r));
    assertEquals(r.status(), record.httpStatus(), "the entry records the status returned");
    return record;
  }

  byte[] ledgerEntryBytes(RawHttp.Response r) throws Exception {
    long index = Long.parseLong(r.header("X-Ledger-Index").orElseThrow(() -> new AssertionError("no X-Ledger-Index")));
    HttpLogSource source = new HttpLogSource(URI.create(root + "/ledger/"), HTTP, Duration.ofSeconds(30));
    NoteVerifier vkey = NoteVerifier.parse(new String(HTTP.send(java.net.http.HttpRequest.newBuilder(
        URI.create(root + "/ledger/vkey")).build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body(),
        java.nio.charset.StandardCharsets.UTF_8).trim());
    long size = new LogVerifier(vkey).verifyLog(source).size();
    long tile = index / 256;
    int width = (int) Math.min(256, size - tile * 256);
    List<byte[]> entries = EntryBundles.decode(source.entryBundle(tile, width), width, "bundle " + tile);
    return entries.get((int) (index % 256));
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
