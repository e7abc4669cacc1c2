package org.fhirledger.conformance.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.fhirledger.conformance.auth.TokenClient.JWT_BEARER;
import static org.fhirledger.conformance.auth.TokenClient.map;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.conformance.auth.TokenClient.Reply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;

/**
 * The embedded SMART authorization server over real HTTP, with the checks the Inferno SMART App
 * Launch and ONC g(10) test kits make: discovery, Backend Services (RS384 and ES384, keys by value
 * and by URL, and every way a client assertion can be wrong), PKCE, standalone launch with the
 * patient picker driven like a browser, and introspection. One gateway for the whole class.
 */
class SmartAuthorizationServerTest {

  private static final String REDIRECT = "https://app.example/callback";
  private static final String PASSWORD = "correct horse battery staple";

  private static final JWK RS_KEY = TokenClient.rsaKey();
  private static final JWK ES_KEY = TokenClient.ecKey();
  private static final JWK URL_KEY = TokenClient.ecKey();

  private static HttpServer jwksServer;
  private static RunningGateway gateway;
  private static String issuer;
  private static String tokenUrl;
  private static String patientId;
  private final TokenClient http = TokenClient.plain();

  @BeforeAll
  static void start() throws Exception {
    jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    byte[] jwks = new JWKSet(URL_KEY.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
    jwksServer.createContext("/jwks.json", exchange -> {
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, jwks.length);
      exchange.getResponseBody().write(jwks);
      exchange.close();
    });
    jwksServer.start();
    Path dataDir = RunningGateway.newDataDir("smart-as");
    Map<String, Object> file = new LinkedHashMap<>(Map.of(
        "clients", List.of(
            backend("backend-rs", List.of("system/*.rs"), Map.of("jwks", jwksOf(RS_KEY))),
            backend("backend-es", List.of("system/Observation.cruds", "system/Patient.rs"), Map.of("jwks", jwksOf(ES_KEY))),
            backend("backend-url", List.of("system/*.rs"),
                Map.of("jwksUri", "http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/jwks.json")),
            Map.of("clientId", "app", "name", "Synthetic app", "tokenEndpointAuthMethod", "none",
                "grantTypes", List.of("authorization_code"), "redirectUris", List.of(REDIRECT),
                "scopes", List.of("openid", "fhirUser", "launch/patient", "patient/*.rs"))),
        "users", List.of(Map.of("username", "clinician", "fhirUser", "Practitioner/dr-1",
            "passwordHash", new BCryptPasswordEncoder().encode(PASSWORD)))));
    Path clientsFile = dataDir.resolve("smart-clients.json");
    Files.writeString(clientsFile, TokenClient.JSON.writeValueAsString(file));
    gateway = RunningGateway.start(dataDir);
    issuer = gateway.baseUrl().substring(0, gateway.baseUrl().length() - "/fhir".length());
    tokenUrl = issuer + "/oauth2/token";
    Reply created = TokenClient.plain().postJson(gateway.baseUrl() + "/Patient", "application/fhir+json",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Pickerton\",\"given\":[\"Synthetic\"]}]}",
        org.fhirledger.conformance.TestIssuer.suiteToken());
    assertThat(created.status()).isEqualTo(201);
    Matcher id = Pattern.compile("/Patient/([^/]+)/").matcher(created.location());
    assertThat(id.find()).isTrue();
    patientId = id.group(1);
    // A patient user, added once their record exists: the running gateway re-reads the changed file.
    file.put("users", List.of(
        Map.of("username", "clinician", "fhirUser", "Practitioner/dr-1", "passwordHash", new BCryptPasswordEncoder().encode(PASSWORD)),
        Map.of("username", "patient-user", "fhirUser", "Patient/" + patientId, "passwordHash", new BCryptPasswordEncoder().encode(PASSWORD))));
    Files.writeString(clientsFile, TokenClient.JSON.writeValueAsString(file));
    Files.setLastModifiedTime(clientsFile, java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(1)));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (jwksServer != null) {
      jwksServer.stop(0);
    }
  }

  private static Map<String, Object> backend(String id, List<String> scopes, Map<String, Object> keys) {
    Map<String, Object> c = new LinkedHashMap<>(Map.of("clientId", id, "scopes", scopes,
        "grantTypes", List.of("client_credentials"), "tokenEndpointAuthMethod", "private_key_jwt",
        "organization", "Organization/lab-1"));
    c.putAll(keys);
    return c;
  }

  private static Map<String, Object> jwksOf(JWK key) {
    return new JWKSet(key.toPublicJWK()).toJSONObject();
  }

  // ---- discovery ----

  @Test
  void openidConfiguration_served_listsSmartCapabilities() {
    Reply r = http.get(issuer + "/.well-known/openid-configuration", "application/json");

    assertThat(r.status()).isEqualTo(200);
    JsonNode d = r.json();
    assertThat(d.path("issuer").asText()).isEqualTo(issuer);
    assertThat(d.path("authorization_endpoint").asText()).isEqualTo(issuer + "/oauth2/authorize");
    assertThat(d.path("token_endpoint").asText()).isEqualTo(tokenUrl);
    assertThat(d.path("jwks_uri").asText()).isEqualTo(issuer + "/oauth2/jwks");
    assertThat(d.path("introspection_endpoint").asText()).isEqualTo(issuer + "/oauth2/introspect");
    assertThat(texts(d.path("response_types_supported"))).containsExactly("code");
    assertThat(texts(d.path("code_challenge_methods_supported"))).containsExactly("S256");
    assertThat(texts(d.path("grant_types_supported"))).containsExactlyInAnyOrder("authorization_code", "client_credentials");
    assertThat(texts(d.path("token_endpoint_auth_methods_supported"))).contains("private_key_jwt");
    assertThat(texts(d.path("token_endpoint_auth_signing_alg_values_supported"))).contains("RS384", "ES384");
    assertThat(texts(d.path("id_token_signing_alg_values_supported"))).contains("RS256");
    assertThat(texts(d.path("scopes_supported"))).contains("openid", "fhirUser", "launch/patient");
    assertThat(texts(d.path("subject_types_supported"))).isNotEmpty();
  }

  @Test
  void oauthAuthorizationServerMetadata_served_matchesOpenidConfiguration() {
    JsonNode d = http.get(issuer + "/.well-known/oauth-authorization-server", "application/json").json();

    assertThat(d.path("issuer").asText()).isEqualTo(issuer);
    assertThat(d.path("token_endpoint").asText()).isEqualTo(tokenUrl);
    assertThat(texts(d.path("code_challenge_methods_supported"))).containsExactly("S256");
    assertThat(texts(d.path("token_endpoint_auth_signing_alg_values_supported"))).contains("RS384", "ES384");
    assertThat(texts(d.path("grant_types_supported"))).containsExactlyInAnyOrder("authorization_code", "client_credentials");
  }

  @Test
  void tokenEndpoint_preflightFromBrowserApp_allowed() {
    Reply r = http.send("OPTIONS", tokenUrl, Map.of("Origin", "https://app.example",
        "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).contains("https://app.example");
    assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
  }

  @Test
  void otherPaths_untouchedByTheAuthorizationServersChains() {
    assertThat(http.get(gateway.baseUrl() + "/metadata", "application/fhir+json").status()).isEqualTo(200);
    assertThat(http.get(issuer + "/ledger/checkpoint", "text/plain").status()).isEqualTo(200);
    // /fhir answers by its own SMART rules (a FHIR 401, never a login redirect or a session cookie).
    Reply anonymous = http.postJson(gateway.baseUrl() + "/Patient", "application/fhir+json",
        "{\"resourceType\":\"Patient\",\"active\":true}");
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(anonymous.body()).contains("OperationOutcome");
    assertThat(anonymous.headers().firstValue("Set-Cookie")).isEmpty();
    Reply create = http.postJson(gateway.baseUrl() + "/Patient", "application/fhir+json",
        "{\"resourceType\":\"Patient\",\"active\":true}", org.fhirledger.conformance.TestIssuer.suiteToken());
    assertThat(create.status()).isEqualTo(201);
    assertThat(create.headers().firstValue("Set-Cookie")).isEmpty();
  }

  // ---- SMART Backend Services ----

  @Test
  void clientCredentials_rs384KeyByValue_issuesSmartAccessToken() throws Exception {
    Reply r = token("backend-rs", RS_KEY, "system/*.rs");

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("token_type").asText()).isEqualToIgnoringCase("Bearer");
    assertThat(body.path("scope").asText()).isEqualTo("system/*.rs");
    assertThat(body.path("expires_in").asLong()).isBetween(1L, 300L);
    JWTClaimsSet claims = verified(body.path("access_token").asText());
    assertThat(claims.getIssuer()).isEqualTo(issuer);
    assertThat(claims.getAudience()).containsExactly(gateway.baseUrl());
    assertThat(claims.getStringClaim("scope")).isEqualTo("system/*.rs");
    assertThat(claims.getStringClaim("client_id")).isEqualTo("backend-rs");
    long lifetime = claims.getExpirationTime().toInstant().getEpochSecond() - claims.getIssueTime().toInstant().getEpochSecond();
    assertThat(lifetime).isBetween(1L, 300L);
    assertThat(SignedJWT.parse(body.path("access_token").asText()).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS384);
  }

  @Test
  void clientCredentials_es384KeyByValue_grantsNarrowerScopeThanAllowed() throws Exception {
    Reply r = token("backend-es", ES_KEY, "system/Observation.rs system/Patient.r");

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JWTClaimsSet claims = verified(r.json().path("access_token").asText());
    assertThat(Set.of(claims.getStringClaim("scope").split(" "))).containsExactlyInAnyOrder("system/Observation.rs", "system/Patient.r");
  }

  @Test
  void clientCredentials_es384KeyByUrl_issuesToken() throws Exception {
    Reply r = token("backend-url", URL_KEY, "system/*.rs");

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(verified(r.json().path("access_token").asText()).getStringClaim("client_id")).isEqualTo("backend-url");
  }

  @Test
  void clientCredentials_scopeBeyondAllowed_invalidScope() {
    Reply r = token("backend-rs", RS_KEY, "system/Patient.cruds");

    assertError(r, 400, "invalid_scope");
  }

  @Test
  void clientCredentials_wrongGrantType_unsupportedGrantType() {
    Reply r = http.postForm(tokenUrl, map("grant_type", "password", "scope", "system/*.rs",
        "client_assertion_type", JWT_BEARER, "client_assertion", assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(4))));

    assertError(r, 400, "unsupported_grant_type");
  }

  @Test
  void clientCredentials_wrongClientAssertionType_invalidClient() {
    Reply r = http.postForm(tokenUrl, map("grant_type", "client_credentials", "scope", "system/*.rs",
        "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        "client_assertion", assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(4))));

    assertThat(r.status()).as(r.body()).isIn(400, 401);
    assertThat(r.json().path("error").asText()).isEqualTo("invalid_client");
  }

  @Test
  void clientCredentials_signedWithUnregisteredKey_invalidClient() {
    JWK impostor = new com.nimbusds.jose.jwk.RSAKey.Builder(TokenClient.rsaKey().toRSAKey())
        .keyID(RS_KEY.getKeyID()).algorithm(JWSAlgorithm.RS384).build();

    Reply r = tokenWith("system/*.rs", assertion(impostor, "backend-rs", tokenUrl, Duration.ofMinutes(4)));

    assertError(r, 401, "invalid_client");
  }

  @Test
  void clientCredentials_replayedJti_secondRefused() {
    String assertion = assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(4));

    Reply first = tokenWith("system/*.rs", assertion);
    Reply replay = tokenWith("system/*.rs", assertion);

    assertThat(first.status()).as(first.body()).isEqualTo(200);
    assertError(replay, 401, "invalid_client");
  }

  @Test
  void clientCredentials_assertionExpiringMoreThanFiveMinutesAhead_invalidClient() {
    Reply r = tokenWith("system/*.rs", assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(10)));

    assertError(r, 401, "invalid_client");
  }

  @Test
  void clientCredentials_expiredAssertion_invalidClient() {
    Reply r = tokenWith("system/*.rs", assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(-2)));

    assertError(r, 401, "invalid_client");
  }

  @Test
  void clientCredentials_audienceNotTokenEndpoint_invalidClient() {
    Reply r = tokenWith("system/*.rs", assertion(RS_KEY, "backend-rs", gateway.baseUrl(), Duration.ofMinutes(4)));

    assertError(r, 401, "invalid_client");
  }

  @Test
  void clientCredentials_issuerNotClientId_invalidClient() {
    String assertion = TokenClient.assertion(RS_KEY, new JWTClaimsSet.Builder().issuer("someone-else").subject("backend-rs")
        .audience(tokenUrl).expirationTime(new java.util.Date(System.currentTimeMillis() + 120_000))
        .jwtID(UUID.randomUUID().toString()).build());

    assertError(tokenWith("system/*.rs", assertion), 401, "invalid_client");
  }

  @Test
  void clientCredentials_unknownClient_invalidClient() {
    Reply r = tokenWith("system/*.rs", assertion(RS_KEY, "nobody", tokenUrl, Duration.ofMinutes(4)));

    assertError(r, 401, "invalid_client");
  }

  // ---- introspection ----

  @Test
  void introspect_issuedToken_activeWithSmartClaims_garbageInactive() {
    String accessToken = token("backend-rs", RS_KEY, "system/*.rs").json().path("access_token").asText();

    JsonNode active = introspect(accessToken);
    JsonNode inactive = introspect("not-a-token-" + UUID.randomUUID());

    assertThat(active.path("active").asBoolean()).isTrue();
    assertThat(active.path("client_id").asText()).isEqualTo("backend-rs");
    assertThat(active.path("scope").asText()).isEqualTo("system/*.rs");
    assertThat(active.path("exp").asLong()).isPositive();
    assertThat(inactive.path("active").asBoolean()).isFalse();
    assertThat(inactive.size()).isEqualTo(1);
  }

  @Test
  void introspect_withoutClientAuthentication_refused() {
    Reply r = http.postForm(issuer + "/oauth2/introspect", map("token", "whatever"));

    assertError(r, 401, "invalid_client");
  }

  // ---- authorization code, PKCE, standalone launch ----

  @Test
  void authorize_publicClientWithoutPkce_invalidRequest() {
    Reply r = TokenClient.browser().get(authorizeUrl(null, null, "openid patient/*.rs"), "text/html");

    assertRedirectError(r, "invalid_request");
  }

  @Test
  void authorize_plainPkce_invalidRequest() {
    Reply r = TokenClient.browser().get(authorizeUrl("a".repeat(50), "plain", "openid patient/*.rs"), "text/html");

    assertRedirectError(r, "invalid_request");
  }

  @Test
  void authorize_audNotThisFhirServer_invalidRequest() {
    String url = authorizeUrl(challenge(verifier()), "S256", "patient/*.rs")
        .replace(java.net.URLEncoder.encode(gateway.baseUrl(), StandardCharsets.UTF_8),
            java.net.URLEncoder.encode("https://other.example/fhir", StandardCharsets.UTF_8));

    assertRedirectError(TokenClient.browser().get(url, "text/html"), "invalid_request");
  }

  @Test
  void authorize_scopeNotAllowed_invalidScope() {
    Reply r = TokenClient.browser().get(authorizeUrl(challenge(verifier()), "S256", "user/*.cruds"), "text/html");

    assertRedirectError(r, "invalid_scope");
  }

  @Test
  void standaloneLaunch_loginPickerAndPkce_tokenCarriesChosenPatient() throws Exception {
    TokenClient browser = TokenClient.browser();
    String verifier = verifier();

    String code = authorizeWithPicker(browser, verifier);
    Reply r = http.postForm(tokenUrl, map("grant_type", "authorization_code", "code", code, "redirect_uri", REDIRECT,
        "client_id", "app", "code_verifier", verifier));

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode body = r.json();
    assertThat(body.path("patient").asText()).isEqualTo(patientId);
    JWTClaimsSet access = verified(body.path("access_token").asText());
    assertThat(access.getStringClaim("patient")).isEqualTo(patientId);
    assertThat(access.getStringClaim("fhirUser")).isEqualTo(gateway.baseUrl() + "/Practitioner/dr-1");
    assertThat(access.getStringClaim("scope").split(" ")).contains("launch/patient", "patient/*.rs", "openid", "fhirUser");
    assertThat(access.getAudience()).containsExactly(gateway.baseUrl());
    JWTClaimsSet id = verified(body.path("id_token").asText());
    assertThat(id.getStringClaim("fhirUser")).isEqualTo(gateway.baseUrl() + "/Practitioner/dr-1");
    assertThat(id.getAudience()).containsExactly("app");
  }

  @Test
  void standaloneLaunch_patientUser_getsOwnRecordWithoutPicker() {
    TokenClient browser = TokenClient.browser();
    String verifier = verifier();
    Reply r = browser.get(authorizeUrl(challenge(verifier), "S256", "launch/patient patient/*.rs") + "&state=s1", "text/html");
    Reply loginPage = browser.get(absolute(r.location()), "text/html");
    Reply login = browser.postForm(issuer + "/login",
        map("username", "patient-user", "password", PASSWORD, "_csrf", csrf(loginPage.body())));

    Reply redirect = browser.get(absolute(login.location()), "text/html");

    assertThat(redirect.location()).startsWith(REDIRECT);
    Reply token = http.postForm(tokenUrl, map("grant_type", "authorization_code", "code", query(URI.create(redirect.location())).get("code"),
        "redirect_uri", REDIRECT, "client_id", "app", "code_verifier", verifier));
    assertThat(token.status()).as(token.body()).isEqualTo(200);
    assertThat(token.json().path("patient").asText()).isEqualTo(patientId);
  }

  @Test
  void standaloneLaunch_wrongCodeVerifier_invalidGrant() {
    TokenClient browser = TokenClient.browser();
    String code = authorizeWithPicker(browser, verifier());

    Reply r = http.postForm(tokenUrl, map("grant_type", "authorization_code", "code", code, "redirect_uri", REDIRECT,
        "client_id", "app", "code_verifier", verifier()));

    assertError(r, 400, "invalid_grant");
  }

  @Test
  void standaloneLaunch_missingCodeVerifier_refused() {
    TokenClient browser = TokenClient.browser();
    String code = authorizeWithPicker(browser, verifier());

    Reply r = http.postForm(tokenUrl, map("grant_type", "authorization_code", "code", code, "redirect_uri", REDIRECT,
        "client_id", "app"));

    assertError(r, 401, "invalid_client");
  }

  @Test
  void authorize_clientSuppliedPatientParameter_refused() {
    Reply r = TokenClient.browser().get(authorizeUrl(challenge(verifier()), "S256", "launch/patient patient/*.rs")
        + "&smart_launch_patient=" + patientId, "text/html");

    assertThat(r.status()).isEqualTo(400);
  }

  /**
   * Spring Security's filter chain is not run on /fhir (for speed): /fhir stays behind the gateway's SMART
   * interceptor, Spring Security's URL firewall still applies there, and the authorization server's own pages
   * stay behind Spring Security, also when reached through a path that starts with /fhir.
   */
  @Test
  void springSecurityGuardsItsOwnPaths_fhirStaysBehindTheSmartInterceptor() {
    Reply fhir = http.get(gateway.baseUrl() + "/Patient/" + patientId, "application/fhir+json");
    assertThat(fhir.status()).isEqualTo(401);
    assertThat(fhir.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    assertThat(fhir.body()).contains("OperationOutcome").doesNotContain("Pickerton");

    Reply semicolon = http.get(gateway.baseUrl() + "/Patient;x=1/" + patientId, "application/fhir+json");
    assertThat(semicolon.status()).isEqualTo(400);
    assertThat(semicolon.body()).doesNotContain("Pickerton");

    Reply picker = http.get(issuer + "/smart/patient-picker", "text/html");
    assertThat(picker.status()).isEqualTo(302);
    assertThat(picker.location()).endsWith("/login");
    Reply throughFhir = http.get(gateway.baseUrl() + "/../smart/patient-picker", "text/html");
    assertThat(throughFhir.status()).isIn(302, 400);
    assertThat(throughFhir.body()).doesNotContain("Pickerton");
  }

  /** Drives the browser through authorize → login → picker → authorize and returns the code. */
  private String authorizeWithPicker(TokenClient browser, String verifier) {
    String state = UUID.randomUUID().toString();
    String authorize = authorizeUrl(challenge(verifier), "S256", "openid fhirUser launch/patient patient/*.rs") + "&state=" + state;
    Reply r = browser.get(authorize, "text/html");
    assertThat(r.status()).as(r.body()).isEqualTo(302);
    assertThat(r.location()).endsWith("/login");
    Reply loginPage = browser.get(absolute(r.location()), "text/html");
    Reply login = browser.postForm(issuer + "/login",
        map("username", "clinician", "password", PASSWORD, "_csrf", csrf(loginPage.body())));
    assertThat(login.status()).as(login.body()).isEqualTo(302);
    Reply again = browser.get(absolute(login.location()), "text/html");
    assertThat(again.status()).isEqualTo(302);
    assertThat(again.location()).endsWith("/smart/patient-picker");
    Reply picker = browser.get(absolute(again.location()), "text/html");
    assertThat(picker.status()).isEqualTo(200);
    assertThat(picker.body()).contains("Synthetic Pickerton").doesNotContain("Patient/");
    Matcher choice = Pattern.compile("value=\"(\\d+)\"[^>]*> Synthetic Pickerton").matcher(picker.body());
    assertThat(choice.find()).as(picker.body()).isTrue();
    Reply chosen = browser.postForm(issuer + "/smart/patient-picker", map("choice", choice.group(1), "_csrf", csrf(picker.body())));
    assertThat(chosen.status()).as(chosen.body()).isEqualTo(302);
    Reply redirect = browser.get(absolute(chosen.location()), "text/html");
    assertThat(redirect.status()).as(redirect.body()).isEqualTo(302);
    URI callback = URI.create(redirect.location());
    assertThat(callback.toString()).startsWith(REDIRECT);
    Map<String, String> params = query(callback);
    assertThat(params.get("state")).isEqualTo(state);
    assertThat(params).containsKey("code");
    return params.get("code");
  }

  private static String authorizeUrl(String challenge, String method, String scope) {
    StringBuilder url = new StringBuilder(issuer + "/oauth2/authorize?" + TokenClient.form(map(
        "response_type", "code", "client_id", "app", "redirect_uri", REDIRECT, "scope", scope, "aud", gateway.baseUrl())));
    if (challenge != null) {
      url.append("&code_challenge=").append(challenge).append("&code_challenge_method=").append(method);
    }
    return url.toString();
  }

  private static String absolute(String location) {
    return location.startsWith("http") ? location : issuer + location;
  }

  private static String csrf(String html) {
    Matcher m = Pattern.compile("name=\"_csrf\"[^>]*value=\"([^\"]+)\"").matcher(html);
    assertThat(m.find()).as("CSRF field in " + html).isTrue();
    return m.group(1);
  }

  private static Map<String, String> query(URI uri) {
    Map<String, String> params = new LinkedHashMap<>();
    for (String pair : uri.getRawQuery().split("&")) {
      String[] kv = pair.split("=", 2);
      params.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
    }
    return params;
  }

  private static String verifier() {
    byte[] random = new byte[32];
    new java.security.SecureRandom().nextBytes(random);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  private static String challenge(String verifier) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void assertRedirectError(Reply r, String error) {
    assertThat(r.status()).as(r.body()).isEqualTo(302);
    URI location = URI.create(r.location());
    assertThat(location.toString()).startsWith(REDIRECT);
    assertThat(query(location).get("error")).isEqualTo(error);
  }

  // ---- helpers ----

  private Reply token(String clientId, JWK key, String scope) {
    return tokenWith(scope, assertion(key, clientId, tokenUrl, Duration.ofMinutes(4)));
  }

  private Reply tokenWith(String scope, String assertion) {
    return http.postForm(tokenUrl, map("grant_type", "client_credentials", "scope", scope,
        "client_assertion_type", JWT_BEARER, "client_assertion", assertion));
  }

  private JsonNode introspect(String token) {
    Reply r = http.postForm(issuer + "/oauth2/introspect", map("token", token,
        "client_assertion_type", JWT_BEARER, "client_assertion", assertion(RS_KEY, "backend-rs", tokenUrl, Duration.ofMinutes(4))));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  private static String assertion(JWK key, String clientId, String aud, Duration lifetime) {
    return TokenClient.assertion(key, clientId, aud, lifetime, UUID.randomUUID().toString());
  }

  /** Verifies the JWT's signature against the JWK Set the server publishes, and returns its claims. */
  private JWTClaimsSet verified(String jwt) throws Exception {
    JWKSet published = JWKSet.parse(http.get(issuer + "/oauth2/jwks", "application/json").body());
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS384, JWSAlgorithm.RS256),
        new ImmutableJWKSet<>(published)));
    processor.setJWTClaimsSetVerifier((claims, context) -> {});
    return processor.process(jwt, null);
  }

  private static void assertError(Reply r, int status, String error) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.json().path("error").asText()).as(r.body()).isEqualTo(error);
  }

  private static List<String> texts(JsonNode array) {
    return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }
}
