package org.fhirledger.conformance.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts the servers under test as child JVMs from {@code gateway-exec.jar}, on loopback and random ports, and
 * stops them. Each child's console goes to a log file in the data dir; the URLs are read from it.
 *
 * <ul>
 *   <li>split: the sandbox EHR alone ({@code SandboxEhr.main}, through Spring Boot's PropertiesLauncher), then
 *       the gateway with {@code gateway.upstream.base-url} pointing at it.</li>
 *   <li>embedded: the gateway alone; it starts its sandbox EHR inside its own JVM (the default deployment).</li>
 * </ul>
 */
final class ServerProcesses implements AutoCloseable {

  private static final Pattern SANDBOX_URL = Pattern.compile("SANDBOX_EHR_BASE_URL=(http://\\S+)");
  private static final Pattern EMBEDDED_SANDBOX_URL = Pattern.compile("Sandbox EHR #\\d+ started at (http://\\S+)");
  private static final Pattern TOMCAT_PORT = Pattern.compile("Tomcat started on port (\\d+)");

  private final List<Child> children = new ArrayList<>();
  private URI directUrl;
  private URI gatewayUrl;
  private Child ehr;
  private Child gateway;

  URI directUrl() {
    return directUrl;
  }

  URI gatewayUrl() {
    return gatewayUrl;
  }

  /** The EHR's JVM, when it runs alone (split topology). */
  Optional<ProcessHandle> ehrProcess() {
    return ehr == null ? Optional.empty() : Optional.of(ehr.process.toHandle());
  }

  /** The gateway's JVM (in the embedded topology it holds the EHR too). */
  Optional<ProcessHandle> gatewayProcess() {
    return gateway == null ? Optional.empty() : Optional.of(gateway.process.toHandle());
  }

  static ServerProcesses start(BenchOptions o, Path dataDir, HttpClient http) throws Exception {
    ServerProcesses s = new ServerProcesses();
    Runtime.getRuntime().addShutdownHook(new Thread(s::close, "bench-stop-servers"));
    try {
      Path logback = dataDir.resolve("logback-ehr.xml");
      Files.writeString(logback, LOGBACK_EHR);
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      // Run the jar through a link of its own name, so that a broad `pkill -f gateway-exec.jar` aimed at some
      // other gateway on this shared machine does not take the benchmark's servers down mid-run (it did once).
      Path jar = dataDir.resolve("bench-servers.jar");
      Files.deleteIfExists(jar);
      try {
        Files.createSymbolicLink(jar, o.gatewayJar);
      } catch (IOException | UnsupportedOperationException e) {
        jar = o.gatewayJar;
      }
      long deadline = System.nanoTime() + o.startupTimeout.toNanos();
      if (o.topology == BenchOptions.Topology.SPLIT) {
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(o.ehrJvmArgs);
        cmd.addAll(List.of("-Dlogback.configurationFile=" + logback,
            "-Dloader.main=org.fhirledger.gateway.sandbox.SandboxEhr",
            "-cp", jar.toString(), "org.springframework.boot.loader.launch.PropertiesLauncher",
            "--data-dir", dataDir.resolve("ehr").toString(), "--port", "0"));
        s.ehr = s.launch("ehr", cmd, dataDir.resolve("ehr.log"), List.of(SANDBOX_URL));
        s.directUrl = URI.create(s.ehr.await(SANDBOX_URL, deadline));
        System.out.println("EHR (own JVM, pid " + s.ehr.process.pid() + ") at " + s.directUrl);
      }
      List<String> cmd = new ArrayList<>(List.of(java));
      cmd.addAll(o.gatewayJvmArgs);
      cmd.addAll(List.of("-jar", jar.toString(),
          "--server.port=0", "--server.address=127.0.0.1",
          "--gateway.data-dir=" + dataDir.resolve("gateway"),
          // The load generator sends no access tokens: the benchmark measures forwarding and recording.
          "--gateway.security.enabled=false"));
      if (s.directUrl != null) {
        cmd.add("--gateway.upstream.base-url=" + s.directUrl);
      }
      List<Pattern> wanted = s.directUrl == null ? List.of(TOMCAT_PORT, EMBEDDED_SANDBOX_URL) : List.of(TOMCAT_PORT);
      s.gateway = s.launch("gateway", cmd, dataDir.resolve("gateway.log"), wanted);
      int port = Integer.parseInt(s.gateway.await(TOMCAT_PORT, deadline));
      s.gatewayUrl = URI.create("http://127.0.0.1:" + port + "/fhir");
      if (s.directUrl == null) {
        s.directUrl = URI.create(s.gateway.await(EMBEDDED_SANDBOX_URL, deadline));
        System.out.println("EHR (inside the gateway's JVM) at " + s.directUrl);
      }
      System.out.println("Gateway (pid " + s.gateway.process.pid() + ") at " + s.gatewayUrl);
      awaitMetadata(http, s.directUrl, deadline);
      awaitMetadata(http, s.gatewayUrl, deadline);
      return s;
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  /** Throws if a server JVM has exited: the rest of the run would only measure connection errors. */
  void requireAlive() {
    for (Child c : children) {
      if (!c.process.isAlive()) {
        throw new IllegalStateException("the " + c.name + " JVM (pid " + c.process.pid() + ") exited with code "
            + c.process.exitValue() + " during the run; its console is in " + c.log + "; last lines:\n"
            + c.tail());
      }
    }
  }

  static void awaitMetadata(HttpClient http, URI base, long deadlineNanos) throws Exception {
    String last = "";
    while (System.nanoTime() < deadlineNanos) {
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metadata"))
            .timeout(Duration.ofSeconds(60)).header("Accept", Workload.FHIR_JSON).GET().build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
        last = "HTTP " + r.statusCode();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(500);
    }
    throw new TimeoutException(base + "/metadata did not answer 200 in time (last: " + last + ")");
  }

  private Child launch(String name, List<String> cmd, Path log, List<Pattern> wanted) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Process p = pb.start();
    Child c = new Child(name, p, log, wanted);
    children.add(c);
    c.pump.start();
    return c;
  }

  @Override
  public synchronized void close() {
    // Gateway first, then the EHR behind it.
    for (int i = children.size() - 1; i >= 0; i--) {
      Child c = children.get(i);
      if (c.process.isAlive()) {
        c.process.destroy();
        try {
          if (!c.process.waitFor(30, TimeUnit.SECONDS)) {
            c.process.destroyForcibly();
            c.process.waitFor(10, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          c.process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** One child JVM, its console copied to a file and scanned for the lines that carry its URL or port. */
  private static final class Child {
    final String name;
    final Process process;
    final Thread pump;
    final List<Pattern> wanted;
    final List<CompletableFuture<String>> found = new ArrayList<>();
    final Path log;

    Child(String name, Process process, Path log, List<Pattern> wanted) {
      this.name = name;
      this.process = process;
      this.log = log;
      this.wanted = wanted;
      for (int i = 0; i < wanted.size(); i++) {
        found.add(new CompletableFuture<>());
      }
      this.pump = Thread.ofPlatform().daemon().name("bench-log-" + name).unstarted(this::pump);
    }

    private void pump() {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
          PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
        String line;
        while ((line = in.readLine()) != null) {
          out.println(line);
          for (int i = 0; i < wanted.size(); i++) {
            if (!found.get(i).isDone()) {
              Matcher m = wanted.get(i).matcher(line);
              if (m.find()) {
                found.get(i).complete(m.group(1));
              }
            }
          }
        }
      } catch (IOException e) {
        // the process went away
      } finally {
        for (CompletableFuture<String> f : found) {
          f.completeExceptionally(new IOException(name + " JVM exited (see " + log + ")"));
        }
      }
    }

    String tail() {
      try {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
      } catch (IOException | RuntimeException e) {
        return "(log unreadable: " + e + ")";
      }
    }

    String await(Pattern p, long deadlineNanos) throws Exception {
      long left = deadlineNanos - System.nanoTime();
      try {
        return found.get(wanted.indexOf(p)).get(Math.max(1, left), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        throw new TimeoutException(name + " JVM did not start in time (see " + log + ")");
      }
    }
  }

  /** The standalone EHR has no Spring Boot logging config: keep it as quiet as inside the gateway. */
  private static final String LOGBACK_EHR = """
      <configuration>
        <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n</pattern></encoder>
        </appender>
        <logger name="ca.uhn.fhir" level="WARN"/>
        <logger name="org.fhirledger" level="INFO"/>
        <logger name="org.hibernate" level="WARN"/>
        <logger name="org.quartz" level="WARN"/>
        <logger name="org.springframework" level="WARN"/>
        <root level="INFO"><appender-ref ref="CONSOLE"/></root>
      </configuration>
      """;
}
