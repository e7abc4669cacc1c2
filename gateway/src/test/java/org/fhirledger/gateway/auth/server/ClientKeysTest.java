package org.fhirledger.gateway.auth.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClientKeysTest {

  @TempDir
  Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"RS384", "ES384"})
  void writeThenRead_sameKeyAndKid(String alg) throws Exception {
    JWK key = ClientKeys.generate(JWSAlgorithm.parse(alg));
    Path file = dir.resolve(alg + ".pem");

    ClientKeys.write(key, file);
    JWK read = ClientKeys.read(file);

    assertThat(read.getKeyID()).isEqualTo(key.getKeyID());
    assertThat(read.toPublicJWK()).isEqualTo(key.toPublicJWK());
    assertThat(read.isPrivate()).isTrue();
    assertThat(ClientKeys.algorithm(read)).isEqualTo(JWSAlgorithm.parse(alg));
  }
}
