package org.fhirledger.gateway.server;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.IRestfulServer;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.method.BaseMethodBinding;
import ca.uhn.fhir.rest.server.method.MethodMatchEnum;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import java.io.IOException;
import java.lang.reflect.Method;

/**
 * The HAPI method binding that serves every request by forwarding it. It classifies the
 * interaction (read, search, create, ...) for HAPI's interceptors and the gateway's later steps,
 * fires HAPI's {@code SERVER_INCOMING_REQUEST_PRE_HANDLED} pointcut like any binding, and then
 * calls {@link InteractionForwarder#forward}. Stateless and thread-safe.
 */
final class ForwardingMethodBinding extends BaseMethodBinding {

  private static final Method FORWARD;

  static {
    try {
      FORWARD = InteractionForwarder.class.getMethod("forward", RequestDetails.class);
    } catch (NoSuchMethodException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  ForwardingMethodBinding(FhirContext fhirContext, InteractionForwarder forwarder) {
    super(FORWARD, fhirContext, forwarder);
  }

  @Override
  public String getResourceName() {
    return null;
  }

  @Override
  public RestOperationTypeEnum getRestOperationType() {
    // Only used when no request is at hand; each request is classified by the overload below.
    return RestOperationTypeEnum.EXTENDED_OPERATION_SERVER;
  }

  @Override
  public RestOperationTypeEnum getRestOperationType(RequestDetails request) {
    return Interactions.classify(request);
  }

  @Override
  public MethodMatchEnum incomingServerRequestMatchesMethod(RequestDetails request) {
    return MethodMatchEnum.EXACT;
  }

  @Override
  public Object invokeServer(IRestfulServer<?> server, RequestDetails request) throws IOException {
    if (!(request instanceof ServletRequestDetails)) {
      throw new IllegalStateException("The gateway serves servlet requests only");
    }
    return invokeServerMethod(request, new Object[] {request});
  }
}
