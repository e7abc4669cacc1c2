package org.fhirledger.conformance.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarises the CPU samples of a JFR recording (for example the gateway's, taken during a benchmark run with
 * {@code --gateway-jvm-args="... -XX:StartFlightRecording=filename=gw.jfr,settings=profile"}): the hottest
 * methods by self time, the hottest by inclusive time, and where the samples fall by component.
 *
 * <pre>java -cp ... org.fhirledger.conformance.bench.JfrHotspots gw.jfr [top=25]</pre>
 *
 * Uses {@code jdk.ExecutionSample} (threads running Java code) and, when recorded, {@code jdk.CPUTimeSample}
 * (JDK 25+, Linux: real CPU-time sampling, including native frames).
 */
public final class JfrHotspots {

  /** Components, matched in order against the frames of a stack from the top; the first match wins. */
  private static final String[][] COMPONENTS = {
    {"gateway: base-URL rewriting", "org.fhirledger.gateway.server.BaseUrlRewriter"},
    {"gateway: capability statement", "org.fhirledger.gateway.server.CapabilityStatementAdjuster"},
    {"gateway: upstream request/response records", "org.fhirledger.gateway.upstream.Upstream"},
    {"ledger: Merkle tree hashing", "org.fhirledger.ledger.merkle", "org.fhirledger.ledger.tiles"},
    {"ledger: checkpoint signing (BouncyCastle Ed25519)", "org.bouncycastle", "org.fhirledger.ledger.note"},
    {"ledger: H2 storage (entries, tiles, patient secrets)", "org.h2", "org.fhirledger.ledger.jdbc"},
    {"ledger: entry encoding, pseudonyms, sequencer", "org.fhirledger.ledger"},
    {"JSON / HAPI parsing", "ca.uhn.fhir.parser", "com.fasterxml.jackson"},
    {"logging", "ch.qos.logback", "org.slf4j", "org.apache.logging"},
    {"Micronaut HTTP client", "io.micronaut"},
    {"Netty", "io.netty"},
    {"Reactor", "reactor."},
    {"HAPI RestfulServer (request parsing, interceptors, binding)", "ca.uhn.fhir.rest"},
    {"gateway: ledger recording (parse, canonical JSON, compartments)", "org.fhirledger.gateway.ledger"},
    {"gateway: forwarding glue", "org.fhirledger.gateway"},
    {"Tomcat / servlet", "org.apache.catalina", "org.apache.coyote", "org.apache.tomcat", "jakarta.servlet",
        "org.springframework.web", "org.springframework.boot.web"},
    {"JDK networking / NIO", "sun.nio", "java.nio", "sun.net", "java.net"},
    {"JDK concurrency (park/unpark, queues)", "java.util.concurrent", "jdk.internal.misc.Unsafe.park"},
    {"JDK other", "java.", "jdk.", "sun."},
  };

