package org.fhirledger.gateway.server;

import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;

/**
 * What access control may change about a forwarded interaction: the query sent to the EHR (to
 * narrow a search) and the answer before it is recorded and returned (to refuse or filter what the
 * caller may not see). Implementations are thread-safe; both methods are called on every forwarded
 * interaction.
 */
public interface ForwardingPolicy {

  /** Forwards everything unchanged. */
  ForwardingPolicy NONE = new ForwardingPolicy() {};

  /**
   * The query string to send to the EHR.
   *
   * @param query the client's raw query string, or null
   * @return the query to forward, or null for none
   */
  default String upstreamQuery(RequestDetails request, String query) {
    return query;
  }

  /**
   * Checks the EHR's answer to a read-like interaction (never called for writes) before it is
   * recorded and returned.
   *
   * @param body the answer, URLs already pointing at the gateway
   * @return the body to return (the same array when nothing changes)
   * @throws ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException to refuse the answer
   *     (recorded and returned like any error)
   */
  default byte[] checkAnswer(RequestDetails request, RestOperationTypeEnum operation, int status, byte[] body,
      String contentType) {
    return body;
  }
}
