package org.fhirledger.conformance.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.RSAKey;
import java.time.Duration;
import java.time.Instant;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.Test;

/**
 * The resource server's token checks, over HTTP with real tokens from a real issuer: every bad
 * token is refused with 401, an RFC 6750 challenge and an OperationOutcome, and the refusal is on
 * the ledger; the open endpoints (CapabilityStatement, SMART discovery) need no token.
 */
class TokenValidationTest {

  private static final String READ_PATH = "/Patient?_count=1";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SecuredGateway gw = SecuredGateway.get();

  private String valid() {
    return gw.token("system/*.rs").sign();
  }

  @Test
  void validToken_rs384_es384_rs256_allAccepted() {
    assertEquals(200, gw.get(valid(), READ_PATH).status());
    assertEquals(200, gw.get(gw.token("system/*.rs").algorithm(JWSAlgorithm.ES384).sign(), READ_PATH).status());
    assertEquals(200, gw.get(gw.token("system/*.rs").algorithm(JWSAlgorithm.RS256).sign(), READ_PATH).status());
  }

  @Test
  void missingToken_401WithBearerChallengeOutcomeAndLedgerEntry() throws Exception {
    RawHttp.Response r = gw.get(null, READ_PATH);

    assertEquals(401, r.status());
    assertEquals("Bearer realm=\"fhir\"", r.header("WWW-Authenticate").orElseThrow());
    String diagnostics = outcome(r);
    assertTrue(diagnostics.contains("Authorization: Bearer"), diagnostics);
    EntryRecord entry = gw.ledgerEntry(r);
    assertEquals(Outcome.DENIED, entry.outcome());
    assertEquals("anonymous", entry.actor().clientId());
  }

  @Test
  void notBearerScheme_401() {
    RawHttp.Response r = gw.http.send("GET", gw.base + READ_PATH, null, null, "Authorization", "Basic dXNlcjpwdw==");
    assertEquals(401, r.status());
  }

  @Test
  void badSignature_401InvalidToken() {
    assertInvalid(gw.token("system/*.rs").tamperedSignature(), "signature");
  }

  @Test
  void wrongIssuer_401() {
    assertInvalid(gw.token("system/*.rs").issuer("https://evil.example/issuer").sign(), "issuer");
  }

  @Test
  void wrongAudience_401() {
    assertInvalid(gw.issuer.token().audience("https://other-server.example/fhir").scope("system/*.rs").sign(),
        "audience");
  }

  @Test
  void expired_401() {
    Instant past = Instant.now().minus(Duration.ofMinutes(10));
    assertInvalid(gw.token("system/*.rs").expiresAt(past).sign(), "expired");
  }

  @Test
  void notBeforeInFuture_401() {
    assertInvalid(gw.token("system/*.rs").notBefore(Instant.now().plus(Duration.ofMinutes(10))).sign(), "not valid yet");
  }

  @Test
  void algNone_401() {
    assertInvalid(gw.token("system/*.rs").unsigned(), "not signed");
  }

  @Test
  void hs256_401() {
    assertInvalid(gw.token("system/*.rs").hs256(), "HS256");
  }

  @Test
  void unknownKid_401_thenPublishedRotatedKey_accepted() {
    RSAKey next = gw.issuer.unpublishedRsaKey();
    String token = gw.token("system/*.rs").signWith(next).sign();
    assertInvalid(token, "key");

    gw.issuer.publish(next);
    int fetches = gw.issuer.jwksFetches();
    RawHttp.Response r = gw.get(token, READ_PATH);

    assertEquals(200, r.status(), r::text);
    assertTrue(gw.issuer.jwksFetches() > fetches, "the unknown kid made the gateway fetch the JWK Set again");
  }

