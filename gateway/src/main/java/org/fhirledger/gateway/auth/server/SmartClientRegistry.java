package org.fhirledger.gateway.auth.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.settings.ClientSettings;
import org.springframework.security.oauth2.server.authorization.settings.OAuth2TokenFormat;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;

/**
 * The clients and users of the embedded authorization server, read from the clients file. The file
 * is read at start (a broken file stops the start, saying what is wrong) and again whenever its
 * modification time changes, so that a client registered with {@link ClientCli} is usable without a
 * restart; a file that became invalid is logged and the last good version stays in force.
 * Thread-safe.
 */
public final class SmartClientRegistry implements RegisteredClientRepository, UserDetailsService {

  private static final Logger log = LoggerFactory.getLogger(SmartClientRegistry.class);

  private record Snapshot(FileTime modified, Map<String, SmartClient> clients, Map<String, SmartUser> users) {}

  private final Path file;
  private final Duration accessTokenTtl;
  private volatile Snapshot snapshot;

  SmartClientRegistry(Path file, Duration accessTokenTtl) throws IOException {
    this.file = Objects.requireNonNull(file, "file");
    this.accessTokenTtl = Objects.requireNonNull(accessTokenTtl, "accessTokenTtl");
    this.snapshot = load();
  }

  /** The client with this id, if registered. */
  public Optional<SmartClient> client(String clientId) {
    return Optional.ofNullable(current().clients().get(clientId));
  }

  /** The user with this name, if registered. */
  public Optional<SmartUser> user(String username) {
    return Optional.ofNullable(current().users().get(username));
  }

  Path file() {
    return file;
  }

  @Override
  public RegisteredClient findByClientId(String clientId) {
    return client(clientId).map(this::toRegisteredClient).orElse(null);
  }

  @Override
  public RegisteredClient findById(String id) {
    return findByClientId(id);
  }

  /** Clients are registered by editing the clients file (or with {@link ClientCli}), not at run time. */
  @Override
  public void save(RegisteredClient registeredClient) {
    throw new UnsupportedOperationException("clients are registered in " + file);
  }

  @Override
  public UserDetails loadUserByUsername(String username) {
    SmartUser user = user(username).orElseThrow(() -> new UsernameNotFoundException("no such user"));
    return User.withUsername(user.username()).password("{bcrypt}" + user.passwordHash()).roles("USER").build();
  }

  private Snapshot current() {
    Snapshot s = snapshot;
    FileTime modified;
    try {
      modified = Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return s;
    }
    if (modified.equals(s.modified())) {
      return s;
    }
    synchronized (this) {
      if (snapshot != s) {
        return snapshot;
      }
      try {
        snapshot = load();
        log.info("Reloaded the clients file {}: {} clients, {} users", file, snapshot.clients().size(), snapshot.users().size());
      } catch (IOException | UncheckedIOException e) {
        // Do not retry until the file changes again.
        snapshot = new Snapshot(modified, s.clients(), s.users());
        log.warn("Clients file {} could not be reloaded, keeping the previous version: {}", file, e.getMessage());
      }
      return snapshot;
    }
  }

  private Snapshot load() throws IOException {
    FileTime modified = Files.getLastModifiedTime(file);
    ClientsFile content = ClientsFile.read(file);
    return new Snapshot(modified,
        content.clients().stream().collect(Collectors.toUnmodifiableMap(SmartClient::clientId, Function.identity())),
        content.users().stream().collect(Collectors.toUnmodifiableMap(SmartUser::username, Function.identity())));
  }

  private RegisteredClient toRegisteredClient(SmartClient c) {
    RegisteredClient.Builder b = RegisteredClient.withId(c.clientId()).clientId(c.clientId()).clientName(c.name());
    switch (c.tokenEndpointAuthMethod()) {
      case SmartClient.PRIVATE_KEY_JWT -> b.clientAuthenticationMethod(ClientAuthenticationMethod.PRIVATE_KEY_JWT);
      case SmartClient.CLIENT_SECRET_BASIC -> b.clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
          .clientSecret("{bcrypt}" + c.clientSecretHash());
      default -> b.clientAuthenticationMethod(ClientAuthenticationMethod.NONE);
    }
    c.grantTypes().forEach(g -> b.authorizationGrantType(new AuthorizationGrantType(g)));
    c.redirectUris().forEach(b::redirectUri);
    c.scopes().forEach(b::scope);
    ClientSettings.Builder settings = ClientSettings.builder()
        // SMART requires PKCE of every app, confidential or public.
        .requireProofKey(true)
        .requireAuthorizationConsent(false);
    if (c.tokenEndpointAuthMethod().equals(SmartClient.PRIVATE_KEY_JWT)) {
      // Marks the client as private_key_jwt for Spring Authorization Server; the algorithms actually
      // accepted (RS384, ES384) are ClientAssertionDecoders' business.
      settings.tokenEndpointAuthenticationSigningAlgorithm(SignatureAlgorithm.RS384);
    }
    b.clientSettings(settings.build());
    b.tokenSettings(TokenSettings.builder()
        .accessTokenFormat(OAuth2TokenFormat.SELF_CONTAINED)
        .accessTokenTimeToLive(accessTokenTtl)
        .authorizationCodeTimeToLive(Duration.ofMinutes(1))
        .idTokenSignatureAlgorithm(SignatureAlgorithm.RS256)
        .build());
    return b.build();
  }
}
