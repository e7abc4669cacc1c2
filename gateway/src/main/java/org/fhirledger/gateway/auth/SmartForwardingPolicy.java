package org.fhirledger.gateway.auth;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.gateway.server.ForwardingPolicy;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Enforces SMART scopes on what is forwarded and what comes back: a search is narrowed with the
 * parameters {@link RequestAuthorizer} chose (the patient's compartment, a granular scope's query),
 * and for a caller with any restricted scope every resource the EHR returns is checked again: a
 * resource read by id that the caller may not see is refused (403); entries of a Bundle (search
 * matches, {@code _include}d and {@code _revinclude}d resources, history, every page of a paging
 * link) that the caller may not see are removed, and an OperationOutcome entry says how many.
 * Thread-safe.
 */
final class SmartForwardingPolicy implements ForwardingPolicy {

  private final FhirContext fhirContext;
  private final ScopePolicy policy;

  SmartForwardingPolicy(FhirContext fhirContext, ScopePolicy policy) {
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.policy = Objects.requireNonNull(policy, "policy");
  }

  @Override
  public String upstreamQuery(RequestDetails request, String query) {
    @SuppressWarnings("unchecked")
    Map<String, List<String>> constraints =
        (Map<String, List<String>>) request.getUserData().get(RequestAuthorizer.CONSTRAINTS_KEY);
    if (constraints == null) {
      return query;
    }
    StringBuilder sb = new StringBuilder();
    if (query != null) {
      for (String pair : query.split("&")) {
        String name = URLDecoder.decode(pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair,
            StandardCharsets.UTF_8);
        if (pair.isEmpty() || RequestAuthorizer.ID_PARAMETER.equals(name) && constraints.containsKey(name)) {
          // The authorizer checked every _id group names the patient; the constraint replaces them.
          continue;
        }
        if (!sb.isEmpty()) {
          sb.append('&');
        }
        sb.append(pair);
      }
    }
    constraints.forEach((name, values) -> values.forEach(value -> {
      if (!sb.isEmpty()) {
        sb.append('&');
      }
      sb.append(URLEncoder.encode(name, StandardCharsets.UTF_8)).append('=')
          .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }));
    return sb.toString();
  }

  @Override
  public byte[] checkAnswer(RequestDetails request, RestOperationTypeEnum operation, int status, byte[] body,
      String contentType) {
    Optional<Caller> caller = Caller.of(request);
    if (caller.isEmpty() || status < 200 || status >= 300 || body.length == 0
        || !ScopePolicy.anyRestricted(caller.get())) {
      return body;
    }
    EncodingEnum encoding = contentType == null ? null : EncodingEnum.forContentType(contentType);
    if (encoding != EncodingEnum.JSON && encoding != EncodingEnum.XML) {
      throw RequestAuthorizer.forbidden("The EHR answered in a format the gateway cannot check against this "
          + "token's patient context or granular scope; ask for JSON or XML.");
    }
    IParser parser = encoding.newParser(fhirContext);
    IBaseResource resource;
    try {
      resource = parser.parseResource(new String(body, StandardCharsets.UTF_8));
    } catch (DataFormatException | IllegalArgumentException e) {
      throw RequestAuthorizer.forbidden("The EHR's answer could not be checked against this token's scopes.");
    }
    boolean single = operation == RestOperationTypeEnum.READ || operation == RestOperationTypeEnum.VREAD;
    if (single || !(resource instanceof Bundle bundle)) {
      if (!policy.maySee(caller.get(), resource)) {
        throw new ForbiddenOperationException("This token may not see this " + resource.fhirType()
            + ": it is outside the patient in context's compartment or does not match the token's granular scope.");
      }
      return body;
    }
    int withheld = 0;
    for (Iterator<Bundle.BundleEntryComponent> it = bundle.getEntry().iterator(); it.hasNext(); ) {
      Bundle.BundleEntryComponent entry = it.next();
      if (entry.hasResource() && !policy.maySee(caller.get(), entry.getResource())) {
        it.remove();
        withheld++;
      }
    }
    if (withheld == 0) {
      return body;
    }
    OperationOutcome note = new OperationOutcome();
    note.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION)
        .setCode(OperationOutcome.IssueType.SUPPRESSED)
        .setDiagnostics(withheld + " resource(s) of this answer were withheld: they are outside what this token's "
            + "scopes allow (the patient in context's compartment, or a granular scope's query).");
    bundle.addEntry().setResource(note).getSearch().setMode(Bundle.SearchEntryMode.OUTCOME);
    boolean pretty = request.getParameters().containsKey(Constants.PARAM_PRETTY)
        && "true".equals(request.getParameters().get(Constants.PARAM_PRETTY)[0]);
    return parser.setPrettyPrint(pretty).encodeResourceToString(bundle).getBytes(StandardCharsets.UTF_8);
  }
}
