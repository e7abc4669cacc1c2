package org.fhirledger.conformance.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

/** What a SMART client does over HTTP: makes keys and client assertions, posts forms, reads JSON. */
final class TokenClient {

  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  static final ObjectMapper JSON = new ObjectMapper();

  /** A response as the client saw it. */
  record Reply(int status, String body, java.net.http.HttpHeaders headers) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (HTTP " + status + "): " + body, e);
      }
    }

    String location() {
      return headers.firstValue("Location").orElseThrow(() -> new AssertionError("no Location header, HTTP " + status));
    }
  }

  private final HttpClient http;

  private TokenClient(HttpClient http) {
    this.http = http;
  }

  /** A client that keeps cookies (a browser, for the authorization code flow) and never follows redirects. */
  static TokenClient browser() {
    return new TokenClient(HttpClient.newBuilder().cookieHandler(new CookieManager())
        .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build());
  }

  static TokenClient plain() {
    return new TokenClient(HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(10)).build());
  }

  Reply get(String url, String accept) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Accept", accept).GET());
  }

  Reply postForm(String url, Map<String, String> form) {
    return postForm(url, form, null);
  }

  Reply postForm(String url, Map<String, String> form, String authorization) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
        .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(form(form)));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return send(b);
  }

  Reply postJson(String url, String contentType, String body) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Reply postJson(String url, String contentType, String body, String bearer) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", contentType)
        .header("Authorization", "Bearer " + bearer).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Reply send(String method, String url, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).method(method, HttpRequest.BodyPublishers.noBody());
    headers.forEach(b::header);
    return send(b);
  }

  private Reply send(HttpRequest.Builder b) {
    try {
      HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body(), r.headers());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String form(Map<String, String> form) {
    return form.entrySet().stream()
        .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
  }

  static Map<String, String> map(String... keyValues) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  static JWK rsaKey() {
    try {
      return new RSAKeyGenerator(2048).algorithm(JWSAlgorithm.RS384).keyID(UUID.randomUUID().toString()).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static JWK ecKey() {
    try {
      return new ECKeyGenerator(Curve.P_384).algorithm(JWSAlgorithm.ES384).keyID(UUID.randomUUID().toString()).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A client assertion with the usual claims; {@code exp} = now + {@code lifetime}. */
  static String assertion(JWK key, String clientId, String aud, Duration lifetime, String jti) {
    return assertion(key, new JWTClaimsSet.Builder().issuer(clientId).subject(clientId).audience(aud)
        .expirationTime(Date.from(Instant.now().plus(lifetime))).jwtID(jti).build());
  }

  static String assertion(JWK key, JWTClaimsSet claims) {
    try {
      JWSAlgorithm alg = (JWSAlgorithm) key.getAlgorithm();
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
      jwt.sign(key instanceof RSAKey rsa ? new RSASSASigner(rsa) : new ECDSASigner((ECKey) key));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }
}
