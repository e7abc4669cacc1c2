package org.fhirledger.gateway.sandbox;

import ca.uhn.fhir.rest.server.HardcodedServerAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.core.env.MapPropertySource;

/**
 * A real HAPI FHIR JPA R4 server on H2, bound to 127.0.0.1 on a random port, in its own Spring application
 * context. Thread-safe; close() stops it and releases the port and the database.
 *
 * <p>Isolation from the gateway: the HAPI beans live in a plain {@link AnnotationConfigApplicationContext}
 * with no parent and no Spring Boot auto-configuration, and the server runs in its own embedded Tomcat with a
 * single connector on 127.0.0.1. Nothing in this package carries a Spring stereotype annotation, so the
 * gateway's component scan finds nothing here.
 */
public final class SandboxEhr implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SandboxEhr.class);
  private static final AtomicInteger INSTANCES = new AtomicInteger();
  static final String LOOPBACK = "127.0.0.1";
  static final String FHIR_PATH = "/fhir";

  private final AnnotationConfigApplicationContext context;
  private final Tomcat tomcat;
  private final URI baseUrl;
  private final int port;
  private final Path dbDirectory;
  private boolean closed;

  private SandboxEhr(AnnotationConfigApplicationContext context, Tomcat tomcat, int port, Path dbDirectory) {
    this.context = context;
    this.tomcat = tomcat;
    this.port = port;
    this.dbDirectory = dbDirectory;
    this.baseUrl = URI.create("http://" + LOOPBACK + ":" + port + FHIR_PATH);
  }

  /** Starts on a random free port; the H2 file database lives under {@code dataDirectory/sandbox-ehr/}. */
  public static SandboxEhr start(Path dataDirectory) {
    return start(dataDirectory, 0);
  }

  /** Starts on {@code port} (0 = random); the H2 file database lives under {@code dataDirectory/sandbox-ehr/}. */
  public static SandboxEhr start(Path dataDirectory, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    long t0 = System.nanoTime();
    SandboxLogging.quietDefaults();
    Path root = dataDirectory.toAbsolutePath().resolve("sandbox-ehr");
    Path dbDir = root.resolve("db");
    Path tomcatDir = root.resolve("tomcat");
    try {
      Files.createDirectories(dbDir);
      Files.createDirectories(tomcatDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create sandbox EHR directory under " + root, e);
    }
    String instance = Integer.toString(INSTANCES.incrementAndGet());

    AnnotationConfigApplicationContext ctx = new AnnotationConfigApplicationContext();
    ctx.setDisplayName("sandbox-ehr-" + instance);
    ctx.setId("sandbox-ehr-" + instance);
    ctx.getEnvironment().getPropertySources().addFirst(new MapPropertySource("sandboxEhr", Map.of(
        SandboxJpaConfig.PROP_DB_DIR, dbDir.toString(),
        SandboxJpaConfig.PROP_INSTANCE, instance)));
    ctx.register(SandboxJpaConfig.class);
    Tomcat tc = null;
    try {
      ctx.refresh();
      long tContext = System.nanoTime();
      RestfulServer fhirServlet = ctx.getBean(RestfulServer.class);
      tc = newTomcat(tomcatDir, port, instance, fhirServlet);
      tc.start();
      int boundPort = tc.getConnector().getLocalPort();
      if (boundPort <= 0) {
        throw new IllegalStateException("sandbox EHR connector did not bind (port " + port + ")");
      }
      SandboxEhr ehr = new SandboxEhr(ctx, tc, boundPort, dbDir);
      // Self/next/previous links and Location headers always start with baseUrl(), whatever Host header a
      // (proxying) client sends, so the gateway can rewrite them by simple prefix replacement.
      fhirServlet.setServerAddressStrategy(new HardcodedServerAddressStrategy(ehr.baseUrl.toString()));
      LOG.info("Sandbox EHR #{} started at {} in {} ms (HAPI context {} ms)", instance, ehr.baseUrl,
          (System.nanoTime() - t0) / 1_000_000, (tContext - t0) / 1_000_000);
      return ehr;
    } catch (RuntimeException | LifecycleException e) {
      stopQuietly(tc);
      try {
        ctx.close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new IllegalStateException("sandbox EHR failed to start on " + LOOPBACK + ":" + port, e);
    }
  }

  private static Tomcat newTomcat(Path baseDir, int port, String instance, RestfulServer servlet) {
    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(baseDir.toString());
    tomcat.getServer().setPort(-1); // no shutdown port
    tomcat.getEngine().setName("sandbox-ehr-" + instance);
    tomcat.getService().setName("sandbox-ehr-" + instance);

    Connector connector = new Connector("org.apache.coyote.http11.Http11NioProtocol");
    connector.setPort(port);
    // Loopback only: never reachable from other hosts, nor on the gateway's public port.
    connector.setProperty("address", LOOPBACK);
    connector.setProperty("bindOnInit", "true");
    // Modest pools: shares two cores with the gateway and the load generator.
    connector.setProperty("maxThreads", "16");
    connector.setProperty("minSpareThreads", "2");
    connector.setProperty("acceptCount", "100");
    connector.setProperty("maxConnections", "256");
    // FHIR search URLs often carry '|' (token system|code) and '[]' unencoded; Tomcat rejects them by default.
    connector.setProperty("relaxedQueryChars", "|[]{}^`\"<>\\");
    connector.setProperty("relaxedPathChars", "|[]{}^`\"<>\\");
    connector.setURIEncoding("UTF-8");
    connector.setMaxPostSize(-1);
    tomcat.setConnector(connector);

    Context webapp = tomcat.addContext("", baseDir.toString());
    Wrapper wrapper = Tomcat.addServlet(webapp, "sandboxEhrFhir", servlet);
    wrapper.setLoadOnStartup(1); // init HAPI's RestfulServer now, so failures surface in start()
    webapp.addServletMappingDecoded(FHIR_PATH + "/*", "sandboxEhrFhir");
    return tomcat;
  }

  /** The FHIR base URL, e.g. {@code http://127.0.0.1:41234/fhir} (no trailing slash). */
  public URI baseUrl() {
    return baseUrl;
  }

  /** The address the HTTP connector is bound to (host 127.0.0.1). */
  InetSocketAddress boundAddress() {
    Object address = tomcat.getConnector().getProperty("address");
    if (address instanceof java.net.InetAddress inet) {
      return new InetSocketAddress(inet, port);
    }
    return new InetSocketAddress(String.valueOf(address).replaceFirst("^.*/", ""), port);
  }

  Path databaseDirectory() {
    return dbDirectory;
  }

  /** Stops the HTTP server (releasing the port), then the HAPI context (releasing the H2 database). */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException failure = null;
    try {
      tomcat.stop();
      tomcat.destroy();
    } catch (LifecycleException | RuntimeException e) {
      failure = new IllegalStateException("stopping sandbox EHR HTTP server failed", e);
    }
    try {
      context.close();
    } catch (RuntimeException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    LOG.info("Sandbox EHR at {} stopped", baseUrl);
    if (failure != null) {
      throw failure;
    }
  }

  private static void stopQuietly(Tomcat tc) {
    if (tc == null) {
      return;
    }
    try {
      tc.stop();
      tc.destroy();
    } catch (LifecycleException | RuntimeException e) {
      LOG.warn("could not stop sandbox EHR HTTP server cleanly: {}", e.toString());
    }
  }

  /**
   * Runs the sandbox EHR standalone until the process is killed.
   *
   * <pre>java -cp gateway.jar org.fhirledger.gateway.sandbox.SandboxEhr [--data-dir DIR] [--port N]</pre>
   *
   * Defaults: {@code --data-dir ./data}, {@code --port 0} (random). Once started it prints exactly one line
   * {@code SANDBOX_EHR_BASE_URL=http://127.0.0.1:PORT/fhir} to standard output.
   */
  public static void main(String[] args) {
    Path dataDir = Path.of("data");
    int port = 0;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value;
      String name;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        name = a.substring(0, eq);
        value = a.substring(eq + 1);
      } else if (a.startsWith("--") && i + 1 < args.length) {
        name = a;
        value = args[++i];
      } else {
        System.err.println("usage: SandboxEhr [--data-dir DIR] [--port N]   (unrecognised: " + a + ")");
        System.exit(2);
        return;
      }
      switch (name) {
        case "--data-dir" -> dataDir = Path.of(value);
        case "--port" -> port = Integer.parseInt(value);
        default -> {
          System.err.println("usage: SandboxEhr [--data-dir DIR] [--port N]   (unknown option: " + name + ")");
          System.exit(2);
          return;
        }
      }
    }
    SandboxEhr ehr = start(dataDir, port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        ehr.close();
      } finally {
        stopped.countDown();
      }
    }, "sandbox-ehr-shutdown"));
    System.out.println("SANDBOX_EHR_BASE_URL=" + ehr.baseUrl());
    System.out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
