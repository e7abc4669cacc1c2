package org.fhirledger.gateway.auth;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.fhirledger.gateway.auth.SmartScope.Context;
import org.fhirledger.gateway.auth.SmartScope.Permission;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;

/**
 * Decides, before anything is forwarded, whether the caller's scopes allow the interaction, and
 * how a search must be narrowed so that the EHR returns only what they allow. Writes by a
 * restricted caller are checked against the resource written and, for updates and deletes, the
 * version the EHR holds now. Batch and transaction bundles are authorized entry by entry; one
 * refused entry refuses the whole bundle (nothing is forwarded). Thread-safe.
 */
final class RequestAuthorizer {

  /** User-data key of the search parameters to add to the forwarded query ({@code Map<String, List<String>>}). */
  static final String CONSTRAINTS_KEY = RequestAuthorizer.class.getName() + ".constraints";

  static final String ERASURE_OPERATION = "$erase-pseudonym";
  static final String ID_PARAMETER = "_id";

  private final FhirContext fhirContext;
  private final ScopePolicy policy;
  private final UpstreamFhirClient upstream;
  private final Predicate<RequestDetails> servedLocally;

  RequestAuthorizer(FhirContext fhirContext, ScopePolicy policy, UpstreamFhirClient upstream,
      Predicate<RequestDetails> servedLocally) {
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.servedLocally = Objects.requireNonNull(servedLocally, "servedLocally");
  }

  /**
   * @throws ForbiddenOperationException (403) when the scopes do not allow the interaction
   * @throws InvalidRequestException (400) when a write a restricted caller sends cannot be read
   */
  void authorize(RequestDetails request, RestOperationTypeEnum operation, Caller caller) {
    String type = request.getResourceName();
    if (servedLocally.test(request)) {
      authorizeLocal(request, caller);
      return;
    }
    switch (operation) {
      case METADATA -> { }
      case READ, VREAD, HISTORY_INSTANCE -> require(caller, type, Permission.READ, operation);
      case SEARCH_TYPE -> authorizeTypeSearch(request, caller);
      case SEARCH_SYSTEM -> authorizeSystemSearch(request, caller);
      case GET_PAGE -> {
        if (ScopePolicy.usable(caller).stream().noneMatch(s -> s.allows(Permission.SEARCH))) {
          throw forbidden("This token's scopes allow no search, so it cannot page through results.");
        }
      }
      case HISTORY_TYPE -> requireUnrestricted(caller, type, Permission.READ, "the history of every " + type);
      case HISTORY_SYSTEM -> requireUnrestricted(caller, "*", Permission.READ, "the history of the whole server");
      case VALIDATE -> {
        if (ScopePolicy.granting(caller, type, Permission.CREATE).isEmpty()) {
          require(caller, type, Permission.UPDATE, operation);
        }
      }
      case CREATE -> authorizeCreate(request, caller, type);
      case UPDATE -> authorizeUpdate(request, caller, type);
      case PATCH -> requireUnrestricted(caller, type, Permission.UPDATE, "a patch of " + type);
      case DELETE -> authorizeDelete(request, caller, type);
      case TRANSACTION, BATCH -> authorizeBundle(request, caller);
      default -> authorizeOperation(request, caller, type);
    }
  }

  private void authorizeLocal(RequestDetails request, Caller caller) {
    if (!ScopePolicy.unrestricted(caller, "AuditEvent", Permission.READ)
        && !ScopePolicy.unrestricted(caller, "AuditEvent", Permission.SEARCH)) {
      throw forbidden("The gateway's audit trail needs an AuditEvent read or search scope without a patient "
          + "context or query (for example user/AuditEvent.rs or system/AuditEvent.rs).");
    }
  }

