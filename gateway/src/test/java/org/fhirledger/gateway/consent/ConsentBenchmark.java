package org.fhirledger.gateway.consent;

import static org.fhirledger.gateway.consent.ConsentFixtures.FHIR;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Observation;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Consent decisions with 10,000 patients and 50,000 Consents indexed (5 per patient, 2–3 levels of provisions each),
 * and the in-memory rebuild of such an index. Target: at most 20 µs per resource.
 *
 * <ul>
 *   <li>{@code decideAndCheckOneResource}: a full decision plus the filter on one resource — the cost per resource
 *       when every resource needs its own decision (a read by id, or a search whose results are all different
 *       patients);
 *   <li>{@code decide}: the decision alone (once per patient per request);
 *   <li>{@code checkResource}: the filter of an existing decision on one more resource (search results of one patient);
 *   <li>{@code rebuildFromParsedConsents}: compiling and indexing all 50,000 parsed Consents ({@link ConsentIndex#load}).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
public class ConsentBenchmark {

  static final int PATIENTS = 10_000;
  static final int PER_PATIENT = 5;
  static final int MASK = 4095;

  List<Consent> consents;
  IndexedConsentService service;
  ConsentRequest[] requests;
  Observation[] resources;
  ConsentDecision[] decisions;
  int next;

  @Setup(Level.Trial)
  public void setUp() {
    consents = ConsentPopulation.consents(PATIENTS, PER_PATIENT);
    ConsentIndex index = new ConsentIndex(FHIR, null, 100);
    index.load(consents);
    service = new IndexedConsentService(index, new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, false),
        Clock.fixed(Instant.parse("2026-03-15T12:00:00Z"), ZoneOffset.UTC), FHIR);
    requests = ConsentPopulation.requests(PATIENTS, MASK + 1).toArray(ConsentRequest[]::new);
    resources = ConsentPopulation.observations(MASK + 1).toArray(Observation[]::new);
    List<ConsentDecision> ds = new ArrayList<>();
    int filters = 0;
    for (ConsentRequest r : requests) {
      ConsentDecision d = service.decide(r);
      ds.add(d);
      filters += d.outcome() == ConsentDecision.Outcome.FILTER ? 1 : 0;
    }
    decisions = ds.toArray(ConsentDecision[]::new);
    System.out.printf("%nindexed %d Consents of %d patients; %d of %d sample decisions are filters%n",
        index.size(), index.patientCount(), filters, requests.length);
  }

  @Benchmark
  public boolean decideAndCheckOneResource() {
    int i = next++ & MASK;
    return service.decide(requests[i]).allows(resources[i]);
  }

  @Benchmark
  public ConsentDecision decide() {
    return service.decide(requests[next++ & MASK]);
  }

  @Benchmark
  public boolean checkResource() {
    int i = next++ & MASK;
    return decisions[i].allows(resources[i]);
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 3)
  @Measurement(iterations = 5)
  public ConsentIndex rebuildFromParsedConsents() {
    ConsentIndex index = new ConsentIndex(FHIR, null, 100);
    index.load(consents);
    return index;
  }
}
