package org.fhirledger.conformance.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.gateway.auth.server.ClientCli;
import org.junit.jupiter.api.Test;

/**
 * What a newcomer gets and what survives a restart: the first start writes an example clients file
 * with a demo backend client and its key, the CLI gets a token with it, and after a restart the
 * signing key is the same, so tokens issued before it still verify.
 */
class AuthServerRestartTest {

  @Test
  void firstStart_writesDemoClient_andSigningKeyPersistsAcrossRestart() throws Exception {
    Path dataDir = RunningGateway.newDataDir("smart-restart");
    String tokenBefore;
    String jwksBefore;
    try (RunningGateway gateway = RunningGateway.start(dataDir)) {
      String issuer = issuer(gateway);
      Path demoKey = dataDir.resolve("auth-server").resolve("demo-backend.key.pem");
      assertThat(dataDir.resolve("smart-clients.json")).exists();
      assertThat(Files.getPosixFilePermissions(demoKey)).containsExactlyInAnyOrder(
          PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      assertThat(Files.getPosixFilePermissions(dataDir.resolve("auth-server").resolve("signing-key.jwks.json")))
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

      tokenBefore = cli("token", "--client-id", "demo-backend", "--key", demoKey.toString(),
          "--token-url", issuer + "/oauth2/token", "--scope", "system/*.rs");
      jwksBefore = TokenClient.plain().get(issuer + "/oauth2/jwks", "application/json").body();
      assertThat(claims(tokenBefore, jwksBefore).getStringClaim("client_id")).isEqualTo("demo-backend");
    }

    try (RunningGateway gateway = RunningGateway.start(dataDir)) {
      String issuer = issuer(gateway);
      String jwksAfter = TokenClient.plain().get(issuer + "/oauth2/jwks", "application/json").body();

      assertThat(JWKSet.parse(jwksAfter).getKeys().get(0).getKeyID()).isEqualTo(JWKSet.parse(jwksBefore).getKeys().get(0).getKeyID());
      assertThat(claims(tokenBefore, jwksAfter).getStringClaim("scope")).isEqualTo("system/*.rs");
    }
  }

  @Test
  void defaultSecurity_embeddedServerIsTheIssuer_itsTokenOpensFhirAndDiscoveryNamesIt() throws Exception {
    Path dataDir = RunningGateway.newDataDir("smart-default");
    try (RunningGateway gateway = RunningGateway.startWithEmbeddedIssuer(dataDir)) {
      String issuer = issuer(gateway);
      Path demoKey = dataDir.resolve("auth-server").resolve("demo-backend.key.pem");
      TokenClient http = TokenClient.plain();

      assertThat(http.get(gateway.baseUrl() + "/Patient?_count=1", "application/fhir+json").status())
          .as("no token, no access").isEqualTo(401);
      String token = cli("token", "--client-id", "demo-backend", "--key", demoKey.toString(),
          "--token-url", issuer + "/oauth2/token", "--scope", "system/*.rs");
      java.net.http.HttpResponse<String> read = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(gateway.baseUrl() + "/Patient?_count=1"))
              .header("Authorization", "Bearer " + token).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
      assertThat(read.headers().firstValue("X-Ledger-Index")).isPresent();

      String discovery = http.get(gateway.baseUrl() + "/.well-known/smart-configuration", "application/json").body();
      com.fasterxml.jackson.databind.JsonNode doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(discovery);
      assertThat(doc.get("issuer").asText()).isEqualTo(issuer);
      assertThat(doc.get("token_endpoint").asText()).isEqualTo(issuer + "/oauth2/token");
      assertThat(doc.get("authorization_endpoint").asText()).isEqualTo(issuer + "/oauth2/authorize");

      // A token this gateway's server signed for another address is not accepted here.
      String elsewhere = token;
      java.net.http.HttpResponse<String> viaOtherName = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(gateway.baseUrl().replace("localhost", "127.0.0.1")
              + "/Patient?_count=1")).header("Authorization", "Bearer " + elsewhere).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(viaOtherName.statusCode()).as("aud and iss name localhost, not 127.0.0.1").isEqualTo(401);
    }
  }

  @Test
  void register_thenToken_worksAgainstRunningGatewayWithoutRestart() throws Exception {
    Path dataDir = RunningGateway.newDataDir("smart-cli");
    try (RunningGateway gateway = RunningGateway.start(dataDir)) {
      String issuer = issuer(gateway);
      Path key = dataDir.resolve("lab-7.key.pem");

      String printed = cli("register", "--client-id", "lab-7", "--alg", "RS384", "--key-out", key.toString(),
          "--scope", "system/Observation.cruds", "--organization", "Organization/lab-7",
          "--clients-file", dataDir.resolve("smart-clients.json").toString(), "--gateway", issuer);
      String token = cli("token", "--client-id", "lab-7", "--key", key.toString(), "--token-url", issuer + "/oauth2/token",
          "--scope", "system/Observation.rs");

      assertThat(printed).contains("curl -s " + issuer + "/oauth2/token");
      assertThat(Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(
          PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      String jwks = TokenClient.plain().get(issuer + "/oauth2/jwks", "application/json").body();
      assertThat(claims(token, jwks).getStringClaim("client_id")).isEqualTo("lab-7");
    }
  }

  @Test
  void disabled_noAuthorizationServer_fhirAndLedgerServedAsBefore() {
    Path dataDir = RunningGateway.newDataDir("smart-off");
    try (RunningGateway gateway = RunningGateway.start(dataDir, "gateway.auth-server.enabled=false")) {
      String issuer = issuer(gateway);
      TokenClient http = TokenClient.plain();

      assertThat(http.get(issuer + "/.well-known/openid-configuration", "application/json").status()).isEqualTo(404);
      assertThat(http.postForm(issuer + "/oauth2/token", TokenClient.map("grant_type", "client_credentials")).status())
          .isIn(404, 405);
      assertThat(http.get(issuer + "/smart/patient-picker", "text/html").status()).isEqualTo(404);
      assertThat(http.get(gateway.baseUrl() + "/metadata", "application/fhir+json").status()).isEqualTo(200);
      assertThat(http.get(issuer + "/ledger/checkpoint", "text/plain").status()).isEqualTo(200);
      assertThat(dataDir.resolve("smart-clients.json")).doesNotExist();
    }
  }

  private static String issuer(RunningGateway gateway) {
    return gateway.baseUrl().substring(0, gateway.baseUrl().length() - "/fhir".length());
  }

  private static String cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = new ClientCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    return out.toString(StandardCharsets.UTF_8).trim();
  }

  private static JWTClaimsSet claims(String jwt, String jwks) throws Exception {
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS384), new ImmutableJWKSet<>(JWKSet.parse(jwks))));
    processor.setJWTClaimsSetVerifier((claims, context) -> {});
    return processor.process(jwt, null);
  }
}