  private void authorizeTypeSearch(RequestDetails request, Caller caller) {
    String compartment = request.getCompartmentName();
    String type = compartment != null ? compartment : request.getResourceName();
    List<SmartScope> granting = require(caller, type, Permission.SEARCH, RestOperationTypeEnum.SEARCH_TYPE);
    if (compartment != null && caller.patient() != null
        && granting.stream().allMatch(s -> s.context() == Context.PATIENT)
        && !("Patient".equals(request.getResourceName())
            && caller.patient().equals(request.getId().getIdPart()))) {
      throw forbidden("This token reaches only the compartment of the patient in its launch context.");
    }
    Map<String, List<String>> constraints = policy.searchConstraints(caller, type, granting);
    if (compartment != null) {
      // Patient/<id>/<type> is the compartment already (and <id> was checked above); HAPI refuses the
      // compartment's own parameters on such a search.
      constraints.keySet().removeIf(name -> matcherCompartmentParameter(type).equals(name));
    }
    if (constraints.containsKey(ID_PARAMETER)) {
      // A search by _id may name only the patient in context: a repeated _id is not an AND for every EHR.
      for (String group : request.getParameters().getOrDefault(ID_PARAMETER, new String[0])) {
        if (!List.of(group.split(",")).contains(caller.patient())) {
          throw forbidden("This token reaches only the patient in its launch context.");
        }
      }
    }
    if (!constraints.isEmpty()) {
      request.getUserData().put(CONSTRAINTS_KEY, constraints);
    }
  }

  private String matcherCompartmentParameter(String type) {
    return policy.matcher().hasPatientCompartment(type) ? policy.matcher().compartmentParameter(type) : "";
  }

  private void authorizeSystemSearch(RequestDetails request, Caller caller) {
    String[] types = request.getParameters().get(Constants.PARAM_TYPE);
    List<String> wanted = new ArrayList<>();
    if (types == null) {
      wanted.add("*");
    } else {
      for (String t : types) {
        wanted.addAll(List.of(t.split(",")));
      }
    }
    for (String t : wanted) {
      requireUnrestricted(caller, t.trim(), Permission.SEARCH, "a search across types");
    }
  }

  private void authorizeOperation(RequestDetails request, Caller caller, String type) {
    String target = type == null ? "*" : type;
    if (ERASURE_OPERATION.equals(request.getOperation())) {
      boolean system = ScopePolicy.granting(caller, "Patient", Permission.DELETE).stream()
          .anyMatch(s -> s.context() == Context.SYSTEM && !s.isGranular());
      if (!system) {
        throw forbidden(ERASURE_OPERATION + " needs a system scope that deletes patients (system/Patient.d).");
      }
      return;
    }
    boolean read = request.getRequestType() == RequestTypeEnum.GET || request.getRequestType() == RequestTypeEnum.HEAD;
    Permission needed = read ? Permission.READ : Permission.UPDATE;
    List<SmartScope> granting = require(caller, target, needed, RestOperationTypeEnum.EXTENDED_OPERATION_TYPE);
    boolean instance = request.getId() != null && request.getId().hasIdPart();
    if (granting.stream().allMatch(ScopePolicy::restricted)) {
      if (!(read && instance)) {
        throw forbidden("With a patient context or a granular scope, only read operations on one resource "
            + "(GET [type]/[id]/$operation) are allowed.");
      }
      // What the operation answers is checked too, but not every answer is made of resources: the
      // resource it runs on must be one the caller may see.
      checkVisible(caller, target, request.getId().getIdPart());
    }
  }

  private void authorizeCreate(RequestDetails request, Caller caller, String type) {
    require(caller, type, Permission.CREATE, RestOperationTypeEnum.CREATE);
    if (!ScopePolicy.unrestricted(caller, type, Permission.CREATE)) {
      IBaseResource body = requestResource(request);
      checkWritten(caller, body, type, Permission.CREATE);
    }
  }

  private void authorizeUpdate(RequestDetails request, Caller caller, String type) {
    require(caller, type, Permission.UPDATE, RestOperationTypeEnum.UPDATE);
    if (!ScopePolicy.unrestricted(caller, type, Permission.UPDATE)) {
      String id = instanceId(request, "update");
      checkWritten(caller, requestResource(request), type, Permission.UPDATE);
      checkCurrent(caller, type, id, Permission.UPDATE);
    }
  }

  private void authorizeDelete(RequestDetails request, Caller caller, String type) {
    require(caller, type, Permission.DELETE, RestOperationTypeEnum.DELETE);
    if (!ScopePolicy.unrestricted(caller, type, Permission.DELETE)) {
      checkCurrent(caller, type, instanceId(request, "delete"), Permission.DELETE);
    }
  }

