package org.fhirledger.ledger.bench;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs the ledger's JMH benchmarks from the test classpath; arguments are JMH's own (for example
 * {@code AppendBenchmark -t 64}). See ledger-adapter/README.md for the exact command.
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    new Runner(new CommandLineOptions(args)).run();
  }
}
