package org.fhirledger.gateway.auth.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.security.oauth2.core.OAuth2Token;
import org.springframework.security.oauth2.core.endpoint.OAuth2ParameterNames;
import org.springframework.security.oauth2.server.authorization.OAuth2Authorization;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationService;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;

/**
 * The authorization server's authorizations (state, codes, tokens) in memory, indexed by every
 * token value, and forgotten once nothing in them can be used any more: every token has expired
 * and the authorization is older than {@code minimumAge} (an authorization still waiting for the
 * user's login has no tokens yet). At most {@code capacity} are held; past that the oldest go first.
 *
 * <p>Per node and lost at restart: after a restart (or on another node) introspection answers
 * {@code active: false} for earlier tokens, although their signatures still verify. Thread-safe.
 */
final class ExpiringAuthorizationService implements OAuth2AuthorizationService {

  private record Held(OAuth2Authorization authorization, Instant since, List<String> keys) {}

  private final Clock clock;
  private final Duration minimumAge;
  private final int capacity;
  private final LinkedHashMap<String, Held> byId = new LinkedHashMap<>();
  private final Map<String, String> idByValue = new HashMap<>();
  private int savesSincePurge;

  ExpiringAuthorizationService(Clock clock, Duration minimumAge, int capacity) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.minimumAge = Objects.requireNonNull(minimumAge, "minimumAge");
    this.capacity = capacity;
  }

  @Override
  public synchronized void save(OAuth2Authorization authorization) {
    Held previous = forget(authorization.getId());
    List<String> keys = new ArrayList<>();
    String state = authorization.getAttribute(OAuth2ParameterNames.STATE);
    if (state != null) {
      keys.add(state);
    }
    for (Class<? extends OAuth2Token> type : TOKEN_TYPES) {
      OAuth2Authorization.Token<? extends OAuth2Token> token = authorization.getToken(type);
      if (token != null) {
        keys.add(token.getToken().getTokenValue());
      }
    }
    byId.put(authorization.getId(), new Held(authorization, previous == null ? clock.instant() : previous.since(), keys));
    keys.forEach(k -> idByValue.put(k, authorization.getId()));
    if (++savesSincePurge >= 64 || byId.size() > capacity) {
      purge();
    }
  }

  @Override
  public synchronized void remove(OAuth2Authorization authorization) {
    forget(authorization.getId());
  }

  @Override
  public synchronized OAuth2Authorization findById(String id) {
    Held held = byId.get(id);
    return held == null ? null : held.authorization();
  }

  @Override
  public synchronized OAuth2Authorization findByToken(String token, OAuth2TokenType tokenType) {
    String id = idByValue.get(token);
    Held held = id == null ? null : byId.get(id);
    if (held == null) {
      return null;
    }
    OAuth2Authorization a = held.authorization();
    if (tokenType == null) {
      return a;
    }
    if (OAuth2ParameterNames.STATE.equals(tokenType.getValue())) {
      return token.equals(a.getAttribute(OAuth2ParameterNames.STATE)) ? a : null;
    }
    for (Class<? extends OAuth2Token> type : TOKEN_TYPES) {
      OAuth2Authorization.Token<? extends OAuth2Token> t = a.getToken(type);
      if (t != null && token.equals(t.getToken().getTokenValue()) && typeName(type).equals(tokenType.getValue())) {
        return a;
      }
    }
    return null;
  }

  synchronized int size() {
    return byId.size();
  }

  private Held forget(String id) {
    Held held = byId.remove(id);
    if (held != null) {
      held.keys().forEach(k -> idByValue.remove(k, id));
    }
    return held;
  }

  private void purge() {
    savesSincePurge = 0;
    Instant now = clock.instant();
    Iterator<Map.Entry<String, Held>> it = byId.entrySet().iterator();
    List<String> dead = new ArrayList<>();
    while (it.hasNext()) {
      Held held = it.next().getValue();
      if (held.since().plus(minimumAge).isBefore(now) && !usable(held.authorization(), now)) {
        dead.add(held.authorization().getId());
      }
    }
    dead.forEach(this::forget);
    while (byId.size() > capacity) {
      forget(byId.keySet().iterator().next());
    }
  }

  private static boolean usable(OAuth2Authorization a, Instant now) {
    for (Class<? extends OAuth2Token> type : TOKEN_TYPES) {
      OAuth2Authorization.Token<? extends OAuth2Token> t = a.getToken(type);
      if (t != null && !t.isInvalidated() && (t.getToken().getExpiresAt() == null || t.getToken().getExpiresAt().isAfter(now))) {
        return true;
      }
    }
    return false;
  }

  private static final List<Class<? extends OAuth2Token>> TOKEN_TYPES = List.of(
      org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationCode.class,
      org.springframework.security.oauth2.core.OAuth2AccessToken.class,
      org.springframework.security.oauth2.core.OAuth2RefreshToken.class,
      org.springframework.security.oauth2.core.oidc.OidcIdToken.class,
      org.springframework.security.oauth2.core.OAuth2DeviceCode.class,
      org.springframework.security.oauth2.core.OAuth2UserCode.class);

  private static String typeName(Class<? extends OAuth2Token> type) {
    return switch (type.getSimpleName()) {
      case "OAuth2AuthorizationCode" -> OAuth2ParameterNames.CODE;
      case "OAuth2AccessToken" -> OAuth2TokenType.ACCESS_TOKEN.getValue();
      case "OAuth2RefreshToken" -> OAuth2TokenType.REFRESH_TOKEN.getValue();
      case "OidcIdToken" -> "id_token";
      case "OAuth2DeviceCode" -> OAuth2ParameterNames.DEVICE_CODE;
      default -> OAuth2ParameterNames.USER_CODE;
    };
  }
}
