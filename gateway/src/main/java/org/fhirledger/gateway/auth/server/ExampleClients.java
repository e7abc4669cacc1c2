package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationListener;

/**
 * The example a newcomer gets: when the clients file does not exist at start, it is written with
 * one SMART Backend Services client, {@code demo-backend} (ES384 key pair generated here, private
 * key under the data directory with mode 0600, scope {@code system/*.cruds}), and once the port is
 * known the log says how to get a token with it. Delete the client (or the whole file) before the
 * gateway holds real data.
 */
final class ExampleClients implements ApplicationListener<WebServerInitializedEvent> {

  private static final Logger log = LoggerFactory.getLogger(ExampleClients.class);

  static final String DEMO_CLIENT_ID = "demo-backend";

  private final Path clientsFile;
  private final Path demoKey;
  private final boolean written;

  private ExampleClients(Path clientsFile, Path demoKey, boolean written) {
    this.clientsFile = clientsFile;
    this.demoKey = demoKey;
    this.written = written;
  }

  /** Writes the example clients file and demo key unless {@code clientsFile} already exists. */
  static ExampleClients ensure(Path clientsFile, Path dataDir) throws IOException {
    Path demoKey = dataDir.toAbsolutePath().resolve("auth-server").resolve(DEMO_CLIENT_ID + ".key.pem");
    if (Files.exists(clientsFile)) {
      return new ExampleClients(clientsFile, demoKey, false);
    }
    JWK key = ClientKeys.generate(JWSAlgorithm.ES384);
    ClientKeys.write(key, demoKey);
    SmartClient demo = new SmartClient(DEMO_CLIENT_ID, "Demo backend service (example; remove before real use)",
        List.of("system/*.cruds"), List.of(SmartClient.CLIENT_CREDENTIALS), List.of(),
        new JWKSet(key.toPublicJWK()).toJSONObject(), null, SmartClient.PRIVATE_KEY_JWT, null, null, null);
    new ClientsFile(List.of(demo), List.of()).write(clientsFile);
    log.info("No clients file was found: wrote {} with the example backend client '{}' (its key: {})",
        clientsFile.toAbsolutePath(), DEMO_CLIENT_ID, demoKey);
    return new ExampleClients(clientsFile, demoKey, true);
  }

  @Override
  public void onApplicationEvent(WebServerInitializedEvent event) {
    if (!written || event.getApplicationContext().getServerNamespace() != null) {
      return;
    }
    int port = event.getWebServer().getPort();
    log.info("Get an access token for the example client: java -cp gateway/target/gateway-exec.jar"
        + " -Dloader.main=org.fhirledger.gateway.auth.server.ClientCli org.springframework.boot.loader.launch.PropertiesLauncher"
        + " token --client-id {} --key {} --token-url http://localhost:{}/oauth2/token --scope 'system/*.rs'",
        DEMO_CLIENT_ID, demoKey, port);
  }
}
