package org.fhirledger.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.gateway.GatewayApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/** One gateway started in-process on a random port. */
public final class RunningGateway implements AutoCloseable {

  private final ConfigurableApplicationContext context;
  private final String baseUrl;

  private RunningGateway(ConfigurableApplicationContext context) {
    this.context = context;
    int port = ((WebServerApplicationContext) context).getWebServer().getPort();
    if (port <= 0 || port == 8080) {
      throw new IllegalStateException("gateway did not start on a random port: " + port);
    }
    this.baseUrl = "http://localhost:" + port + "/fhir";
  }

  /**
   * Starts a gateway with its data under {@code dataDir} and the given extra {@code key=value} properties. Unless they
   * say otherwise, the gateway trusts the {@link TestIssuer#shared() shared test issuer} (security on, real tokens).
   */
  public static RunningGateway start(Path dataDir, String... properties) {
    return start(true, dataDir, properties);
  }

  /**
   * Starts a gateway with its own security defaults: it trusts its embedded authorization server, as the README's
   * run command does.
   */
  public static RunningGateway startWithEmbeddedIssuer(Path dataDir, String... properties) {
    return start(false, dataDir, properties);
  }

  private static RunningGateway start(boolean testIssuer, Path dataDir, String... properties) {
    List<String> props = new ArrayList<>(List.of(
        "server.port=0",
        "gateway.data-dir=" + dataDir.toAbsolutePath(),
        "spring.main.register-shutdown-hook=false",
        "spring.jmx.enabled=false"));
    // A property given by the caller replaces the default of the same name (both would bind as "a,b").
    for (String p : properties) {
      String key = p.substring(0, p.indexOf('=') + 1);
      props.removeIf(d -> d.startsWith(key));
    }
    props.addAll(List.of(properties));
    for (String security : testIssuer ? TestIssuer.gatewayProperties() : new String[0]) {
      String key = security.substring(0, security.indexOf('=') + 1);
      if (props.stream().noneMatch(p -> p.startsWith(key))) {
        props.add(security);
      }
    }
    // As command-line arguments: default properties (SpringApplicationBuilder.properties) rank below the
    // gateway's application.yml, so server.port=0 and gateway.data-dir there would be silently ignored.
    ConfigurableApplicationContext ctx = new SpringApplicationBuilder(GatewayApplication.class)
        .run(props.stream().map(p -> "--" + p).toArray(String[]::new));
    return new RunningGateway(ctx);
  }

  /** A fresh directory under {@code target/conformance-data}. */
  public static Path newDataDir(String prefix) {
    try {
      Path root = Path.of("target", "conformance-data").toAbsolutePath();
      Files.createDirectories(root);
      return Files.createTempDirectory(root, prefix + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The gateway's FHIR base, {@code http://localhost:<port>/fhir}. */
  public String baseUrl() {
    return baseUrl;
  }

  /** True if the gateway's context holds a bean of this type (e.g. the embedded SandboxEhr). */
  public boolean hasBean(Class<?> type) {
    return context.getBeanNamesForType(type).length > 0;
  }

  public <T> T bean(Class<T> type) {
    return context.getBean(type);
  }

  @Override
  public void close() {
    context.close();
  }
}
