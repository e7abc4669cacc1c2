package org.fhirledger.gateway.upstream;

/** The EHR accepted the request but did not answer within the configured read timeout. */
public class UpstreamTimeoutException extends RuntimeException {
  public UpstreamTimeoutException(String message, Throwable cause) {
    super(message, cause);
  }
}