  private JfrHotspots() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: JfrHotspots FILE.jfr [top=25] [thread-prefix]");
      System.exit(2);
    }
    int top = args.length > 1 ? Integer.parseInt(args[1]) : 25;
    String threadPrefix = args.length > 2 ? args[2] : null;
    Map<String, List<RecordedStackTrace>> byEvent = new LinkedHashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    for (RecordedEvent e : RecordingFile.readAllEvents(Path.of(args[0]))) {
      String type = e.getEventType().getName();
      if (!type.equals("jdk.ExecutionSample") && !type.equals("jdk.CPUTimeSample")) {
        continue;
      }
      String thread = threadName(e);
      if (threadPrefix != null && !thread.startsWith(threadPrefix)) {
        continue;
      }
      if (e.getStackTrace() == null) {
        continue;
      }
      byEvent.computeIfAbsent(type, k -> new ArrayList<>()).add(e.getStackTrace());
      if (type.equals("jdk.ExecutionSample")) {
        threads.merge(threadGroup(thread), 1, Integer::sum);
      }
    }
    for (Map.Entry<String, List<RecordedStackTrace>> ev : byEvent.entrySet()) {
      report(ev.getKey(), ev.getValue(), top);
    }
    if (!threads.isEmpty()) {
      System.out.println("-- jdk.ExecutionSample by thread (digits folded) --");
      print(threads, threads.values().stream().mapToInt(Integer::intValue).sum(), top);
    }
  }

  private static void report(String event, List<RecordedStackTrace> stacks, int top) {
    int n = stacks.size();
    System.out.printf(Locale.ROOT, "== %s: %d samples ==%n", event, n);
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    Map<String, Integer> components = new LinkedHashMap<>();
    for (RecordedStackTrace st : stacks) {
      List<RecordedFrame> frames = st.getFrames();
      if (frames.isEmpty()) {
        continue;
      }
      self.merge(name(frames.get(0)), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        String m = name(f);
        if (seen.add(m)) {
          inclusive.merge(m, 1, Integer::sum);
        }
      }
      components.merge(component(frames), 1, Integer::sum);
    }
    System.out.println("-- by component (first matching frame from the top of the stack) --");
    print(components, n, top);
    System.out.println("-- top frames, self --");
    print(self, n, top);
    System.out.println("-- top frames, inclusive (only org.fhirledger, io.micronaut, ca.uhn, io.netty, catalina/coyote, h2) --");
    Map<String, Integer> filtered = new HashMap<>();
    inclusive.forEach((k, v) -> {
      if (k.startsWith("org.fhirledger") || k.startsWith("io.micronaut") || k.startsWith("ca.uhn")
          || k.startsWith("io.netty") || k.startsWith("org.apache.catalina") || k.startsWith("org.apache.coyote")
          || k.startsWith("org.h2.jdbc") || k.startsWith("org.bouncycastle.crypto")) {
        filtered.put(k, v);
      }
    });
    print(filtered, n, top);
    System.out.println();
  }

  private static String component(List<RecordedFrame> frames) {
    for (RecordedFrame f : frames) {
      String m = name(f);
      for (String[] c : COMPONENTS) {
        for (int i = 1; i < c.length; i++) {
          if (m.startsWith(c[i])) {
            // A JDK frame is attributed to the first non-JDK caller when there is one.
            if (c[0].startsWith("JDK")) {
              String caller = firstNonJdk(frames);
              if (caller != null) {
                return component(caller);
              }
            }
            return c[0];
          }
        }
      }
    }
    return "other";
  }

  private static String component(String method) {
    for (String[] c : COMPONENTS) {
      for (int i = 1; i < c.length; i++) {
        if (method.startsWith(c[i])) {
          return c[0];
        }
      }
    }
    return "other: " + method.substring(0, Math.min(method.length(), 60));
  }

  private static String firstNonJdk(List<RecordedFrame> frames) {
    for (RecordedFrame f : frames) {
      String m = name(f);
      if (!(m.startsWith("java.") || m.startsWith("jdk.") || m.startsWith("sun."))) {
        return m;
      }
    }
    return null;
  }

  private static String name(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    return m == null ? "?" : m.getType().getName() + "." + m.getName();
  }

  private static String threadName(RecordedEvent e) {
    for (String field : new String[] {"sampledThread", "eventThread"}) {
      if (e.hasField(field) && e.getThread(field) != null) {
        String n = e.getThread(field).getJavaName();
        return n == null ? "?" : n;
      }
    }
    return "?";
  }

  private static String threadGroup(String thread) {
    return thread.replaceAll("\\d+", "N");
  }

  private static void print(Map<String, Integer> counts, int total, int top) {
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .limit(top)
        .forEach(e -> System.out.printf(Locale.ROOT, "%6.1f%%  %6d  %s%n", 100.0 * e.getValue() / total, e.getValue(),
            e.getKey()));
  }
}
