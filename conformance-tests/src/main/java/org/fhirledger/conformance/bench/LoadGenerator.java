package org.fhirledger.conformance.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop load generator: N platform threads, each sending its next request as soon as the previous
 * one is answered, over one shared HTTP/1.1 keep-alive {@link HttpClient}. Every request's latency is
 * recorded (System.nanoTime around the blocking send, body fully read); percentiles are exact (sorted
 * samples). A round stops at its deadline or after {@code maxRequests}, whichever comes first; any non-2xx
 * answer or exception counts as an error.
 *
 * <p>A "request" here is one iteration of the workload: its {@link Workload#request} and, if the workload has
 * one for the target, its {@link Workload#followUp}, timed and counted together.
 */
final class LoadGenerator {

  private final HttpClient http;
  private final SeedData seed;
  private final Duration requestTimeout;

  LoadGenerator(HttpClient http, SeedData seed, Duration requestTimeout) {
    this.http = http;
    this.seed = seed;
    this.requestTimeout = requestTimeout;
  }

  /** The outcome of one round against one target. */
  record Round(long[] sortedLatenciesNanos, long errors, List<String> errorSamples, long elapsedNanos) {
    long requests() {
      return sortedLatenciesNanos.length;
    }

    double throughput() {
      return sortedLatenciesNanos.length / (elapsedNanos / 1e9);
    }

    double percentileMillis(double p) {
      return percentileMillis(sortedLatenciesNanos, p);
    }

    static double percentileMillis(long[] sorted, double p) {
      if (sorted.length == 0) {
        return Double.NaN;
      }
      // Nearest-rank: the smallest sample with at least p of the samples at or below it.
      int rank = (int) Math.ceil(p * sorted.length);
      return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
    }
  }

  Round run(GatewayBenchmark.Target target, URI base, Workload workload, int concurrency, Duration duration,
      long maxRequests) throws InterruptedException {
    CountDownLatch go = new CountDownLatch(1);
    AtomicLong budget = new AtomicLong(maxRequests);
    AtomicLong errors = new AtomicLong();
    List<String> errorSamples = Collections.synchronizedList(new ArrayList<>());
    Worker[] workers = new Worker[concurrency];
    Thread[] threads = new Thread[concurrency];
    long seedBase = System.nanoTime();
    for (int i = 0; i < concurrency; i++) {
      workers[i] = new Worker(target, base, workload, go, budget, errors, errorSamples,
          new SplittableRandom(seedBase + i));
      threads[i] = Thread.ofPlatform().name("bench-" + workload.label + "-" + i).daemon().unstarted(workers[i]);
      threads[i].start();
    }
    long start = System.nanoTime();
    long deadline = start + duration.toNanos();
    for (Worker w : workers) {
      w.deadline = deadline;
    }
    go.countDown();
    for (Thread t : threads) {
      // A worker stops at the deadline plus at most one request timeout.
      t.join(duration.plus(requestTimeout).plusSeconds(5).toMillis());
      if (t.isAlive()) {
        throw new IllegalStateException("a load worker did not stop: " + t.getName());
      }
    }
    long elapsed = System.nanoTime() - start;
    int total = 0;
    for (Worker w : workers) {
      total += w.count;
    }
    long[] all = new long[total];
    int at = 0;
    for (Worker w : workers) {
      System.arraycopy(w.samples, 0, all, at, w.count);
      at += w.count;
    }
    Arrays.sort(all);
    return new Round(all, errors.get(), List.copyOf(errorSamples), elapsed);
  }

  private final class Worker implements Runnable {
    private final GatewayBenchmark.Target target;
    private final URI base;
    private final Workload workload;
    private final CountDownLatch go;
    private final AtomicLong budget;
    private final AtomicLong errors;
    private final List<String> errorSamples;
    private final SplittableRandom rnd;
    volatile long deadline;
    long[] samples = new long[4096];
    int count;

    Worker(GatewayBenchmark.Target target, URI base, Workload workload, CountDownLatch go, AtomicLong budget,
        AtomicLong errors, List<String> errorSamples, SplittableRandom rnd) {
      this.target = target;
      this.base = base;
      this.workload = workload;
      this.go = go;
      this.budget = budget;
      this.errors = errors;
      this.errorSamples = errorSamples;
      this.rnd = rnd;
    }

    @Override
    public void run() {
      try {
        go.await();
      } catch (InterruptedException e) {
        return;
      }
      long seq = rnd.nextInt(2);
      while (System.nanoTime() < deadline && budget.getAndDecrement() > 0) {
        HttpRequest request = workload.request(base, seed, seq++, rnd, requestTimeout);
        long t0 = System.nanoTime();
        try {
          HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
          if (response.statusCode() / 100 == 2) {
            Optional<HttpRequest> next = workload.followUp(target, base, response.headers(), requestTimeout);
            if (next.isPresent()) {
              request = next.get();
              response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            }
          }
          long t = System.nanoTime() - t0;
          int status = response.statusCode();
          if (status / 100 == 2) {
            record(t);
          } else {
            error(request.method() + " " + request.uri() + " -> HTTP " + status + ": "
                + SeedData.abbreviate(new String(response.body(), java.nio.charset.StandardCharsets.UTF_8)));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (Exception e) {
          error(request.method() + " " + request.uri() + " -> " + e);
        }
      }
    }

    private void record(long nanos) {
      if (count == samples.length) {
        samples = Arrays.copyOf(samples, samples.length * 2);
      }
      samples[count++] = nanos;
    }

    private void error(String what) {
      if (errors.incrementAndGet() <= 5) {
        errorSamples.add(what);
      }
    }
  }
}
