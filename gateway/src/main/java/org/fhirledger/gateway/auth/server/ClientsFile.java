package org.fhirledger.gateway.auth.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The clients file of the embedded authorization server: {@code clients} and {@code users}, as JSON
 * (any name) or YAML (a name ending in {@code .yml} or {@code .yaml}). Immutable.
 *
 * @param clients registered clients; ids unique
 * @param users people who may log in; names unique
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ClientsFile(List<SmartClient> clients, List<SmartUser> users) {

  public ClientsFile {
    clients = List.copyOf(Objects.requireNonNullElse(clients, List.of()));
    users = List.copyOf(Objects.requireNonNullElse(users, List.of()));
    Set<String> ids = new HashSet<>();
    for (SmartClient c : clients) {
      if (!ids.add(c.clientId())) {
        throw new IllegalArgumentException("client id '" + c.clientId() + "' appears twice");
      }
    }
    Set<String> names = new HashSet<>();
    for (SmartUser u : users) {
      if (!names.add(u.username())) {
        throw new IllegalArgumentException("user '" + u.username() + "' appears twice");
      }
    }
  }

  static ObjectMapper mapperFor(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    ObjectMapper mapper = name.endsWith(".yml") || name.endsWith(".yaml") ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper();
    return mapper.enable(SerializationFeature.INDENT_OUTPUT).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }

  /**
   * Reads and validates a clients file.
   *
   * @throws IOException when it cannot be read or does not describe valid clients (the message says which entry and why)
   */
  public static ClientsFile read(Path file) throws IOException {
    try {
      return mapperFor(file).readValue(file.toFile(), ClientsFile.class);
    } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
      Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      throw new IOException("Invalid clients file " + file + ": " + cause.getMessage(), e);
    }
  }

  /** Writes the file atomically (temporary file, then rename), in the format its name asks for. */
  public void write(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".clients-", ".tmp");
    try {
      mapperFor(file).writeValue(tmp.toFile(), this);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** This file with {@code client} added, or replacing the client with the same id. */
  public ClientsFile with(SmartClient client) {
    List<SmartClient> next = new java.util.ArrayList<>(clients.stream().filter(c -> !c.clientId().equals(client.clientId())).toList());
    next.add(client);
    return new ClientsFile(next, users);
  }

  /** This file with {@code user} added, or replacing the user with the same name. */
  public ClientsFile with(SmartUser user) {
    List<SmartUser> next = new java.util.ArrayList<>(users.stream().filter(u -> !u.username().equals(user.username())).toList());
    next.add(user);
    return new ClientsFile(clients, next);
  }
}
