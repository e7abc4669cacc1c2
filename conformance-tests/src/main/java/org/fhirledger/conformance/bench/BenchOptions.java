package org.fhirledger.conformance.bench;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Command-line flags of {@link GatewayBenchmark}: {@code --name=value} or {@code --name value}. */
final class BenchOptions {

  /** Where the servers under test come from. */
  enum Topology {
    /** Three JVMs: the sandbox EHR alone, the gateway pointed at it, and this load generator. */
    SPLIT,
    /** Two JVMs: the gateway with its embedded sandbox EHR (the default deployment), and this load generator. */
    EMBEDDED,
    /** Servers already running: {@code --direct-url} and {@code --gateway-url}. */
    EXTERNAL
  }

  int concurrency = 24;
  Duration roundDuration = Duration.ofSeconds(20);
  int rounds = 5;
  Duration warmup = Duration.ofSeconds(15);
  /** Before any measurement: every workload through the gateway (which warms the EHR as well) and directly. */
  Duration globalWarmup = Duration.ofSeconds(90);
  List<Workload> workloads = List.of(Workload.READ, Workload.SEARCH, Workload.CREATE, Workload.CREATE_PROVENANCE);
  Topology topology = Topology.SPLIT;
  URI directUrl;
  URI gatewayUrl;
  Path gatewayJar;
  List<String> ehrJvmArgs = List.of("-Xms512m", "-Xmx2g");
  List<String> gatewayJvmArgs = List.of("-Xms512m", "-Xmx2g");
  int patients = 200;
  int observationsPerPatient = 3;
  /** Upper bound on requests per measured round, so a round stops even if the servers answer absurdly fast. */
  long maxRequestsPerRound = 2_000_000;
  Duration requestTimeout = Duration.ofSeconds(30);
  Duration startupTimeout = Duration.ofMinutes(5);
  Path dataDir;
  boolean keepData;
  Path report;
  /** When set, each workload's measured rounds are recorded with JFR in both server JVMs (via jcmd). */
  Path jfrDir;
  /** Extra JFR.start options, e.g. jdk.CPUTimeSample#enabled=true (JDK 25+, Linux: samples native frames too). */
  List<String> jfrOptions = List.of();

  static final String USAGE = """
      usage: GatewayBenchmark [options]
        --concurrency=N            closed-loop workers (default 24)
        --round-seconds=S          length of one measured round (default 20)
        --rounds=N                 measured rounds per target and workload (default 5)
        --warmup-seconds=S         discarded warm-up per target and workload (default 15; 0 = none)
        --global-warmup-seconds=S  before measuring anything, all workloads alternately through the gateway
                                   and directly, so both JVMs are JIT-compiled (default 90; 0 = none)
        --workloads=LIST           comma list of read,search,create,create-provenance (default all four, in
                                   that order). create-provenance: the creates of create, where the direct
                                   client also POSTs the Provenance the gateway stores; its ratio is the
                                   gateway's overhead beyond issue #4's work, not issue #4's create ratio
        --topology=T               split (default: EHR JVM + gateway JVM), embedded (gateway JVM with its
                                   sandbox inside) or external (--direct-url and --gateway-url)
        --direct-url=URL           the EHR's FHIR base (external topology)
        --gateway-url=URL          the gateway's FHIR base (external topology)
        --gateway-jar=PATH         gateway/target/gateway-exec.jar (found automatically from the repo root
                                   or conformance-tests/; or -Dbench.gatewayJar)
        --ehr-jvm-args="..."       JVM flags of the EHR JVM (default "-Xms512m -Xmx2g")
        --gateway-jvm-args="..."   JVM flags of the gateway JVM (default "-Xms512m -Xmx2g"); e.g. add
                                   -XX:StartFlightRecording=filename=gw.jfr,settings=profile to profile it
        --patients=N               seeded Patients (default 200)
        --observations=N           seeded Observations per Patient (default 3)
        --max-requests=N           cap on requests per round (default 2000000)
        --startup-timeout-seconds=S  how long both servers may take to start (default 300; more on a
                                   machine overloaded by other builds)
        --data-dir=DIR             where the servers keep their databases (default: a temp dir, deleted)
        --keep-data                do not delete the data dir at the end
        --report=FILE              also write the result tables (Markdown) to FILE
        --jfr-dir=DIR              profile: record each workload's measured rounds with JFR (settings=profile)
                                   in the gateway and EHR JVMs, to DIR/{gateway,ehr}-WORKLOAD.jfr; summarise
                                   with JfrHotspots. JFR costs a little CPU: do not quote such a run's figures
        --jfr-options="..."        extra JFR.start options, e.g. "jdk.CPUTimeSample#enabled=true" (JDK 25+)
      quick run: --round-seconds=5 --rounds=3 --warmup-seconds=3 --global-warmup-seconds=20
      """;

