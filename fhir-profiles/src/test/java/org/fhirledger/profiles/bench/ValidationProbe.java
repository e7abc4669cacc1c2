package org.fhirledger.profiles.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;

/**
 * On-CPU cost of one validation, next to JMH's wall-clock figure: on a shared machine the wall clock includes the
 * time this thread waited for a core, the thread's CPU time does not. Prints the figures for each tenth of the run
 * and the heap in use after a full GC, so that a cost or a heap that grows with use shows (fhir-profiles/README.md).
 * Arguments: {@code [warm-up count] [count]} (defaults 2000 and 5000). Same setup as {@link ValidationBenchmark}
 * ({@code -Duscore.tgz=...}).
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
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    int block = Math.max(1, count / 10);
    long cpuTotal = 0;
    long wallTotal = 0;
    int issues = 0;
    for (int done = 0; done < count; ) {
      int n = Math.min(block, count - done);
      long cpu0 = threads.getCurrentThreadCpuTime();
      long wall0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        issues += bench.labObservationAgainstUsCore().size();
      }
      long cpu = threads.getCurrentThreadCpuTime() - cpu0;
      long wall = System.nanoTime() - wall0;
      cpuTotal += cpu;
      wallTotal += wall;
      done += n;
      System.gc();
      System.out.printf("after %6d: on-CPU %.3f ms/op, wall %.3f ms/op, heap after GC %d MB%n", warmup + done,
          cpu / 1e6 / n, wall / 1e6 / n, memory.getHeapMemoryUsage().getUsed() >> 20);
    }
    System.out.printf("validations: %d after %d warm-up; on-CPU %.3f ms/op, wall %.3f ms/op; load average %.2f; "
        + "issues per op %d%n", count, warmup, cpuTotal / 1e6 / count, wallTotal / 1e6 / count,
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), issues / count);
  }
}
