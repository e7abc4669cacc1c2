package org.fhirledger.conformance;

import java.util.ArrayDeque;
import java.util.Deque;
import org.fhirledger.gateway.sandbox.SandboxEhr;

/**
 * The gateways under test, each started once per JVM on first use and shared by all test classes;
 * a JVM shutdown hook stops them (gateways first, then the EHRs behind them).
 */
public final class Environments {

  private static final Deque<AutoCloseable> OPEN = new ArrayDeque<>();
  private static Target sandbox;
  private static Target remote;

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(Environments::closeAll, "conformance-environments-shutdown"));
  }

  private Environments() {}

  /** The gateway with its embedded sandbox EHR (no {@code gateway.upstream.base-url}). */
  public static synchronized Target sandbox() {
    if (sandbox == null) {
      RunningGateway gw = RunningGateway.start(RunningGateway.newDataDir("gw-sandbox"));
      OPEN.push(gw);
      sandbox = new Target("embedded sandbox EHR", gw.baseUrl(), gw.bean(SandboxEhr.class).baseUrl());
    }
    return sandbox;
  }

  /** A gateway configured with {@code gateway.upstream.base-url} of a separately started HAPI JPA server. */
  public static synchronized Target remote() {
    if (remote == null) {
      SandboxEhr ehr = SandboxEhr.start(RunningGateway.newDataDir("remote-ehr"));
      OPEN.push(ehr);
      RunningGateway gw = RunningGateway.start(RunningGateway.newDataDir("gw-remote"),
          "gateway.upstream.base-url=" + ehr.baseUrl());
      OPEN.push(gw);
      if (gw.hasBean(SandboxEhr.class)) {
        throw new IllegalStateException("a gateway with gateway.upstream.base-url set started an embedded sandbox EHR");
      }
      remote = new Target("remote EHR", gw.baseUrl(), ehr.baseUrl());
    }
    return remote;
  }

  /** Registers something to be closed at JVM exit (after what is registered later). */
  public static synchronized void closeAtExit(AutoCloseable c) {
    OPEN.push(c);
  }

  private static synchronized void closeAll() {
    while (!OPEN.isEmpty()) {
      try {
        OPEN.pop().close();
      } catch (Exception e) {
        System.err.println("conformance: could not close a test environment: " + e);
      }
    }
  }
}
