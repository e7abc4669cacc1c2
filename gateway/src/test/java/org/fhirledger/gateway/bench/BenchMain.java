package org.fhirledger.gateway.bench;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs the gateway's JMH benchmarks from the test classpath; arguments are JMH's own (for example
 * {@code ConsentBenchmark -f 1}). See the consent section of the repository README for the command.
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    new Runner(new CommandLineOptions(args)).run();
  }
}
