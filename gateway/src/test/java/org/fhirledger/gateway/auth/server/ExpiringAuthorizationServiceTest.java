package org.fhirledger.gateway.auth.server;

import org.fhirledger.gateway.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.OAuth2AccessToken;
import org.springframework.security.oauth2.server.authorization.OAuth2Authorization;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;

class ExpiringAuthorizationServiceTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final RegisteredClient CLIENT = RegisteredClient.withId("c").clientId("c")
      .clientAuthenticationMethod(ClientAuthenticationMethod.PRIVATE_KEY_JWT)
      .authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS).build();

  @Test
  void findByToken_accessToken_foundOnlyAsAccessToken() {
    ExpiringAuthorizationService service = new ExpiringAuthorizationService(new MutableClock(T0), Duration.ofMinutes(10), 10);
    service.save(authorization("a1", "token-1", T0.plusSeconds(300)));

    assertThat(service.findByToken("token-1", OAuth2TokenType.ACCESS_TOKEN)).isNotNull();
    assertThat(service.findByToken("token-1", null)).isNotNull();
    assertThat(service.findByToken("token-1", OAuth2TokenType.REFRESH_TOKEN)).isNull();
    assertThat(service.findByToken("nope", OAuth2TokenType.ACCESS_TOKEN)).isNull();
  }

  @Test
  void save_afterTokensExpired_forgetsOldAuthorizations() {
    MutableClock clock = new MutableClock(T0);
    ExpiringAuthorizationService service = new ExpiringAuthorizationService(clock, Duration.ofMinutes(10), 1000);
    for (int i = 0; i < 10; i++) {
      service.save(authorization("old-" + i, "old-token-" + i, T0.plusSeconds(300)));
    }
    clock.advance(Duration.ofMinutes(11));
    for (int i = 0; i < 64; i++) {
      service.save(authorization("new-" + i, "new-token-" + i, clock.instant().plusSeconds(300)));
    }

    assertThat(service.findByToken("old-token-0", OAuth2TokenType.ACCESS_TOKEN)).isNull();
    assertThat(service.findByToken("new-token-0", OAuth2TokenType.ACCESS_TOKEN)).isNotNull();
    assertThat(service.size()).isEqualTo(64);
  }

  @Test
  void save_overCapacity_dropsOldest() {
    ExpiringAuthorizationService service = new ExpiringAuthorizationService(new MutableClock(T0), Duration.ofMinutes(10), 3);
    for (int i = 0; i < 5; i++) {
      service.save(authorization("a" + i, "t" + i, T0.plusSeconds(300)));
    }

    assertThat(service.size()).isEqualTo(3);
    assertThat(service.findById("a0")).isNull();
    assertThat(service.findById("a4")).isNotNull();
  }

  private static OAuth2Authorization authorization(String id, String token, Instant expires) {
    return OAuth2Authorization.withRegisteredClient(CLIENT).id(id).principalName("c")
        .authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS)
        .accessToken(new OAuth2AccessToken(OAuth2AccessToken.TokenType.BEARER, token, T0, expires))
        .build();
  }
}
