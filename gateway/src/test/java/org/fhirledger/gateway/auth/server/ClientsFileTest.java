package org.fhirledger.gateway.auth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientsFileTest {

  @TempDir
  Path dir;

  @Test
  void read_yaml_givesClientsAndUsers() throws IOException {
    Path file = dir.resolve("clients.yml");
    Files.writeString(file, """
        clients:
          - clientId: lab-1
            scopes: [system/Observation.cruds]
            jwksUri: https://lab.example/jwks.json
            organization: Organization/lab-1
        users:
          - username: clinician
            passwordHash: $2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy
            fhirUser: Practitioner/1
        """);

    ClientsFile read = ClientsFile.read(file);

    assertThat(read.clients()).singleElement().satisfies(c -> {
      assertThat(c.grantTypes()).containsExactly("client_credentials");
      assertThat(c.tokenEndpointAuthMethod()).isEqualTo("private_key_jwt");
      assertThat(c.organization()).isEqualTo("Organization/lab-1");
    });
    assertThat(read.users()).singleElement().extracting(SmartUser::fhirUser).isEqualTo("Practitioner/1");
  }

  @Test
  void read_privateKeyJwtWithoutKeys_saysWhichClientAndWhy() throws IOException {
    Path file = dir.resolve("clients.json");
    Files.writeString(file, "{\"clients\":[{\"clientId\":\"lab-2\",\"scopes\":[\"system/*.rs\"]}]}");

    assertThatThrownBy(() -> ClientsFile.read(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("lab-2")
        .hasMessageContaining("jwks");
  }

  @Test
  void read_unknownField_refused() throws IOException {
    Path file = dir.resolve("clients.json");
    Files.writeString(file, "{\"clients\":[],\"clientz\":[]}");

    assertThatThrownBy(() -> ClientsFile.read(file)).isInstanceOf(IOException.class).hasMessageContaining("clientz");
  }

  @Test
  void constructor_plainPasswordInsteadOfHash_refused() {
    assertThatThrownBy(() -> new SmartUser("u", "secret", null)).hasMessageContaining("bcrypt");
  }

  @Test
  void constructor_publicClientWithClientCredentials_refused() {
    assertThatThrownBy(() -> new SmartClient("c", null, List.of("system/*.rs"), List.of("client_credentials"), List.of(),
        null, null, "none", null, null, null)).hasMessageContaining("confidential");
  }

  @Test
  void writeThenRead_roundTrips() throws IOException {
    Path file = dir.resolve("clients.json");
    SmartClient client = new SmartClient("lab-3", "Lab", List.of("system/*.rs"), null, null,
        Map.of("keys", List.of()), null, null, null, "Organization/x", null);

    new ClientsFile(List.of(), List.of()).with(client).write(file);

    assertThat(ClientsFile.read(file).clients()).containsExactly(client);
  }
}
