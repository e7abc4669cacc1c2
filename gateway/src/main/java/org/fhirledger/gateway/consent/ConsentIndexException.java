package org.fhirledger.gateway.consent;

/** The Consent index could not be (re)built from the EHR; until it is, decisions fail closed. */
public final class ConsentIndexException extends RuntimeException {
  ConsentIndexException(String message, Throwable cause) {
    super(message, cause);
  }
}