  static BenchOptions parse(String[] rawArgs) {
    // Maven's exec plugin passes ${bench.args} as one argument: split on whitespace.
    List<String> args = new ArrayList<>();
    for (String a : rawArgs) {
      for (String part : a.trim().split("\\s+(?=--)")) {
        if (!part.isBlank()) {
          args.add(part.trim());
        }
      }
    }
    Map<String, String> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument: " + a);
      }
      int eq = a.indexOf('=');
      if (eq > 0) {
        flags.put(a.substring(2, eq), a.substring(eq + 1));
      } else if (a.equals("--keep-data") || a.equals("--help")) {
        flags.put(a.substring(2), "true");
      } else if (i + 1 < args.size()) {
        flags.put(a.substring(2), args.get(++i));
      } else {
        throw new IllegalArgumentException("missing value for " + a);
      }
    }
    BenchOptions o = new BenchOptions();
    for (Map.Entry<String, String> f : flags.entrySet()) {
      String v = unquote(f.getValue());
      switch (f.getKey()) {
        case "help" -> throw new IllegalArgumentException("help");
        case "concurrency" -> o.concurrency = positive(f.getKey(), Integer.parseInt(v));
        case "round-seconds" -> o.roundDuration = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
        case "rounds" -> o.rounds = positive(f.getKey(), Integer.parseInt(v));
        case "warmup-seconds" -> o.warmup = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
        case "global-warmup-seconds" ->
            o.globalWarmup = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
        case "workloads" -> {
          List<Workload> w = new ArrayList<>();
          for (String name : v.split(",")) {
            w.add(Workload.byLabel(name.trim().toLowerCase(Locale.ROOT)));
          }
          o.workloads = List.copyOf(w);
        }
        case "topology" -> o.topology = Topology.valueOf(v.toUpperCase(Locale.ROOT));
        case "direct-url" -> o.directUrl = URI.create(stripSlash(v));
        case "gateway-url" -> o.gatewayUrl = URI.create(stripSlash(v));
        case "gateway-jar" -> o.gatewayJar = Path.of(v);
        case "ehr-jvm-args" -> o.ehrJvmArgs = splitArgs(v);
        case "gateway-jvm-args" -> o.gatewayJvmArgs = splitArgs(v);
        case "patients" -> o.patients = positive(f.getKey(), Integer.parseInt(v));
        case "observations" -> o.observationsPerPatient = Integer.parseInt(v);
        case "max-requests" -> o.maxRequestsPerRound = Long.parseLong(v);
        case "startup-timeout-seconds" ->
            o.startupTimeout = Duration.ofSeconds(positive(f.getKey(), Integer.parseInt(v)));
        case "data-dir" -> o.dataDir = Path.of(v);
        case "keep-data" -> o.keepData = Boolean.parseBoolean(v);
        case "report" -> o.report = Path.of(v);
        case "jfr-dir" -> o.jfrDir = Path.of(v).toAbsolutePath();
        case "jfr-options" -> o.jfrOptions = splitArgs(v);
        default -> throw new IllegalArgumentException("unknown option --" + f.getKey());
      }
    }
    if (o.roundDuration.isZero() || o.roundDuration.isNegative()) {
      throw new IllegalArgumentException("--round-seconds must be positive");
    }
    if (o.topology == Topology.EXTERNAL && (o.directUrl == null || o.gatewayUrl == null)) {
      throw new IllegalArgumentException("--topology=external needs --direct-url and --gateway-url");
    }
    if (o.topology != Topology.EXTERNAL) {
      o.gatewayJar = locateGatewayJar(o.gatewayJar);
    }
    if (!o.directUrl_isLoopback() || !o.gatewayUrl_isLoopback()) {
      throw new IllegalArgumentException("this harness only drives loopback servers (127.0.0.1 / localhost)");
    }
    return o;
  }

  private boolean directUrl_isLoopback() {
    return directUrl == null || isLoopback(directUrl);
  }

  private boolean gatewayUrl_isLoopback() {
    return gatewayUrl == null || isLoopback(gatewayUrl);
  }

  static boolean isLoopback(URI uri) {
    String host = uri.getHost();
    return host != null && (host.equals("127.0.0.1") || host.equals("localhost") || host.equals("[::1]"));
  }

  private static Path locateGatewayJar(Path given) {
    List<Path> candidates = new ArrayList<>();
    if (given != null) {
      candidates.add(given);
    } else {
      String prop = System.getProperty("bench.gatewayJar");
      if (prop != null && !prop.isBlank()) {
        candidates.add(Path.of(prop));
      }
      candidates.add(Path.of("gateway/target/gateway-exec.jar"));
      candidates.add(Path.of("../gateway/target/gateway-exec.jar"));
    }
    for (Path p : candidates) {
      if (Files.isRegularFile(p)) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new IllegalArgumentException("gateway-exec.jar not found (tried " + candidates
        + "): build it with ./mvnw -pl conformance-tests -am package -DskipTests, or pass --gateway-jar");
  }

  private static int positive(String name, int v) {
    if (v < 1) {
      throw new IllegalArgumentException("--" + name + " must be at least 1");
    }
    return v;
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }

  private static List<String> splitArgs(String v) {
    List<String> out = new ArrayList<>();
    for (String s : v.trim().split("\\s+")) {
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return List.copyOf(out);
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  String describe() {
    return "concurrency " + concurrency + ", " + rounds + " rounds x " + seconds(roundDuration)
        + " s per target, warm-up " + seconds(globalWarmup) + " s overall + " + seconds(warmup)
        + " s per target and workload, topology " + topology.name().toLowerCase(Locale.ROOT)
        + ", seed " + patients + " Patients x " + observationsPerPatient + " Observations";
  }

  static String seconds(Duration d) {
    double s = d.toMillis() / 1000.0;
    return s == Math.rint(s) ? Long.toString((long) s) : Double.toString(s);
  }
}
