package org.fhirledger.conformance.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * CPU time spent by each process of the benchmark (EHR JVM, gateway JVM, this load generator) and by the
 * whole machine, so a round can say how much CPU each request cost where, and how much CPU other work on the
 * machine took meanwhile (the "foreign" load that makes figures on a shared machine noisy). Linux only for
 * the machine-wide part (/proc/stat); elsewhere that column is blank.
 */
final class CpuMeter {

  private static final long NANOS_PER_JIFFY = 10_000_000L; // USER_HZ = 100 on Linux

  private final Optional<ProcessHandle> ehr;
  private final Optional<ProcessHandle> gateway;

  CpuMeter(Optional<ProcessHandle> ehr, Optional<ProcessHandle> gateway) {
    this.ehr = ehr;
    this.gateway = gateway;
  }

  record Snapshot(long wallNanos, long ehrCpu, long gatewayCpu, long selfCpu, long machineBusy) {}

  /** CPU used between two snapshots, in nanoseconds; -1 where unknown. */
  record Usage(long wallNanos, long ehrCpu, long gatewayCpu, long selfCpu, long machineBusy) {
    /** Cores' worth of CPU used by processes other than the three of the benchmark, or NaN. */
    double foreignCores() {
      if (machineBusy < 0) {
        return Double.NaN;
      }
      long ours = Math.max(0, ehrCpu) + Math.max(0, gatewayCpu) + Math.max(0, selfCpu);
      return Math.max(0, machineBusy - ours) / (double) wallNanos;
    }
  }

  Snapshot snapshot() {
    return new Snapshot(System.nanoTime(), cpu(ehr), cpu(gateway), cpu(Optional.of(ProcessHandle.current())),
        machineBusy());
  }

  static Usage between(Snapshot a, Snapshot b) {
    return new Usage(b.wallNanos - a.wallNanos, diff(a.ehrCpu, b.ehrCpu), diff(a.gatewayCpu, b.gatewayCpu),
        diff(a.selfCpu, b.selfCpu), diff(a.machineBusy, b.machineBusy));
  }

  private static long diff(long a, long b) {
    return a < 0 || b < 0 ? -1 : b - a;
  }

  private static long cpu(Optional<ProcessHandle> p) {
    return p.flatMap(h -> h.info().totalCpuDuration()).map(Duration::toNanos).orElse(-1L);
  }

  private static long machineBusy() {
    try {
      String first = Files.readAllLines(Path.of("/proc/stat")).get(0); // cpu user nice system idle iowait irq softirq steal
      String[] f = first.trim().split("\\s+");
      long busy = 0;
      for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
        busy += Long.parseLong(f[i]);
      }
      return busy * NANOS_PER_JIFFY;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }
}
