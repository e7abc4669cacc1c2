package org.fhirledger.gateway.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
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
import java.util.Date;
import java.util.List;

/**
 * Prints what validating one access token costs the gateway (keys cached, one thread): RS384 and ES384.
 * Not a test; run it with the test classpath: {@code java -cp ... org.fhirledger.gateway.auth.TokenValidationProbe}.
 */
public final class TokenValidationProbe {
  private TokenValidationProbe() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("rs").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_384).keyID("ec").generate();
    String jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString(true);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/jwks", x -> {
      byte[] b = jwks.getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    server.start();
    try {
      URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
      NimbusAccessTokenValidator v = new NimbusAccessTokenValidator(URI.create("https://issuer.test"), () -> uri,
          Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofMinutes(5), "purpose_of_use",
          Clock.systemUTC());
      int distinct = Math.max(100, n / 10);
      for (String alg : List.of("RS384", "ES384")) {
        List<String> tokens = new java.util.ArrayList<>();
        for (int i = 0; i < distinct; i++) {
          JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("https://issuer.test")
              .audience("https://gw.test/fhir").expirationTime(Date.from(Instant.now().plusSeconds(3600)))
              .claim("client_id", "probe").claim("scope", "patient/*.rs").claim("patient", "123")
              .jwtID("t" + i).build();
          SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.parse(alg))
              .keyID(alg.startsWith("RS") ? "rs" : "ec").build(), claims);
          jwt.sign(alg.startsWith("RS") ? new RSASSASigner(rsa) : new ECDSASigner(ec));
          tokens.add(jwt.serialize());
        }
        v.validate(tokens.get(0), "https://gw.test/fhir");
        long start = System.nanoTime();
        for (String t : tokens) {
          v.validate(t, "https://gw.test/fhir");
        }
        double first = (System.nanoTime() - start) / 1000.0 / tokens.size();
        start = System.nanoTime();
        for (int i = 0; i < n; i++) {
          v.validate(tokens.get(i % tokens.size()), "https://gw.test/fhir");
        }
        double again = (System.nanoTime() - start) / 1000.0 / n;
        System.out.printf("%s: first use of a token %.1f us (signature verified, %d tokens); "
            + "same token again %.2f us (%d validations); one thread%n", alg, first, tokens.size(), again, n);
      }
    } finally {
      server.stop(0);
    }
  }
}
