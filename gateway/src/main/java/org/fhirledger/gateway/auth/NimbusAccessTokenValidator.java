package org.fhirledger.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Validates JWT access tokens with Nimbus JOSE+JWT against one issuer's published keys.
 *
 * <p>Accepted: JWS tokens signed with RS256, RS384, ES256 or ES384 by a key of the issuer's JWK Set,
 * {@code typ} absent, {@code JWT} or {@code at+jwt}, with exactly the configured {@code iss}, the
 * expected audience among {@code aud}, an {@code exp} in the future and any {@code nbf} in the past
 * (both within the configured clock skew). Unsigned ({@code alg: none}), encrypted and
 * HMAC-signed tokens are refused before any key is looked at. The JWK Set is cached; a token whose
 * {@code kid} is unknown makes it fetch the set again (key rotation), rate-limited so that a flood
 * of made-up key ids cannot turn the gateway against the issuer. A token once verified for an audience
 * is remembered (by its SHA-256) until it expires, at most 60 s: a key the issuer withdraws stops
 * being trusted within a minute plus the JWK Set cache time. Thread-safe.
 */
final class NimbusAccessTokenValidator implements AccessTokenValidator {

  static final Set<JWSAlgorithm> ALGORITHMS =
      Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.ES256, JWSAlgorithm.ES384);

  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final Pattern CODE = Pattern.compile("[A-Za-z0-9\\-._]{1,64}");
  private static final Pattern REFERENCE = Pattern.compile("[!-~]{1,512}");
  private static final int JWKS_SIZE_LIMIT = 512 * 1024;
  private static final Duration MAX_CACHED = Duration.ofSeconds(60);
  private static final int MAX_CACHE_ENTRIES = 10_000;

  private final String issuer;
  private final java.util.function.Function<String, String> issuerForAudience;
  private final JWKSource<SecurityContext> inProcessKeys;
  private final Supplier<URI> jwksUri;
  private final Duration clockSkew;
  private final Duration refreshMinInterval;
  private final Duration cacheTtl;
  private final String purposeOfUseClaim;
  private final Clock clock;
  private volatile DefaultJWTProcessor<SecurityContext> processor;
  /**
   * Tokens already verified for an audience (by SHA-256), until they expire but at most {@link #MAX_CACHED}:
   * a client sends one token with many requests, and an ES384 signature costs milliseconds to verify.
   */
  private final Map<String, Verified> verified = new ConcurrentHashMap<>();

  private record Verified(Caller caller, Instant until) {}

  /**
   * @param jwksUri where the issuer's JWK Set is; asked once, on the first token (it may fetch the
   *     issuer's metadata), and again after a failure
   */
  NimbusAccessTokenValidator(URI issuer, Supplier<URI> jwksUri, Duration clockSkew, Duration refreshMinInterval,
      Duration cacheTtl, String purposeOfUseClaim, Clock clock) {
    this.issuer = Objects.requireNonNull(issuer, "issuer").toString();
    this.issuerForAudience = aud -> this.issuer;
    this.inProcessKeys = null;
    this.jwksUri = Objects.requireNonNull(jwksUri, "jwksUri");
    this.clockSkew = Objects.requireNonNull(clockSkew, "clockSkew");
    this.refreshMinInterval = Objects.requireNonNull(refreshMinInterval, "refreshMinInterval");
    this.cacheTtl = Objects.requireNonNull(cacheTtl, "cacheTtl");
    this.purposeOfUseClaim = Objects.requireNonNull(purposeOfUseClaim, "purposeOfUseClaim");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * A validator for an issuer that runs inside the gateway: its keys are read in-process, and the issuer a token
   * must name follows the audience (the FHIR base the client reached), as the embedded server names itself.
   */
  NimbusAccessTokenValidator(java.util.function.Function<String, String> issuerForAudience,
      JWKSource<SecurityContext> keys, Duration clockSkew, String purposeOfUseClaim, Clock clock) {
    this.issuer = "(per request)";
    this.issuerForAudience = Objects.requireNonNull(issuerForAudience, "issuerForAudience");
    this.inProcessKeys = Objects.requireNonNull(keys, "keys");
    this.jwksUri = () -> {
      throw new IllegalStateException("keys are in-process");
    };
    this.clockSkew = Objects.requireNonNull(clockSkew, "clockSkew");
    this.refreshMinInterval = Duration.ZERO;
    this.cacheTtl = Duration.ZERO;
    this.purposeOfUseClaim = Objects.requireNonNull(purposeOfUseClaim, "purposeOfUseClaim");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public Caller validate(String token, String audience) throws InvalidTokenException {
    String key = cacheKey(token, audience);
    Instant now = clock.instant();
    Verified hit = verified.get(key);
    if (hit != null && now.isBefore(hit.until())) {
      return hit.caller();
    }
    JWTClaimsSet claims = verify(token, audience);
    Caller caller = caller(claims);
    Instant until = claims.getExpirationTime().toInstant().plus(clockSkew);
    if (until.isAfter(now.plus(MAX_CACHED))) {
      until = now.plus(MAX_CACHED);
    }
    if (verified.size() >= MAX_CACHE_ENTRIES) {
      verified.clear();
    }
    verified.put(key, new Verified(caller, until));
    return caller;
  }

  private JWTClaimsSet verify(String token, String audience) throws InvalidTokenException {
    SignedJWT jwt = parseSigned(token);
    JWTClaimsSet claims;
    try {
      claims = processor().process(jwt, null);
    } catch (RateLimitReachedException e) {
      throw invalid("The token is signed with a key the issuer does not publish.");
    } catch (KeySourceException e) {
      throw new IssuerUnavailableException("The token issuer's keys could not be fetched", e);
    } catch (BadJOSEException e) {
      throw invalid(e.getMessage() != null && e.getMessage().contains("type")
          ? "The token's typ header is not JWT or at+jwt."
          : "The token's signature does not verify with any key the issuer publishes for its algorithm.");
    } catch (JOSEException e) {
      throw invalid("The token's signature could not be verified.");
    }
    checkClaims(claims, audience);
    return claims;
  }

  private static String cacheKey(String token, String audience) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(digest) + " " + audience;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  private static SignedJWT parseSigned(String token) throws InvalidTokenException {
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      throw invalid("The bearer token is not a JWT.");
    }
    if (!(jwt instanceof SignedJWT signed)) {
      throw invalid("The token is not signed (or is encrypted): only JWS access tokens are accepted.");
    }
    JWSAlgorithm alg = signed.getHeader().getAlgorithm();
    if (!ALGORITHMS.contains(alg)) {
      throw invalid("The token's algorithm " + alg.getName()
          + " is not accepted: use RS256, RS384, ES256 or ES384.");
    }
    return signed;
  }

  private void checkClaims(JWTClaimsSet claims, String audience) throws InvalidTokenException {
    String expectedIssuer = issuerForAudience.apply(audience);
    if (!expectedIssuer.equals(claims.getIssuer())) {
      throw invalid("The token was not issued by the issuer this gateway trusts (" + expectedIssuer + ").");
    }
    List<String> aud = claims.getAudience();
    if (aud == null || aud.stream().noneMatch(a -> sameUrl(a, audience))) {
      throw invalid("The token's audience (aud) does not include this FHIR server, " + audience + ".");
    }
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw invalid("The token has no expiry (exp).");
    }
    if (!exp.toInstant().plus(clockSkew).isAfter(now)) {
      throw invalid("The token has expired.");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.toInstant().minus(clockSkew).isAfter(now)) {
      throw invalid("The token is not valid yet (nbf is in the future).");
    }
  }

  private Caller caller(JWTClaimsSet claims) throws InvalidTokenException {
    String clientId = firstString(claims, "client_id", "azp", "cid", "sub");
    if (clientId == null || clientId.isBlank() || !REFERENCE.matcher(clientId).matches()) {
      throw invalid("The token names no client (client_id, azp or sub).");
    }
    Set<String> granted = new LinkedHashSet<>();
    try {
      Object scope = claims.getClaim("scope");
      if (scope instanceof String s && !s.isBlank()) {
        granted.addAll(List.of(s.trim().split("\\s+")));
      } else if (claims.getClaim("scp") != null) {
        granted.addAll(claims.getStringListClaim("scp"));
      }
    } catch (ParseException e) {
      throw invalid("The token's scope claim is neither a string nor a list of strings.");
    }
    String patient = string(claims, "patient");
    if (patient != null && !FHIR_ID.matcher(patient).matches()) {
      throw invalid("The token's patient claim is not a FHIR id.");
    }
    String fhirUser = string(claims, "fhirUser");
    if (fhirUser != null && !REFERENCE.matcher(fhirUser).matches()) {
      throw invalid("The token's fhirUser claim is not a reference.");
    }
    String purpose = purposeOfUse(claims);
    String organization = string(claims, "organization");
    if (organization != null && !REFERENCE.matcher(organization).matches()) {
      organization = null;
    }
    return new Caller(clientId, fhirUser, patient, SmartScope.parseAll(String.join(" ", granted)), granted,
        purpose, organization);
  }

  private String purposeOfUse(JWTClaimsSet claims) throws InvalidTokenException {
    Object value = claims.getClaim(purposeOfUseClaim);
    String code = value instanceof String s ? s
        : value instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof String s ? s : null;
    if (value != null && (code == null || !CODE.matcher(code).matches())) {
      throw invalid("The token's " + purposeOfUseClaim + " claim is not a purpose of use code (for example TREAT).");
    }
    return code;
  }

  private static String firstString(JWTClaimsSet claims, String... names) throws InvalidTokenException {
    for (String name : names) {
      String v = string(claims, name);
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private static String string(JWTClaimsSet claims, String name) throws InvalidTokenException {
    Object v = claims.getClaim(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw invalid("The token's " + name + " claim is not a string.");
    }
    return s;
  }

  private DefaultJWTProcessor<SecurityContext> processor() {
    DefaultJWTProcessor<SecurityContext> p = processor;
    if (p == null) {
      synchronized (this) {
        p = processor;
        if (p == null) {
          p = newProcessor();
          processor = p;
        }
      }
    }
    return p;
  }

  private DefaultJWTProcessor<SecurityContext> newProcessor() {
    JWKSource<SecurityContext> keys = inProcessKeys;
    if (keys != null) {
      return processorWith(keys);
    }
    try {
      JWKSourceBuilder<SecurityContext> builder = JWKSourceBuilder.<SecurityContext>create(jwksUri.get().toURL(),
              new DefaultResourceRetriever(5_000, 10_000, JWKS_SIZE_LIMIT))
          .cache(cacheTtl.toMillis(), 15_000)
          .refreshAheadCache(false)
          .retrying(false)
          .outageTolerant(false);
      builder = refreshMinInterval.isZero() ? builder.rateLimited(false) : builder.rateLimited(refreshMinInterval.toMillis());
      keys = builder.build();
    } catch (MalformedURLException | IllegalArgumentException e) {
      throw new IssuerUnavailableException("The token issuer's JWK Set URL is not usable", e);
    }
    return processorWith(keys);
  }

  private static DefaultJWTProcessor<SecurityContext> processorWith(JWKSource<SecurityContext> keys) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
    // Issuer, audience and lifetime are checked by checkClaims, against the injected clock.
    p.setJWTClaimsSetVerifier((claims, context) -> { });
    return p;
  }

  private static boolean sameUrl(String a, String b) {
    return strip(a).equals(strip(b));
  }

  private static String strip(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  private static InvalidTokenException invalid(String message) {
    return new InvalidTokenException("invalid_token", message);
  }
}
