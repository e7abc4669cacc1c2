package org.fhirledger.profiles.bench;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs the validation benchmark from the test classpath; arguments are JMH's own. See fhir-profiles/README.md for
 * the exact command.
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    new Runner(new CommandLineOptions(args)).run();
  }
}
