package org.fhirledger.gateway.upstream;

/** No response could be had from the EHR: the connection was refused, reset or could not be made. */
public class UpstreamUnavailableException extends RuntimeException {
  public UpstreamUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