  private void authorizeBundle(RequestDetails request, Caller caller) {
    IBaseResource parsed = requestResource(request);
    if (!(parsed instanceof Bundle bundle)) {
      throw new InvalidRequestException("A POST to the server's base must carry a batch or transaction Bundle.");
    }
    int n = 0;
    for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
      n++;
      try {
        authorizeEntry(caller, entry, request.getFhirServerBase());
      } catch (ForbiddenOperationException e) {
        ForbiddenOperationException refused = forbidden("Bundle entry " + n + " is refused, so the whole "
            + bundle.getType().toCode() + " was refused and nothing was forwarded: " + e.getMessage());
        throw refused;
      }
    }
  }

  private void authorizeEntry(Caller caller, Bundle.BundleEntryComponent entry, String base) {
    Bundle.BundleEntryRequestComponent req = entry.getRequest();
    if (req.getMethod() == null || !req.hasUrl()) {
      throw new InvalidRequestException("Every bundle entry needs request.method and request.url.");
    }
    String url = req.getUrl();
    if (base != null && url.startsWith(base + "/")) {
      url = url.substring(base.length() + 1);
    }
    int q = url.indexOf('?');
    String path = q >= 0 ? url.substring(0, q) : url;
    String[] segments = path.split("/");
    String type = segments.length > 0 && !segments[0].isEmpty() ? segments[0] : "*";
    String id = segments.length > 1 && !segments[1].startsWith("$") && !segments[1].startsWith("_") ? segments[1] : null;
    boolean special = path.contains("$") || path.contains("_search");
    switch (req.getMethod()) {
      case GET, HEAD -> {
        Permission p = id != null || path.contains("$") ? Permission.READ : Permission.SEARCH;
        requireUnrestricted(caller, type, p, "a read or search inside a batch or transaction (send it as its own "
            + "request, where the gateway can narrow and check it)");
      }
      case POST -> {
        if (special) {
          requireUnrestricted(caller, type, path.contains("_search") ? Permission.SEARCH : Permission.UPDATE,
              "an operation or search inside a batch or transaction");
        } else {
          require(caller, type, Permission.CREATE, RestOperationTypeEnum.CREATE);
          if (!ScopePolicy.unrestricted(caller, type, Permission.CREATE)) {
            checkWritten(caller, entry.getResource(), type, Permission.CREATE);
          }
        }
      }
      case PUT -> {
        require(caller, type, Permission.UPDATE, RestOperationTypeEnum.UPDATE);
        if (!ScopePolicy.unrestricted(caller, type, Permission.UPDATE)) {
          if (id == null || q >= 0) {
            throw forbidden("A conditional update cannot be checked against this token's patient context or "
                + "granular scope: update by id.");
          }
          checkWritten(caller, entry.getResource(), type, Permission.UPDATE);
          checkCurrent(caller, type, id, Permission.UPDATE);
        }
      }
      case PATCH -> requireUnrestricted(caller, type, Permission.UPDATE, "a patch of " + type);
      case DELETE -> {
        require(caller, type, Permission.DELETE, RestOperationTypeEnum.DELETE);
        if (!ScopePolicy.unrestricted(caller, type, Permission.DELETE)) {
          if (id == null || q >= 0) {
            throw forbidden("A conditional delete cannot be checked against this token's patient context or "
                + "granular scope: delete by id.");
          }
          checkCurrent(caller, type, id, Permission.DELETE);
        }
      }
      default -> throw forbidden("Bundle entries with method " + req.getMethod().toCode() + " are not allowed.");
    }
  }

  private void checkWritten(Caller caller, IBaseResource resource, String type, Permission permission) {
    if (resource == null || !resource.fhirType().equals(type)) {
      throw new InvalidRequestException("The resource written must be a " + type + ".");
    }
    if (!policy.mayWrite(caller, resource, permission)) {
      throw forbidden("This token may not write this " + type + ": it is outside the patient in context's "
          + "compartment or does not match the token's granular scope.");
    }
  }

  private void checkVisible(Caller caller, String type, String id) {
    IBaseResource resource = current(type, id);
    if (resource != null && !policy.maySee(caller, resource)) {
      throw forbidden("This token may not see " + type + "/" + id + ": it is outside the patient in context's "
          + "compartment or does not match the token's granular scope.");
    }
  }

  /** The version the EHR holds now, or null when there is none (404, 410). */
  private IBaseResource current(String type, String id) {
    if (!id.matches("[A-Za-z0-9\\-.]{1,64}")) {
      throw new InvalidRequestException("The id in the request URL is not a FHIR id.");
    }
    UpstreamResponse current;
    try {
      current = upstream.exchange(new UpstreamRequest("GET", "/" + type + "/" + id,
          Map.of("accept", List.of("application/fhir+json")), new byte[0]));
    } catch (RuntimeException e) {
      throw forbidden("The gateway could not read the current " + type + " from the EHR to check this token's "
          + "access to it; try again later.");
    }
    if (current.status() == 404 || current.status() == 410) {
      return null;
    }
    IBaseResource resource = current.status() == 200 ? parse(current.body(), "application/fhir+json") : null;
    if (resource == null) {
      throw forbidden("The gateway could not check this token's access to " + type + "/" + id + ".");
    }
    return resource;
  }

  /** Checks the version the EHR holds now, which a restricted caller must be allowed to write too. */
  private void checkCurrent(Caller caller, String type, String id, Permission permission) {
    IBaseResource resource = current(type, id);
    if (resource != null && !policy.mayWrite(caller, resource, permission)) {
      throw forbidden("This token may not change " + type + "/" + id + ": it is outside the patient in context's "
          + "compartment or does not match the token's granular scope.");
    }
  }

  private static String instanceId(RequestDetails request, String what) {
    if (request.getId() == null || !request.getId().hasIdPart()) {
      throw forbidden("A conditional " + what + " cannot be checked against this token's patient context or "
          + "granular scope: " + what + " by id.");
    }
    return request.getId().getIdPart();
  }

  private IBaseResource requestResource(RequestDetails request) {
    byte[] body = request.loadRequestContents();
    String contentType = request.getHeader(Constants.HEADER_CONTENT_TYPE);
    IBaseResource parsed = body == null ? null : parse(body, contentType);
    if (parsed == null) {
      throw new InvalidRequestException("The request body is not a FHIR resource in JSON or XML, so the gateway "
          + "cannot check it against this token's scopes.");
    }
    return parsed;
  }

  private IBaseResource parse(byte[] body, String contentType) {
    if (body.length == 0) {
      return null;
    }
    String text = new String(body, StandardCharsets.UTF_8);
    EncodingEnum encoding = contentType == null ? null : EncodingEnum.forContentType(contentType);
    if (encoding == null) {
      encoding = text.stripLeading().startsWith("<") ? EncodingEnum.XML : EncodingEnum.JSON;
    }
    try {
      return encoding.newParser(fhirContext).parseResource(text);
    } catch (DataFormatException | IllegalArgumentException e) {
      return null;
    }
  }

  /** The usable scopes allowing {@code permission} on {@code type}; refuses when there are none. */
  static List<SmartScope> require(Caller caller, String type, Permission permission, RestOperationTypeEnum op) {
    String t = type == null ? "*" : type;
    List<SmartScope> granting = ScopePolicy.granting(caller, t, permission);
    if (granting.isEmpty()) {
      String letter = String.valueOf(permission.letter);
      throw forbidden("This token's scopes do not allow " + permission.name().toLowerCase(Locale.ROOT) + " of "
          + ("*".equals(t) ? "every resource type" : t) + " (" + op.getCode() + "): it needs a scope such as "
          + "user/" + t + "." + letter + ", system/" + t + "." + letter
          + (caller.patient() != null ? " or patient/" + t + "." + letter : "") + ".");
    }
    return granting;
  }

  private static void requireUnrestricted(Caller caller, String type, Permission permission, String what) {
    require(caller, type, permission, RestOperationTypeEnum.SEARCH_TYPE);
    if (!ScopePolicy.unrestricted(caller, type, permission)) {
      throw forbidden("This token's scopes are limited to a patient in context or a granular query, which the "
          + "gateway cannot enforce on " + what + ".");
    }
  }

  static ForbiddenOperationException forbidden(String message) {
    ForbiddenOperationException e = new ForbiddenOperationException(message);
    e.addResponseHeader("WWW-Authenticate", "Bearer error=\"insufficient_scope\", error_description=\""
        + BearerChallenge.quoteSafe(message) + "\"");
    return e;
  }
}
