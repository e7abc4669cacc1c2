package org.fhirledger.conformance;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real, minimal OAuth token issuer for the tests: it holds RS384 and ES384 signing keys, publishes
 * them as a JWK Set over HTTP (a JDK {@link HttpServer} on a loopback port chosen by the OS), serves
 * its metadata at {@code /.well-known/openid-configuration}, and mints JWT access tokens with Nimbus
 * JOSE+JWT. Gateways under test trust it as an external issuer, by configuration only. It issues no
 * tokens over HTTP (that is the embedded authorization server's job): tests mint them directly.
 * Thread-safe.
 */
public final class TestIssuer implements AutoCloseable {

  /** The audience the shared test gateways are configured with ({@code gateway.security.audience}). */
  public static final String SUITE_AUDIENCE = "https://gateway.test/fhir";
  /** The client id of the tokens the earlier suites run with. */
  public static final String SUITE_CLIENT = "conformance-suite";

  private static TestIssuer shared;
  private static String suiteToken;

  private final HttpServer server;
  private final String issuer;
  private final List<JWK> published = new CopyOnWriteArrayList<>();
  private final AtomicInteger jwksFetches = new AtomicInteger();
  private volatile RSAKey rsa;
  private final ECKey ec;

  private TestIssuer() {
    try {
      rsa = new RSAKeyGenerator(2048).keyID("rs-" + UUID.randomUUID()).generate();
      ec = new ECKeyGenerator(Curve.P_384).keyID("ec-" + UUID.randomUUID()).generate();
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    published.add(rsa.toPublicJWK());
    published.add(ec.toPublicJWK());
    issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/issuer";
    server.createContext("/issuer/jwks", this::jwks);
    server.createContext("/issuer/.well-known/openid-configuration", this::metadata);
    server.start();
  }

  /** A new issuer with its own keys and port; close it when done. */
  public static TestIssuer start() {
    return new TestIssuer();
  }

  /** The issuer every test gateway trusts by default, started once per JVM. */
  public static synchronized TestIssuer shared() {
    if (shared == null) {
      shared = start();
      Environments.closeAtExit(shared);
    }
    return shared;
  }

  /**
   * The properties that make a gateway trust the shared issuer (found through its metadata) with the
   * suite's fixed audience.
   */
  public static String[] gatewayProperties() {
    return new String[] {"gateway.security.issuer=" + shared().issuer(),
        "gateway.security.audience=" + SUITE_AUDIENCE};
  }

  /** {@code properties} followed by {@link #gatewayProperties()}. */
  public static String[] withGatewayProperties(String... properties) {
    List<String> all = new ArrayList<>(List.of(properties));
    all.addAll(List.of(gatewayProperties()));
    return all.toArray(String[]::new);
  }

  /** A long-lived {@code system/*.cruds} token of the shared issuer, for the suites that test other things. */
  public static synchronized String suiteToken() {
    if (suiteToken == null) {
      suiteToken = shared().token().audience(SUITE_AUDIENCE).clientId(SUITE_CLIENT).scope("system/*.cruds")
          .lifetime(Duration.ofHours(6)).sign();
    }
    return suiteToken;
  }

  public String issuer() {
    return issuer;
  }

  public String jwksUri() {
    return issuer + "/jwks";
  }

  /** How many times the JWK Set has been fetched. */
  public int jwksFetches() {
    return jwksFetches.get();
  }

  /** Replaces the RSA key by a new one with a new key id, published beside the old ones. */
  public synchronized void rotateRsaKey() {
    try {
      rsa = new RSAKeyGenerator(2048).keyID("rs-" + UUID.randomUUID()).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    published.add(rsa.toPublicJWK());
  }

  /** A new RSA key with a new key id that is not (yet) published. */
  public RSAKey unpublishedRsaKey() {
    try {
      return new RSAKeyGenerator(2048).keyID("rs-" + UUID.randomUUID()).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Publishes a key made by {@link #unpublishedRsaKey()}. */
  public void publish(RSAKey key) {
    published.add(key.toPublicJWK());
  }

  public TokenBuilder token() {
    return new TokenBuilder();
  }

  /** A token under construction: RS384 by default, issued now, valid five minutes. */
  public final class TokenBuilder {
    private final Map<String, Object> claims = new LinkedHashMap<>();
    private JWSAlgorithm algorithm = JWSAlgorithm.RS384;
    private RSAKey rsaKey;
    private String issuerClaim = issuer;
    private Instant issuedAt = Instant.now();
    private Instant expires = issuedAt.plus(Duration.ofMinutes(5));
    private Instant notBefore;

    private TokenBuilder() {
      claims.put("client_id", "test-client");
    }

    public TokenBuilder audience(String aud) { claims.put("aud", aud); return this; }
    public TokenBuilder scope(String scope) { claims.put("scope", scope); return this; }
    public TokenBuilder clientId(String id) { claims.put("client_id", id); return this; }
    public TokenBuilder patient(String id) { claims.put("patient", id); return this; }
    public TokenBuilder fhirUser(String ref) { claims.put("fhirUser", ref); return this; }
    public TokenBuilder claim(String name, Object value) { claims.put(name, value); return this; }
    public TokenBuilder issuer(String iss) { issuerClaim = iss; return this; }
    public TokenBuilder algorithm(JWSAlgorithm alg) { algorithm = alg; return this; }
    public TokenBuilder signWith(RSAKey key) { rsaKey = key; return this; }
    public TokenBuilder lifetime(Duration d) { expires = issuedAt.plus(d); return this; }
    public TokenBuilder expiresAt(Instant at) { expires = at; return this; }
    public TokenBuilder notBefore(Instant at) { notBefore = at; return this; }

    private JWTClaimsSet claims() {
      JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().issuer(issuerClaim).subject(String.valueOf(
          claims.get("client_id"))).issueTime(Date.from(issuedAt)).expirationTime(Date.from(expires))
          .jwtID(UUID.randomUUID().toString());
      if (notBefore != null) {
        b.notBeforeTime(Date.from(notBefore));
      }
      claims.forEach(b::claim);
      return b.build();
    }

    /** Signs with the issuer's current key for the algorithm (or the key given to {@link #signWith}). */
    public String sign() {
      try {
        if (algorithm.getName().startsWith("ES")) {
          SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(ec.getKeyID())
              .type(JOSEObjectType.JWT).build(), claims());
          jwt.sign(new ECDSASigner(ec));
          return jwt.serialize();
        }
        RSAKey key = rsaKey != null ? rsaKey : rsa;
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(key.getKeyID())
            .type(JOSEObjectType.JWT).build(), claims());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
      } catch (JOSEException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The claims as an unsigned JWT ({@code alg: none}). */
    public String unsigned() {
      return new PlainJWT(claims()).serialize();
    }

    /** Signed with HS256 under a random secret, naming the issuer's RSA key id. */
    public String hs256() {
      try {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(rsa.getKeyID()).build(),
            claims());
        jwt.sign(new MACSigner(secret));
        return jwt.serialize();
      } catch (JOSEException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Signed properly, then one byte of the signature changed. */
    public String tamperedSignature() {
      String[] parts = sign().split("\\.");
      byte[] sig = new Base64URL(parts[2]).decode();
      sig[sig.length / 2] ^= 0x01;
      return parts[0] + "." + parts[1] + "." + Base64URL.encode(sig);
    }
  }

  private void jwks(HttpExchange exchange) throws IOException {
    jwksFetches.incrementAndGet();
    respond(exchange, new JWKSet(new ArrayList<>(published)).toString(true));
  }

  private void metadata(HttpExchange exchange) throws IOException {
    String json = "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + jwksUri() + "\","
        + "\"authorization_endpoint\":\"" + issuer + "/authorize\",\"token_endpoint\":\"" + issuer + "/token\","
        + "\"introspection_endpoint\":\"" + issuer + "/introspect\"}";
    respond(exchange, json);
  }

  private static void respond(HttpExchange exchange, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
