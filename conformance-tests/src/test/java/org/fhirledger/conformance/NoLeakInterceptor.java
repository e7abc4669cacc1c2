package org.fhirledger.conformance;

import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/** HAPI client interceptor that runs every response (headers and buffered body) through a {@link LeakGuard}. */
public final class NoLeakInterceptor implements IClientInterceptor {

  private final LeakGuard guard;

  public NoLeakInterceptor(LeakGuard guard) {
    this.guard = guard;
  }

  @Override
  public void interceptRequest(IHttpRequest theRequest) {
    // Requests are ours; only responses can leak.
  }

  @Override
  public void interceptResponse(IHttpResponse theResponse) throws IOException {
    String where = theResponse.getStatus() + " response to " + describe(theResponse);
    for (Map.Entry<String, List<String>> h : theResponse.getAllHeaders().entrySet()) {
      guard.check("header " + h.getKey() + " of " + where, String.join(", ", h.getValue()));
    }
    theResponse.bufferEntity();
    try (InputStream in = theResponse.readEntity()) {
      if (in != null) {
        guard.checkBody("body of " + where, in.readAllBytes());
      }
    }
  }

  private static String describe(IHttpResponse response) {
    try {
      return String.valueOf(response.getResponse());
    } catch (RuntimeException e) {
      return "a request";
    }
  }
}
