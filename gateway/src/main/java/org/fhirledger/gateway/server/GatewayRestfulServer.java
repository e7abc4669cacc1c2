package org.fhirledger.gateway.server;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.method.BaseMethodBinding;
import jakarta.servlet.http.HttpServletRequest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The gateway's FHIR R4 endpoint: a HAPI {@link RestfulServer} whose every interaction is answered
 * by forwarding it to the EHR.
 *
 * <p>HAPI parses the request (resource type, id, version, operation, compartment, parameters),
 * runs its interceptor pointcuts and turns exceptions into OperationOutcomes; instead of binding the
 * request to an annotated provider method, {@link #determineResourceMethod} hands every request to
 * one {@link ForwardingMethodBinding}, so the gateway supports whatever search parameters and
 * operations the EHR supports, and passes the EHR's answers through unchanged except for URLs.
 * Requests that {@code servedLocally} accepts (the gateway's own endpoints, such as its audit
 * trail) are bound the ordinary HAPI way to the providers registered on this server instead.
 * Thread-safe once initialised, as any servlet.
 */
public final class GatewayRestfulServer extends RestfulServer {

  private static final int REQUEST_ID_LENGTH = 16;
  private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(() -> {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
  });
  private static final char[] ALPHANUMERIC =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  private final transient ForwardingMethodBinding forwarding;
  private final transient Predicate<RequestDetails> servedLocally;

  public GatewayRestfulServer(FhirContext fhirContext, InteractionForwarder forwarder) {
    this(fhirContext, forwarder, request -> false);
  }

  /**
   * @param servedLocally which requests the providers registered on this server answer; it must
   *     be thread-safe and cheap, as it is asked on every request
   */
  public GatewayRestfulServer(
      FhirContext fhirContext, InteractionForwarder forwarder, Predicate<RequestDetails> servedLocally) {
    super(Objects.requireNonNull(fhirContext, "fhirContext"));
    this.forwarding = new ForwardingMethodBinding(fhirContext, Objects.requireNonNull(forwarder, "forwarder"));
    this.servedLocally = Objects.requireNonNull(servedLocally, "servedLocally");
  }

  @Override
  public BaseMethodBinding determineResourceMethod(RequestDetails requestDetails, String requestPath) {
    String resourceName = requestDetails.getResourceName();
    if (resourceName != null && !getFhirContext().getResourceTypes().contains(resourceName)) {
      throw new ResourceNotFoundException("Unknown resource type '" + resourceName
          + "': not a FHIR R4 resource type (see http://hl7.org/fhir/R4/resourcelist.html)");
    }
    if (servedLocally.test(requestDetails)) {
      return super.determineResourceMethod(requestDetails, requestPath);
    }
    return forwarding;
  }

  /**
   * Every request gets an id the gateway made, whatever {@code X-Request-ID} the client sent: the id
   * goes onto the immutable ledger and to the EHR, and a client-chosen value could carry anything
   * (an MRN, a name). The response's {@code X-Request-ID} is the gateway's id.
   */
  @Override
  protected String getOrCreateRequestId(HttpServletRequest request) {
    return newRequestId(REQUEST_ID_LENGTH);
  }

  /**
   * A random alphanumeric id (16 characters, about 95 bits) from a per-thread DRBG {@link SecureRandom}: HAPI's
   * default (commons-lang3 over a shared strong {@code SecureRandom}) was a measurable part of a read's CPU, but the
   * id must stay unpredictable, not only unique: it is written to the public ledger, and reconciliation after a
   * crash finds a create by {@code _source=#<id>}, so a guessable next id would let a client plant a resource that
   * reconciliation mistakes for the gateway's write.
   */
  @Override
  protected String newRequestId(int length) {
    return randomId(length);
  }

  static String randomId(int length) {
    SecureRandom random = RANDOM.get();
    char[] id = new char[length];
    byte[] bytes = new byte[length + 8];
    int n = 0;
    while (n < length) {
      random.nextBytes(bytes);
      for (int i = 0; i < bytes.length && n < length; i++) {
        int b = bytes[i] & 0x3F;
        if (b < ALPHANUMERIC.length) { // 62 of 64: reject the rest, no bias
          id[n++] = ALPHANUMERIC[b];
        }
      }
    }
    return new String(id);
  }
}
