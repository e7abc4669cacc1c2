package org.fhirledger.gateway.sandbox;

import org.slf4j.LoggerFactory;

/**
 * Keeps the sandbox EHR quiet: HAPI JPA, Hibernate, Quartz and the HL7 validator log at WARN unless the
 * application has configured a level for that logger explicitly (e.g. {@code logging.level.org.hibernate}).
 * No request or resource content is logged by the sandbox itself (no HAPI LoggingInterceptor, no SQL logging).
 */
final class SandboxLogging {

  private static final String[] NOISY = {
    "ca.uhn.fhir.jpa",
    "ca.uhn.fhir.batch2",
    "ca.uhn.fhir.context",
    "ca.uhn.fhir.util",
    "ca.uhn.fhir.validation",
    "ca.uhn.fhir.cr",
    "ca.uhn.fhir.mdm",
    "ca.uhn.fhir.log",
    "ca.uhn.fhir.rest.server.RestfulServer",
    "ca.uhn.fhir.rest.server.interceptor.ExceptionHandlingInterceptor",
    "ca.uhn.fhir.rest.server.method",
    "org.hl7.fhir",
    "org.hibernate",
    "org.quartz",
    "org.springframework.orm.jpa",
    "org.springframework.data",
    "org.springframework.scheduling.quartz",
  };

  private SandboxLogging() {}

  static void quietDefaults() {
    try {
      for (String name : NOISY) {
        if (LoggerFactory.getLogger(name) instanceof ch.qos.logback.classic.Logger logger
            && logger.getLevel() == null) {
          logger.setLevel(ch.qos.logback.classic.Level.WARN);
        }
      }
    } catch (LinkageError noLogback) {
      // Another SLF4J backend: leave its configuration alone.
    }
  }
}
