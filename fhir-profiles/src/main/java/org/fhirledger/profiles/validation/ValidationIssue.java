package org.fhirledger.profiles.validation;

import java.util.Objects;

/**
 * One finding of the validator.
 *
 * @param severity how bad it is
 * @param location the FHIRPath expression of the element it is about, for example {@code Observation.category[0]}
 *     (the resource type alone when it concerns the whole resource)
 * @param message what is wrong, in the validator's words (may quote values from the validated resource, so it is
 *     for the client that sent the resource, never for logs)
 */
public record ValidationIssue(Severity severity, String location, String message) {

  /** Severities the gateway acts on; the validator's informational messages are dropped. */
  public enum Severity {
    WARNING, ERROR, FATAL;

    public boolean isError() {
      return this != WARNING;
    }
  }

  public ValidationIssue {
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(message, "message");
  }

  /** This issue with its location inside a containing resource, for example {@code Bundle.entry[2].resource}. */
  public ValidationIssue within(String prefix) {
    int dot = location.indexOf('.');
    String relative = dot < 0 ? "" : location.substring(dot);
    return new ValidationIssue(severity, prefix + relative, message);
  }
}
