package org.fhirledger.conformance.bench;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.function.ToLongFunction;
import org.hl7.fhir.r4.model.Bundle;

/**
 * Gateway benchmark: drives the same closed-loop workload first directly against the EHR and then through
 * the gateway, alternating for several rounds, and prints requests/s, p50/p99 latency, CPU per request in each
 * JVM and the gateway/direct throughput ratio per workload (read by id, search with {@code _count=10}, create,
 * and create-provenance: create with the direct client storing the Provenance the gateway stores). See
 * {@code conformance-tests/BENCHMARK.md}.
 *
 * <p>Round order alternates ABBA-style (direct, gateway | gateway, direct | ...), so a slow drift of the
 * machine or of the database (creates make it grow) does not favour either side. A warm-up round per target
 * (JIT, connection pools, caches) is discarded. A round with any error is marked invalid, and so is the
 * comparison.
 */
public final class GatewayBenchmark {

  /** Which way the load generator reaches the EHR. */
  enum Target {
    DIRECT("direct"),
    GATEWAY("gateway");

    final String label;

    Target(String label) {
      this.label = label;
    }

    /** This target's FHIR base: {@code direct} (the EHR's) or {@code gateway}. */
    URI base(URI direct, URI gateway) {
      return this == DIRECT ? direct : gateway;
    }
  }

  private record Measured(int round, Target target, LoadGenerator.Round result, CpuMeter.Usage cpu, String load,
      long provenanceStored) {}

  private final BenchOptions options;
  private final StringBuilder report = new StringBuilder();
  private ServerProcesses servers;

  private GatewayBenchmark(BenchOptions options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      if (!"help".equals(e.getMessage())) {
        System.err.println(e.getMessage());
      }
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    int status = new GatewayBenchmark(options).run();
    System.exit(status);
  }

  private int run() throws Exception {
    Instant started = Instant.now();
    line("# Gateway benchmark, " + started);
    line("");
    line("- machine: " + Runtime.getRuntime().availableProcessors() + " CPUs (" + cpuModel() + "), load average at start "
        + CpuMeter.loadAverage());
    line("- JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    line("- run: " + options.describe());
    line("");
    Path dataDir = options.dataDir != null ? options.dataDir : Files.createTempDirectory("gateway-bench-");
    Files.createDirectories(dataDir);
    ExecutorServiceHolder pool = new ExecutorServiceHolder();
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER)
        .executor(pool.executor)
        .build();
    boolean allValid = true;
    boolean completed = false;
    try {
      URI direct;
      URI gateway;
      if (options.topology == BenchOptions.Topology.EXTERNAL) {
        direct = options.directUrl;
        gateway = options.gatewayUrl;
      } else {
        System.out.println("Starting servers from " + options.gatewayJar + " (data in " + dataDir + ") ...");
        long t0 = System.nanoTime();
        servers = ServerProcesses.start(options, dataDir, http);
        direct = servers.directUrl();
        gateway = servers.gatewayUrl();
        System.out.printf(Locale.ROOT, "Servers up in %.0f s%n", (System.nanoTime() - t0) / 1e9);
      }
      CpuMeter cpu = servers == null
          ? new CpuMeter(java.util.Optional.empty(), java.util.Optional.empty())
          : new CpuMeter(servers.ehrProcess(), servers.gatewayProcess());

      long t0 = System.nanoTime();
      SeedData seed = SeedData.seed(http, direct, options.patients, options.observationsPerPatient);
      System.out.printf(Locale.ROOT, "Seeded %d Patients with %d Observations each, directly into the EHR, in %.1f s%n",
          seed.patientCount(), options.observationsPerPatient, (System.nanoTime() - t0) / 1e9);
      LoadGenerator load = new LoadGenerator(http, seed, options.requestTimeout);
      smokeTest(http, seed, direct, gateway);

      globalWarmup(load, direct, gateway);
      List<String> summary = new ArrayList<>();
      for (Workload workload : options.workloads) {
        allValid &= measure(http, load, cpu, workload, direct, gateway, summary);
      }
      line("## Summary: gateway/direct throughput");
      line("");
      line("| workload | direct req/s | gateway req/s | ratio | target | verdict "
          + "| EHR CPU ms/req direct | EHR CPU ms/req via gateway | gateway CPU ms/req |");
      line("|---|---:|---:|---:|---:|---|---:|---:|---:|");
      summary.forEach(this::line);
      line("");
      if (options.workloads.contains(Workload.CREATE_PROVENANCE)) {
        line("create-provenance is not issue #4's create ratio (that is the `create` workload's): its direct client "
            + "also stores, after every create, the Provenance the gateway stores, so both sides do the work issue "
            + "#4 mandates and its ratio is the gateway's overhead beyond that work."
            + (options.workloads.contains(Workload.CREATE)
                ? " Compare the EHR CPU columns of `create` to see what the Provenance costs the EHR." : ""));
        line("");
      }
      line("finished " + Instant.now() + " (" + Duration.between(started, Instant.now()).toSeconds()
          + " s), load average at end " + CpuMeter.loadAverage());
      if (!allValid) {
        line("");
        line("**INVALID MEASUREMENT: some requests failed (see the error samples above).**");
      }
      completed = true;
    } finally {
      if (servers != null) {
        System.out.println("Stopping servers ...");
        servers.close();
      }
      pool.executor.shutdownNow();
      if (options.report != null) {
        Files.writeString(options.report, report.toString(), StandardCharsets.UTF_8);
        System.out.println("Report written to " + options.report.toAbsolutePath());
      }
      if (options.dataDir == null && !options.keepData && completed && allValid) {
        deleteTree(dataDir);
      } else {
        System.out.println("Server logs and data kept in " + dataDir);
      }
    }
    return allValid ? 0 : 1;
  }

