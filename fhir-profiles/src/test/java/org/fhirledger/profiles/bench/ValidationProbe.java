package org.fhirledger.profiles.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * On-CPU cost of one validation, next to JMH's wall-clock figure: on a shared machine the wall clock includes the
 * time this thread waited for a core, the thread's CPU time does not. Arguments: {@code [warm-up count] [count]}
 * (defaults 2000 and 5000). Same setup as {@link ValidationBenchmark} ({@code -Duscore.tgz=...}).
 */
public final class ValidationProbe {
  private ValidationProbe() {}

  public static void main(String[] args) throws Exception {
    int warmup = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int count = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
    ValidationBenchmark bench = new ValidationBenchmark();
    bench.build();
    for (int i = 0; i < warmup; i++) {
      bench.labObservationAgainstUsCore();
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long cpu0 = threads.getCurrentThreadCpuTime();
    long wall0 = System.nanoTime();
    int issues = 0;
    for (int i = 0; i < count; i++) {
      issues += bench.labObservationAgainstUsCore().size();
    }
    double cpuMs = (threads.getCurrentThreadCpuTime() - cpu0) / 1e6 / count;
    double wallMs = (System.nanoTime() - wall0) / 1e6 / count;
    System.out.printf("validations: %d after %d warm-up; on-CPU %.3f ms/op, wall %.3f ms/op; load average %.2f; "
        + "issues per op %d%n", count, warmup, cpuMs, wallMs,
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), issues / count);
  }
}
