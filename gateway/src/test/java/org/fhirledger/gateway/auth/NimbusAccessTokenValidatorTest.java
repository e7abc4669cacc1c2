package org.fhirledger.gateway.auth;

import org.fhirledger.gateway.MutableClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The validator against a real JWK Set served over HTTP, with an injected clock. */
class NimbusAccessTokenValidatorTest {

  private static final String ISSUER = "https://issuer.test";
  private static final String AUDIENCE = "https://gateway.test/fhir";
  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

  private HttpServer server;
  private final AtomicInteger fetches = new AtomicInteger();
  private RSAKey key;

  @BeforeEach
  void serveJwks() throws Exception {
    key = new RSAKeyGenerator(2048).keyID("k1").generate();
    String jwks = new JWKSet(key.toPublicJWK()).toString(true);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/jwks", exchange -> {
      fetches.incrementAndGet();
      byte[] bytes = jwks.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private NimbusAccessTokenValidator validator(Duration skew) {
    URI jwks = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
    return new NimbusAccessTokenValidator(URI.create(ISSUER), () -> jwks, skew, Duration.ofMinutes(1),
        Duration.ofMinutes(5), "purpose_of_use", Clock.fixed(NOW, ZoneOffset.UTC));
  }

  private String token(RSAKey signer, Instant exp, Instant nbf) throws Exception {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer(ISSUER).audience(List.of(AUDIENCE))
        .expirationTime(Date.from(exp)).claim("client_id", "c1").claim("scope", "system/*.rs openid")
        .claim("purpose_of_use", List.of("TREAT"));
    if (nbf != null) {
      claims.notBeforeTime(Date.from(nbf));
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS384).keyID(signer.getKeyID()).build(),
        claims.build());
    jwt.sign(new RSASSASigner(signer));
    return jwt.serialize();
  }

  @Test
  void validate_goodToken_callerFromClaims() throws Exception {
    Caller caller = validator(Duration.ZERO).validate(token(key, NOW.plusSeconds(60), null), AUDIENCE + "/");

    assertEquals("c1", caller.clientId());
    assertEquals("TREAT", caller.purposeOfUse());
    assertEquals(List.of("system/*.rs"), caller.scopes().stream().map(SmartScope::toString).toList());
  }

  @Test
  void validate_expiryAndNotBefore_withinSkewAcceptedBeyondRefused() throws Exception {
    NimbusAccessTokenValidator v = validator(Duration.ofSeconds(30));

    v.validate(token(key, NOW.minusSeconds(20), null), AUDIENCE);
    v.validate(token(key, NOW.plusSeconds(60), NOW.plusSeconds(20)), AUDIENCE);
    assertThrows(InvalidTokenException.class, () -> v.validate(token(key, NOW.minusSeconds(40), null), AUDIENCE));
    assertThrows(InvalidTokenException.class,
        () -> v.validate(token(key, NOW.plusSeconds(60), NOW.plusSeconds(40)), AUDIENCE));
  }

  @Test
  void validate_verifiedTokenRemembered_neverPastItsExpiry() throws Exception {
    MutableClock clock = new MutableClock(NOW);
    URI jwks = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
    NimbusAccessTokenValidator v = new NimbusAccessTokenValidator(URI.create(ISSUER), () -> jwks, Duration.ZERO,
        Duration.ofMinutes(1), Duration.ofMinutes(5), "purpose_of_use", clock);
    String token = token(key, NOW.plusSeconds(30), null);

    v.validate(token, AUDIENCE);
    assertThrows(InvalidTokenException.class, () -> v.validate(token, "https://other.test/fhir"),
        "a token remembered for one audience is not accepted for another");
    clock.set(NOW.plusSeconds(29));
    v.validate(token, AUDIENCE);
    clock.set(NOW.plusSeconds(31));

    assertThrows(InvalidTokenException.class, () -> v.validate(token, AUDIENCE));
  }


  @Test
  void validate_floodOfUnknownKeyIds_jwksFetchesRateLimited() throws Exception {
    NimbusAccessTokenValidator v = validator(Duration.ZERO);
    v.validate(token(key, NOW.plusSeconds(60), null), AUDIENCE);
    int afterFirst = fetches.get();

    for (int i = 0; i < 6; i++) {
      RSAKey unknown = new RSAKeyGenerator(2048).keyID("unknown-" + i).generate();
      String t = token(unknown, NOW.plusSeconds(60), null);
      InvalidTokenException e = assertThrows(InvalidTokenException.class, () -> v.validate(t, AUDIENCE));
      assertEquals("invalid_token", e.errorCode());
    }

    assertEquals(1, afterFirst);
    assertTrue(fetches.get() - afterFirst <= 2, "at most two refetches per interval, was " + (fetches.get() - afterFirst));
  }
}
