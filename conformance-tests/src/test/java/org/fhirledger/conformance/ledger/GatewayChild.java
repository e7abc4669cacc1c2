package org.fhirledger.conformance.ledger;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fhirledger.gateway.GatewayApplication;

/**
 * The real gateway in a child JVM, on the test's classpath, so that the test can kill it with SIGKILL. Its output
 * goes to a log file; the port is taken from Spring Boot's "Tomcat started on port N" line.
 */
final class GatewayChild implements AutoCloseable {

  private static final Pattern STARTED = Pattern.compile("Tomcat started on port (\\d+)");

  private final Process process;
  private final int port;

  private GatewayChild(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /**
   * Starts a gateway and waits until it listens.
   *
   * @throws TimeoutException if it does not listen within {@code startTimeout} (it is then killed)
   */
  static GatewayChild start(Path logFile, Duration startTimeout, String... gatewayArgs) throws Exception {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx768m", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"),
        GatewayApplication.class.getName()));
    command.addAll(List.of(gatewayArgs));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread.ofPlatform().daemon().name("gateway-child-output").start(() -> drain(process, logFile, port));
    try {
      return new GatewayChild(process, port.get(startTimeout.toMillis(), TimeUnit.MILLISECONDS));
    } catch (Exception e) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      throw new IllegalStateException("gateway child did not start; see " + logFile, e);
    }
  }

  private static void drain(Process process, Path logFile, CompletableFuture<Integer> port) {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter log = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
      String line;
      while ((line = out.readLine()) != null) {
        log.println(line);
        Matcher m = STARTED.matcher(line);
        if (!port.isDone() && m.find()) {
          port.complete(Integer.parseInt(m.group(1)));
        }
      }
    } catch (IOException e) {
      port.completeExceptionally(e);
    } finally {
      port.completeExceptionally(new IllegalStateException("gateway child exited before listening"));
    }
  }

  String root() {
    return "http://127.0.0.1:" + port;
  }

  /** SIGKILL: no shutdown hook, no flush, no clean close of anything. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("gateway child did not die within 60 s");
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