  /** One request of every kind through each target must succeed, and a read must give the same resource. */
  private void smokeTest(HttpClient http, SeedData seed, URI direct, URI gateway) throws Exception {
    SplittableRandom rnd = new SplittableRandom(42);
    for (Workload w : exercisedWorkloads()) {
      for (Target t : Target.values()) {
        URI base = t.base(direct, gateway);
        for (int seq = 0; seq < 2; seq++) {
          var request = w.request(base, seed, seq, rnd, options.requestTimeout);
          HttpResponse<String> r = smokeSend(http, request, t == Target.GATEWAY ? direct : null);
          var next = w.followUp(t, base, r.headers(), options.requestTimeout);
          if (next.isPresent()) {
            smokeSend(http, next.get(), null);
          }
        }
      }
    }
    System.out.println("Smoke test passed: every workload answers 2xx directly and through the gateway");
  }

  /** Sends one smoke-test request; it must answer 2xx and, through the gateway, not name {@code mustNotLeak}. */
  private static HttpResponse<String> smokeSend(HttpClient http, HttpRequest request, URI mustNotLeak)
      throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IllegalStateException("smoke test failed: " + request.method() + " " + request.uri()
          + " -> HTTP " + r.statusCode() + ": " + SeedData.abbreviate(r.body()));
    }
    if (mustNotLeak != null && r.body().contains(mustNotLeak.toString())) {
      throw new IllegalStateException("the gateway leaked the EHR's base URL in " + request.uri());
    }
    return r;
  }

  /**
   * The workloads the smoke test and the global warm-up exercise: read, search and create always (as before
   * create-provenance existed, so runs of one of them stay comparable), plus any other measured one.
   */
  private List<Workload> exercisedWorkloads() {
    LinkedHashSet<Workload> all = new LinkedHashSet<>(List.of(Workload.READ, Workload.SEARCH, Workload.CREATE));
    all.addAll(options.workloads);
    return List.copyOf(all);
  }

  /**
   * A freshly started JVM needs a minute or more on a busy 2-core machine before C2 has compiled the hot
   * paths of HAPI JPA, Hibernate and H2; measured rounds taken before that would charge the JIT to
   * whichever side ran first. Slices of every workload alternate between the gateway and the EHR.
   */
  private void globalWarmup(LoadGenerator load, URI direct, URI gateway) throws InterruptedException {
    if (options.globalWarmup.isZero()) {
      return;
    }
    Duration slice = Duration.ofMillis(Math.max(1000, options.globalWarmup.toMillis() / 12));
    long end = System.nanoTime() + options.globalWarmup.toNanos();
    long errors = 0;
    long requests = 0;
    System.out.println("Global warm-up for " + BenchOptions.seconds(options.globalWarmup) + " s ...");
    outer:
    while (true) {
      for (Workload w : exercisedWorkloads()) {
        for (Target t : List.of(Target.GATEWAY, Target.DIRECT)) {
          if (System.nanoTime() >= end) {
            break outer;
          }
          LoadGenerator.Round r = load.run(t, t.base(direct, gateway), w, options.concurrency, slice,
              options.maxRequestsPerRound);
          requireServersAlive();
          errors += r.errors();
          requests += r.requests();
          r.errorSamples().forEach(e -> System.out.println("    warm-up error: " + e));
        }
      }
    }
    System.out.println("Global warm-up done: " + requests + " requests, " + errors + " errors (discarded)");
  }

  private boolean measure(HttpClient http, LoadGenerator load, CpuMeter cpu, Workload workload, URI direct,
      URI gateway, List<String> summary) throws Exception {
    System.out.println();
    System.out.println("=== " + workload.label + ": " + workload.description + " ===");
    if (!options.warmup.isZero()) {
      for (Target t : Target.values()) {
        LoadGenerator.Round r = load.run(t, t.base(direct, gateway), workload, options.concurrency,
            options.warmup, options.maxRequestsPerRound);
        System.out.printf(Locale.ROOT, "  warm-up %-7s %8.1f req/s  (%d errors; discarded)%n", t.label,
            r.throughput(), r.errors());
      }
    }
    List<Measured> rounds = new ArrayList<>();
    List<String> recordings = startRecordings(workload);
    for (int i = 1; i <= options.rounds; i++) {
      Target[] order = i % 2 == 1
          ? new Target[] {Target.DIRECT, Target.GATEWAY}
          : new Target[] {Target.GATEWAY, Target.DIRECT};
      for (Target t : order) {
        pause();
        requireServersAlive();
        String loadAvg = CpuMeter.loadAverage();
        // Counted outside the CPU window, straight from the EHR.
        long provenanceBefore = workload.storesOneProvenancePerRequest() ? provenanceCount(http, direct) : -1;
        CpuMeter.Snapshot before = cpu.snapshot();
        LoadGenerator.Round r = load.run(t, t.base(direct, gateway), workload, options.concurrency,
            options.roundDuration, options.maxRequestsPerRound);
        CpuMeter.Usage used = CpuMeter.between(before, cpu.snapshot());
        requireServersAlive();
        long stored = provenanceBefore < 0 ? -1 : provenanceCount(http, direct) - provenanceBefore;
        Measured m = new Measured(i, t, r, used, loadAvg, stored);
        rounds.add(m);
        System.out.println("  " + row(m.round + "", m.target.label, List.of(m)));
        for (String e : r.errorSamples()) {
          System.out.println("    error: " + e);
        }
        if (stored >= 0 && stored != r.requests()) {
          System.out.println("    error: the EHR stored " + stored + " Provenance for " + r.requests() + " creates");
        }
      }
    }
    stopRecordings(recordings, workload);
    line("## " + workload.label + ": " + workload.description);
    line("");
    line("concurrency " + options.concurrency + ", " + options.rounds + " rounds x "
        + BenchOptions.seconds(options.roundDuration) + " s per target (ABBA order), warm-up discarded");
    line("");
    long provenanceMismatches = 0;
    if (workload.storesOneProvenancePerRequest()) {
      long directCreates = sum(rounds, Target.DIRECT, m -> m.result.requests());
      long gatewayCreates = sum(rounds, Target.GATEWAY, m -> m.result.requests());
      long directStored = sum(rounds, Target.DIRECT, Measured::provenanceStored);
      long gatewayStored = sum(rounds, Target.GATEWAY, Measured::provenanceStored);
      provenanceMismatches = rounds.stream().filter(m -> m.provenanceStored != m.result.requests()).count();
      line("**Not issue #4's create ratio** (that is the `create` workload's). One request here is one create "
          + "together with its Provenance: directly, the load generator sends the create and then POST Provenance "
          + "of the version created (the gateway's shape, `Prefer: return=minimal`), and the latency and CPU "
          + "columns cover both; through the gateway it sends only the create, and the gateway stores the "
          + "Provenance. The ratio is the gateway's overhead beyond the work issue #4 mandates.");
      line("");
      line(String.format(Locale.ROOT, "Provenance stored in the EHR during the measured rounds (counted with "
              + "`GET Provenance?_summary=count`): direct %d for %d creates, gateway %d for %d creates%s",
          directStored, directCreates, gatewayStored, gatewayCreates,
          provenanceMismatches == 0 ? " (one per create)." : ": **NOT one per create in "
              + provenanceMismatches + " round(s)**."));
      line("");
    }
    line("| round | target | req/s | p50 ms | p99 ms | requests | errors | CPU ms/req EHR | gateway | load gen | other load (cores) | load avg 1m |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Measured m : rounds) {
      line(row(Integer.toString(m.round), m.target.label, List.of(m)));
    }
    List<Measured> d = rounds.stream().filter(m -> m.target == Target.DIRECT).toList();
    List<Measured> g = rounds.stream().filter(m -> m.target == Target.GATEWAY).toList();
    line(row("**all**", "direct", d));
    line(row("**all**", "gateway", g));
    line("");
    double dMean = meanThroughput(d);
    double gMean = meanThroughput(g);
    double ratio = gMean / dMean;
    List<String> pairRatios = new ArrayList<>();
    double minPair = Double.MAX_VALUE;
    double maxPair = 0;
    for (int i = 0; i < d.size(); i++) {
      double pr = g.get(i).result.throughput() / d.get(i).result.throughput();
      pairRatios.add(String.format(Locale.ROOT, "%.2f", pr));
      minPair = Math.min(minPair, pr);
      maxPair = Math.max(maxPair, pr);
    }
    long errors = rounds.stream().mapToLong(m -> m.result.errors()).sum();
    boolean valid = errors == 0 && provenanceMismatches == 0;
    String verdict = errors > 0 ? "INVALID (" + errors + " errors)"
        : provenanceMismatches > 0 ? "INVALID (not one Provenance per create)"
        : !workload.hasTarget() ? "no target (gateway overhead beyond issue #4's work)"
        : ratio >= workload.target ? "meets target" : "MISSES target";
    String target = workload.hasTarget() ? String.format(Locale.ROOT, "%.2f", workload.target) : "none";
    line(String.format(Locale.ROOT,
        "gateway/direct throughput%s: **%.2f** (per round %s; min %.2f, max %.2f); %s; "
            + "p50 %+.1f ms, p99 %+.1f ms through the gateway",
        workload.hasTarget() ? "" : " (" + workload.label + ", not issue #4's)", ratio, String.join(" ", pairRatios),
        minPair, maxPair, workload.hasTarget() ? "target >= " + target + ": " + verdict
            : valid ? verdict : "no target: " + verdict,
        pooledPercentile(g, 0.50) - pooledPercentile(d, 0.50), pooledPercentile(g, 0.99) - pooledPercentile(d, 0.99)));
    line("");
    String label = workload.hasTarget() ? workload.label
        : workload.label + " (direct stores the Provenance too; not issue #4's ratio)";
    summary.add(String.format(Locale.ROOT, "| %s | %.1f | %.1f | **%.2f** | %s | %s | %s | %s | %s |",
        label, dMean, gMean, ratio, target, verdict, cpuPerRequest(d, CpuMeter.Usage::ehrCpu),
        cpuPerRequest(g, CpuMeter.Usage::ehrCpu), cpuPerRequest(g, CpuMeter.Usage::gatewayCpu)));
    return valid;
  }

  private static long sum(List<Measured> rounds, Target target, ToLongFunction<Measured> f) {
    return rounds.stream().filter(m -> m.target == target).mapToLong(f).sum();
  }

  /**
   * How many Provenance resources the EHR holds. {@code Cache-Control: no-cache}: HAPI JPA by default answers a
   * repeated search from its result cache for up to a minute (the sandbox EHR turns that off; an external EHR
   * may not).
   */
  private long provenanceCount(HttpClient http, URI ehr) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ehr + "/Provenance?_summary=count"))
        .timeout(options.requestTimeout)
        .header("Accept", Workload.FHIR_JSON)
        .header("Cache-Control", "no-cache")
        .GET().build(),
        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (r.statusCode() != 200) {
      throw new IOException("counting Provenance failed: HTTP " + r.statusCode() + ": "
          + SeedData.abbreviate(r.body()));
    }
    return FhirContext.forR4Cached().newJsonParser().parseResource(Bundle.class, r.body()).getTotal();
  }

  /** Starts a JFR recording named after the workload in each server JVM, when --jfr-dir is set. */
  private List<String> startRecordings(Workload workload) throws IOException, InterruptedException {
    List<String> started = new ArrayList<>();
    if (options.jfrDir == null || servers == null) {
      return started;
    }
    Files.createDirectories(options.jfrDir);
    for (var p : List.of(java.util.Map.entry("gateway", servers.gatewayProcess()), java.util.Map.entry("ehr", servers.ehrProcess()))) {
      if (p.getValue().isEmpty()) {
        continue;
      }
      String pid = Long.toString(p.getValue().get().pid());
      Path file = options.jfrDir.resolve(p.getKey() + "-" + workload.label + ".jfr");
      List<String> args = new ArrayList<>(List.of(pid, "JFR.start", "name=bench-" + workload.label,
          "settings=profile", "filename=" + file));
      args.addAll(options.jfrOptions);
      jcmd(args.toArray(String[]::new));
      started.add(pid);
      System.out.println("  JFR recording " + file);
    }
    return started;
  }

  private static void stopRecordings(List<String> pids, Workload workload) throws IOException, InterruptedException {
    for (String pid : pids) {
      jcmd(pid, "JFR.stop", "name=bench-" + workload.label);
    }
  }

  private static void jcmd(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
      System.out.println("  jcmd " + String.join(" ", args) + " failed: " + out.trim());
    }
  }

  private void requireServersAlive() {
    if (servers != null) {
      servers.requireAlive();
    }
  }

  private static String row(String round, String target, List<Measured> ms) {
    double reqs = meanThroughput(ms);
    long requests = ms.stream().mapToLong(m -> m.result.requests()).sum();
    long errors = ms.stream().mapToLong(m -> m.result.errors()).sum();
    return String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.1f | %d | %d | %s | %s | %s | %s | %s |",
        round, target, reqs, pooledPercentile(ms, 0.50), pooledPercentile(ms, 0.99), requests, errors,
        cpuPerRequest(ms, CpuMeter.Usage::ehrCpu), cpuPerRequest(ms, CpuMeter.Usage::gatewayCpu),
        cpuPerRequest(ms, CpuMeter.Usage::selfCpu), foreign(ms), ms.size() == 1 ? ms.get(0).load.split(" ")[0] : "");
  }

  private static double meanThroughput(List<Measured> ms) {
    return ms.stream().mapToDouble(m -> m.result.throughput()).average().orElse(Double.NaN);
  }

  private static double pooledPercentile(List<Measured> ms, double p) {
    long[] all = ms.stream().flatMapToLong(m -> java.util.Arrays.stream(m.result.sortedLatenciesNanos())).sorted().toArray();
    return LoadGenerator.Round.percentileMillis(all, p);
  }

  private static String cpuPerRequest(List<Measured> ms, java.util.function.ToLongFunction<CpuMeter.Usage> f) {
    long cpu = 0;
    long requests = 0;
    for (Measured m : ms) {
      long c = f.applyAsLong(m.cpu);
      if (c < 0) {
        return "";
      }
      cpu += c;
      requests += m.result.requests() + m.result.errors();
    }
    return requests == 0 ? "" : String.format(Locale.ROOT, "%.2f", cpu / 1e6 / requests);
  }

  private static String foreign(List<Measured> ms) {
    double sum = 0;
    for (Measured m : ms) {
      double f = m.cpu.foreignCores();
      if (Double.isNaN(f)) {
        return "";
      }
      sum += f;
    }
    return String.format(Locale.ROOT, "%.2f", sum / ms.size());
  }

  private static void pause() throws InterruptedException {
    Thread.sleep(1000); // let the previous round's connections and garbage settle
  }

  private void line(String s) {
    System.out.println(s);
    report.append(s).append('\n');
  }

  private static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }

  private static void deleteTree(Path root) {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      System.err.println("could not delete " + root + ": " + e);
    }
  }

  /** The HTTP client's own executor: a small daemon pool, so it never keeps the JVM alive. */
  private static final class ExecutorServiceHolder {
    final java.util.concurrent.ExecutorService executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "bench-http");
      t.setDaemon(true);
      return t;
    });
  }
}