  @Test
  void metadata_withoutToken_openWithSmartSecurity() {
    RawHttp.Response r = gw.get(null, "/metadata");

    assertEquals(200, r.status());
    CapabilityStatement cs = gw.parse(r, CapabilityStatement.class);
    CapabilityStatement.CapabilityStatementRestSecurityComponent security = cs.getRestFirstRep().getSecurity();
    assertTrue(security.getCors());
    assertEquals("SMART-on-FHIR", security.getServiceFirstRep().getCodingFirstRep().getCode());
    Extension uris = security.getExtensionByUrl("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
    assertNotNull(uris);
    assertEquals(gw.issuer.issuer() + "/token", uris.getExtensionByUrl("token").getValue().primitiveValue());
    assertEquals(gw.issuer.issuer() + "/authorize", uris.getExtensionByUrl("authorize").getValue().primitiveValue());
  }

  @Test
  void smartConfiguration_withoutToken_alwaysJsonAbsoluteUrlsS256Only() throws Exception {
    RawHttp.Response r = gw.get(null, "/.well-known/smart-configuration", "Accept", "application/fhir+xml");

    assertEquals(200, r.status());
    assertTrue(r.contentType().startsWith("application/json"), r.contentType());
    JsonNode doc = JSON.readTree(r.body());
    assertEquals(gw.issuer.issuer(), doc.get("issuer").asText());
    for (String field : new String[] {"token_endpoint", "authorization_endpoint", "jwks_uri", "introspection_endpoint"}) {
      assertTrue(doc.get(field).asText().startsWith("http://"), field + " is absolute");
    }
    assertEquals(1, doc.get("code_challenge_methods_supported").size());
    assertEquals("S256", doc.get("code_challenge_methods_supported").get(0).asText());
    assertTrue(doc.get("capabilities").toString().contains("permission-v2"));
    assertTrue(doc.get("capabilities").toString().contains("launch-standalone"));
  }

  @Test
  void cors_preflightAndSimpleRequest_allowedWithoutToken() {
    RawHttp.Response preflight = gw.http.send("OPTIONS", gw.base + "/Patient", null, null,
        "Origin", "https://app.example", "Access-Control-Request-Method", "GET",
        "Access-Control-Request-Headers", "authorization");
    RawHttp.Response discovery = gw.get(null, "/.well-known/smart-configuration", "Origin", "https://app.example");
    RawHttp.Response read = gw.get(valid(), READ_PATH, "Origin", "https://app.example");

    assertEquals(200, preflight.status());
    assertEquals("*", preflight.header("Access-Control-Allow-Origin").orElseThrow());
    assertTrue(preflight.header("Access-Control-Allow-Headers").orElseThrow().toLowerCase().contains("authorization"));
    assertFalse(preflight.header("X-Ledger-Index").isPresent(), "a preflight is not a FHIR interaction");
    assertEquals("*", discovery.header("Access-Control-Allow-Origin").orElseThrow());
    assertEquals("*", read.header("Access-Control-Allow-Origin").orElseThrow());
    assertTrue(read.header("Access-Control-Expose-Headers").orElseThrow().contains("X-Ledger-Index"));
  }

  @Test
  void noIssuerConfiguredAndNoEmbeddedServer_everyRequest401SayingHowToConfigure_metadataStillOpen() {
    try (RunningGateway bare = RunningGateway.start(RunningGateway.newDataDir("gw-no-issuer"),
        "gateway.security.issuer=", "gateway.auth-server.enabled=false", "gateway.upstream.base-url=http://127.0.0.1:9/fhir")) {
      RawHttp http = new RawHttp(null);
      RawHttp.Response read = http.get(bare.baseUrl() + "/Patient", "Authorization", "Bearer " + valid(),
          "Accept", "application/fhir+json");
      RawHttp.Response discovery = http.get(bare.baseUrl() + "/.well-known/smart-configuration");

      assertEquals(401, read.status());
      String diagnostics = outcome(read);
      assertTrue(diagnostics.contains("gateway.security.issuer"), diagnostics);
      assertTrue(read.header("X-Ledger-Index").isPresent());
      assertEquals(503, discovery.status());
      assertTrue(discovery.contentType().startsWith("application/json"));
    }
  }

  private void assertInvalid(String token, String why) {
    RawHttp.Response r = gw.get(token, READ_PATH);
    assertEquals(401, r.status(), r::text);
    String challenge = r.header("WWW-Authenticate").orElseThrow();
    assertTrue(challenge.startsWith("Bearer ") && challenge.contains("error=\"invalid_token\""), challenge);
    String diagnostics = outcome(r);
    assertTrue(diagnostics.contains(why), () -> "'" + why + "' in: " + diagnostics);
    assertTrue(r.header("X-Ledger-Index").isPresent(), "the refusal is recorded");
  }

  private String outcome(RawHttp.Response r) {
    OperationOutcome oo = gw.parse(r, OperationOutcome.class);
    return oo.getIssueFirstRep().getDiagnostics();
  }
}
