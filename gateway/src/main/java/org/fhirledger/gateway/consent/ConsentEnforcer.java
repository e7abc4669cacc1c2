package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.fhirledger.gateway.auth.Caller;
import org.fhirledger.gateway.ledger.ConsentNote;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces patient Consent on every interaction forwarded to the EHR (issue #6, phase 2). Present only with
 * {@code gateway.consent.enabled=true}; {@code InteractionForwarder} calls it twice per interaction:
 *
 * <ol>
 *   <li>{@link #checkRequest} before anything is recorded or forwarded: refuses (400) search parameters whose
 *       selection cannot be enforced on a filtered result, and (403) writes the owner patients' Consents do not allow
 *       ({@code collect} for create, {@code correct} for update, patch, delete); a transaction or batch is checked
 *       entry by entry and refused whole if one entry is denied;
 *   <li>{@link #filterAnswer} on the EHR's answer, URLs already rewritten, before it is recorded and returned: every
 *       resource of a Patient compartment (read, search match and include, {@code $everything}, history version,
 *       batch/transaction response entry, write representation) is kept only if every owner patient's decision for
 *       {@code access} allows it. A denied direct read is 403 (or 404 with {@code deny-as-not-found}).
 *       {@code Bundle.total} is removed from searchsets and histories so counts do not reveal what was withheld.
 * </ol>
 *
 * <p>Consent resources are not themselves subject to Consent (a deny-all Consent must stay revocable): SMART scopes
 * decide who reads and writes them. After a successful Consent write the index is updated before the answer leaves,
 * so a revocation applies to the very next request.
 *
 * <p>Every decision is summarised in a {@link ConsentNote} on the request, which the ledger entries carry. Decisions are
 * cached per request and patient. Thread-safe; per-request state lives in the request's user data. Messages name no
 * PHI: resource types and Consent ids only.
 */
public final class ConsentEnforcer {

  private static final Logger log = LoggerFactory.getLogger(ConsentEnforcer.class);

  private static final String STATE_KEY = ConsentEnforcer.class.getName() + ".state";
  private static final String COMPARTMENT = "Patient";
  private static final int MAX_REFERENCES = 100;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final Pattern ACTOR =
      Pattern.compile("(?:.*/)?((Patient|Practitioner|PractitionerRole|Organization|RelatedPerson)/[A-Za-z0-9\\-.]{1,64})");

  /** Search result parameters that select or count through data the filter cannot see. */
  private static final Set<String> REFUSED = Set.of("_list", "_contained", "_containedtype", "_filter", "_query",
      "_total", "_elements", "_text", "_content");

  /** Operations whose answers the filter can check (a Bundle or resources of the compartment). */
  private static final Set<String> ALLOWED_OPERATIONS = Set.of("$everything", "$validate");

  private final ConsentService service;
  private final ConsentIndex index;
  private final FhirContext fhir;
  private final UpstreamFhirClient upstream;
  private final boolean denyAsNotFound;

  public ConsentEnforcer(ConsentService service, ConsentIndex index, FhirContext fhir, UpstreamFhirClient upstream,
      boolean denyAsNotFound) {
    this.service = Objects.requireNonNull(service, "service");
    this.index = Objects.requireNonNull(index, "index");
    this.fhir = Objects.requireNonNull(fhir, "fhir");
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.denyAsNotFound = denyAsNotFound;
  }

  // ---- the request ----------------------------------------------------------------------------------------------

  /**
   * Checks an interaction before it is recorded or forwarded.
   *
   * @param write whether the interaction may change data (it is recorded with an intent)
   * @param body the request body (create, update, transaction), or null
   * @throws InvalidRequestException (400) for a search or operation the gateway cannot enforce Consent on
   * @throws ForbiddenOperationException (403) for a write the patient's Consent does not allow
   */
  public void checkRequest(RequestDetails request, RestOperationTypeEnum operation, boolean write, byte[] body,
      String contentType) {
    String type = request.getResourceName();
    if (operation == RestOperationTypeEnum.METADATA || "Consent".equals(type)) {
      return;
    }
    checkParameters(request.getParameters());
    String op = request.getOperation();
    if (op != null && op.startsWith("$") && type != null && inCompartmentType(type)
        && !ALLOWED_OPERATIONS.contains(op)) {
      throw new InvalidRequestException("The operation " + op + " on " + type + " cannot be checked against "
          + "patient Consent, so this gateway does not forward it. Use read, search or $everything.");
    }
    if (operation == RestOperationTypeEnum.TRANSACTION || operation == RestOperationTypeEnum.BATCH) {
      checkBundle(request, body, contentType);
      return;
    }
    if (!write || type == null) {
      return;
    }
    boolean conditional = (request.getId() == null || !request.getId().hasIdPart())
        && operation != RestOperationTypeEnum.CREATE
        || request.getHeader(Constants.HEADER_IF_NONE_EXIST) != null;
    switch (operation) {
      case CREATE, UPDATE, PATCH, DELETE -> {
        if (conditional && inCompartmentType(type)) {
          throw conditionalRefused(type);
        }
        IBaseResource resource = operation == RestOperationTypeEnum.CREATE || operation == RestOperationTypeEnum.UPDATE
            ? parse(body, contentType).orElseThrow(() -> new InvalidRequestException(
                "The request body is not a FHIR resource in JSON or XML."))
            : null;
        checkWrite(request, operation, type, request.getId() == null ? null : request.getId().getIdPart(), resource,
            Set.of());
      }
      default -> {
        // $meta-add and friends on compartment types were refused above; other writes carry no patient data.
      }
    }
  }

  private void checkParameters(Map<String, String[]> parameters) {
    for (Map.Entry<String, String[]> p : parameters.entrySet()) {
      String reason = refusal(p.getKey(), p.getValue());
      if (reason != null) {
        throw new InvalidRequestException(reason);
      }
    }
  }

  /** Why a search parameter cannot be enforced on a filtered result, or null when it can. */
  String refusal(String name, String[] values) {
    String lower = name.toLowerCase(Locale.ROOT);
    String base = lower.contains(":") ? lower.substring(0, lower.indexOf(':')) : lower;
    if (base.equals("_has")) {
      return "_has selects resources through other resources that Consent may withhold, so this gateway refuses it. "
          + "Search the other resource type and use _include instead.";
    }
    if (REFUSED.contains(base)) {
      return "The search parameter " + base + " cannot be enforced on a result filtered by patient Consent "
          + "(it counts, lists or selects through data the gateway cannot check). Remove it.";
    }
    if (base.equals("_summary") && values != null) {
      for (String v : values) {
        if (!"false".equals(v)) {
          return "_summary=" + v + " hides the elements patient Consent is decided on (or counts what is withheld), "
              + "so this gateway refuses it. Remove _summary.";
        }
      }
    }
    int dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith("_")) {
      String link = name.substring(0, dot);
      int colon = link.indexOf(':');
      String target = colon < 0 ? null : link.substring(colon + 1);
      if (target == null || !isKnownType(target) || "Patient".equals(target) || inCompartmentType(target)) {
        return "The chained parameter " + name + " selects through another resource that patient Consent may "
            + "withhold, so this gateway refuses it. Chain only through a type outside the Patient compartment "
            + "(name it, for example performer:Practitioner.name), or search that resource first.";
      }
    }
    return null;
  }

  private void checkBundle(RequestDetails request, byte[] body, String contentType) {
    IBaseResource parsed = parse(body, contentType).orElse(null);
    if (!(parsed instanceof Bundle bundle)) {
      return; // HAPI or the EHR answers the malformed bundle; nothing is forwarded that could be a write
    }
    Set<String> newInBundle = new HashSet<>();
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (e.hasFullUrl() && e.getFullUrl().startsWith("urn:")) {
        newInBundle.add(e.getFullUrl());
      }
    }
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      Bundle.BundleEntryRequestComponent r = e.getRequest();
      String url = r.getUrl() == null ? "" : r.getUrl();
      String path = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
      String query = url.contains("?") ? url.substring(url.indexOf('?') + 1) : null;
      String[] segments = path.replaceFirst("^/", "").split("/");
      String type = segments.length > 0 && !segments[0].isEmpty() && !segments[0].startsWith("$") ? segments[0] : null;
      String id = segments.length > 1 && !segments[1].startsWith("_") && !segments[1].startsWith("$")
          ? segments[1] : null;
      if ("Consent".equals(type)) {
        continue;
      }
      if (query != null) {
        checkParameters(parseQuery(query));
      }
      if (segments.length > 1 && segments[segments.length - 1].startsWith("$") && type != null
          && inCompartmentType(type) && !ALLOWED_OPERATIONS.contains(segments[segments.length - 1])) {
        throw new InvalidRequestException("An entry's operation " + segments[segments.length - 1]
            + " cannot be checked against patient Consent; the whole bundle was refused and nothing was forwarded.");
      }
      Bundle.HTTPVerb verb = r.getMethod();
      if (verb == null || verb == Bundle.HTTPVerb.GET || verb == Bundle.HTTPVerb.HEAD || type == null) {
        continue; // reads: answered entries are filtered like any answer
      }
      boolean conditional = query != null || r.hasIfNoneExist() || (verb != Bundle.HTTPVerb.POST && id == null);
      if (conditional && inCompartmentType(type)) {
        throw conditionalRefused(type);
      }
      RestOperationTypeEnum op = switch (verb) {
        case POST -> RestOperationTypeEnum.CREATE;
        case PUT -> RestOperationTypeEnum.UPDATE;
        case PATCH -> RestOperationTypeEnum.PATCH;
        default -> RestOperationTypeEnum.DELETE;
      };
      IBaseResource resource = op == RestOperationTypeEnum.CREATE || op == RestOperationTypeEnum.UPDATE
          ? e.getResource() : null;
      checkWrite(request, op, type, id, resource, newInBundle);
    }
  }

  /** Checks one write against the decisions of the patients whose data it adds, changes or removes. */
  private void checkWrite(RequestDetails request, RestOperationTypeEnum operation, String type, String id,
      IBaseResource resource, Set<String> newInBundle) {
    if ("Consent".equals(type) || !inCompartmentType(type)) {
      return;
    }
    ConsentAction action = operation == RestOperationTypeEnum.CREATE ? ConsentAction.COLLECT : ConsentAction.CORRECT;
    State state = state(request);
    if (resource != null) {
      requireAllowed(request, state, resource, action, newInBundle);
    }
    if (operation != RestOperationTypeEnum.CREATE && id != null) {
      // The data being replaced or removed belongs to its current owners: they decide too.
      Optional<IBaseResource> current = current(type, id);
      if (current.isPresent()) {
        requireAllowed(request, state, current.get(), action, Set.of());
      }
    }
  }

  private void requireAllowed(RequestDetails request, State state, IBaseResource resource, ConsentAction action,
      Set<String> newInBundle) {
    for (String owner : owners(resource, newInBundle)) {
      ConsentDecision d = owner == null ? null : state.decide(this, request, owner, action);
      if (d == null || !d.allows(resource)) {
        state.denied = true;
        state.note(request);
        throw new ForbiddenOperationException("Patient consent does not allow this " + action.code() + " of "
            + resource.fhirType() + " data" + (d == null ? "" : " (" + d.reason() + ")")
            + ". Nothing was forwarded to the EHR.");
      }
    }
  }

  private Optional<IBaseResource> current(String type, String id) {
    if (!ID.matcher(id).matches()) {
      return Optional.empty();
    }
    UpstreamResponse read;
    try {
      read = upstream.exchange(new UpstreamRequest("GET", "/" + type + "/" + id,
          Map.of("accept", List.of("application/fhir+json")), new byte[0]));
    } catch (RuntimeException e) {
      throw new ForbiddenOperationException("The gateway could not read the current version to check patient "
          + "consent, so the write was not forwarded. Try again later.");
    }
    if (read.status() == 404 || read.status() == 410) {
      return Optional.empty();
    }
    if (read.status() != 200) {
      throw new ForbiddenOperationException("The gateway could not read the current version to check patient "
          + "consent, so the write was not forwarded. Try again later.");
    }
    return parse(read.body(), read.header("content-type").orElse("application/fhir+json"));
  }

  private static InvalidRequestException conditionalRefused(String type) {
    return new InvalidRequestException("Conditional writes of " + type + " would reveal whether matching data exists "
        + "that patient Consent may withhold, so this gateway refuses them. Write by id instead.");
  }

  // ---- the answer -----------------------------------------------------------------------------------------------

  /**
   * Filters the EHR's answer by the owner patients' Consent decisions, before it is recorded and returned.
   *
   * @return the body to return (the same array when nothing changed, empty when a write's representation is withheld)
   * @throws ForbiddenOperationException (403) or {@link ResourceNotFoundException} (404, with deny-as-not-found) for a
   *     denied resource read directly; 403 when an answer that may hold patient data cannot be parsed
   */
  public byte[] filterAnswer(RequestDetails request, RestOperationTypeEnum operation, boolean write, int status,
      byte[] body, String contentType) {
    String type = request.getResourceName();
    if (operation == RestOperationTypeEnum.METADATA) {
      return body;
    }
    if (write && "Consent".equals(type) && status >= 200 && status < 300) {
      consentWritten(request, operation, body, contentType);
    }
    if (status < 200 || status >= 300 || body.length == 0) {
      return body;
    }
    EncodingEnum encoding = contentType == null ? EncodingEnum.JSON : EncodingEnum.forContentType(contentType);
    Optional<IBaseResource> parsed = parse(body, contentType);
    if (parsed.isEmpty()) {
      if (type != null && !inCompartmentType(type)) {
        return body;
      }
      throw new ForbiddenOperationException("The EHR's answer could not be checked against patient consent; "
          + "ask for JSON or XML.");
    }
    IBaseResource resource = parsed.get();
    State state = state(request);
    boolean changed;
    if (resource instanceof Bundle bundle) {
      if (write && (operation == RestOperationTypeEnum.TRANSACTION || operation == RestOperationTypeEnum.BATCH)) {
        consentsWrittenIn(request, bundle);
      }
      changed = filterBundle(request, state, bundle, write);
    } else if (resource instanceof OperationOutcome || !allowed(request, state, resource)) {
      if (resource instanceof OperationOutcome) {
        return body;
      }
      state.withheld = true;
      state.denied = !write;
      state.note(request);
      if (write) {
        return new byte[0]; // the write happened; its representation is not the caller's to see
      }
      if (denyAsNotFound) {
        throw new ResourceNotFoundException("Resource " + resource.fhirType() + "/"
            + resource.getIdElement().getIdPart() + " is not known");
      }
      throw new ForbiddenOperationException("Patient consent does not allow this access to this "
          + resource.fhirType() + ".");
    } else {
      changed = false;
    }
    state.note(request);
    if (!changed) {
      return body;
    }
    IParser parser = encoding.newParser(fhir);
    String[] pretty = request.getParameters().get(Constants.PARAM_PRETTY);
    parser.setPrettyPrint(pretty != null && pretty.length > 0 && "true".equals(pretty[0]));
    return parser.encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
  }

  /** Removes what the caller may not see; true when the bundle changed. */
  private boolean filterBundle(RequestDetails request, State state, Bundle bundle, boolean write) {
    boolean changed = false;
    boolean listing = bundle.getType() == Bundle.BundleType.SEARCHSET || bundle.getType() == Bundle.BundleType.HISTORY;
    if (listing && bundle.hasTotal()) {
      bundle.setTotalElement(null); // a total would reveal how much was withheld
      changed = true;
    }
    boolean responses = bundle.getType() == Bundle.BundleType.TRANSACTIONRESPONSE
        || bundle.getType() == Bundle.BundleType.BATCHRESPONSE;
    for (Iterator<Bundle.BundleEntryComponent> it = bundle.getEntry().iterator(); it.hasNext(); ) {
      Bundle.BundleEntryComponent e = it.next();
      if (!e.hasResource()) {
        if (bundle.getType() == Bundle.BundleType.HISTORY && e.hasRequest() && inCompartmentType(urlType(e))) {
          it.remove(); // a deleted version of patient data: its existence is not checkable without the content
          state.withheld = true;
          changed = true;
        }
        continue;
      }
      IBaseResource r = e.getResource();
      if (r instanceof Bundle nested) {
        changed |= filterBundle(request, state, nested, write);
        continue;
      }
      if (r instanceof OperationOutcome || allowed(request, state, r)) {
        continue;
      }
      state.withheld = true;
      changed = true;
      if (responses) {
        e.setResource(null); // keep the entry's status: the entry list of a batch answer matches the request
      } else {
        it.remove();
      }
    }
    return changed;
  }

  private static String urlType(Bundle.BundleEntryComponent e) {
    String url = e.getRequest().getUrl();
    if (url == null) {
      return "";
    }
    String path = url.replaceFirst("^/", "");
    int slash = path.indexOf('/');
    return slash < 0 ? path.replaceFirst("\\?.*", "") : path.substring(0, slash);
  }

  private boolean allowed(RequestDetails request, State state, IBaseResource resource) {
    if ("Consent".equals(resource.fhirType())) {
      return true;
    }
    for (String owner : owners(resource, Set.of())) {
      if (owner == null) {
        return false;
      }
      ConsentDecision d = state.decide(this, request, owner, ConsentAction.ACCESS);
      if (!d.allows(resource)) {
        return false;
      }
    }
    return true;
  }

  // ---- Consent writes -------------------------------------------------------------------------------------------

  private void consentWritten(RequestDetails request, RestOperationTypeEnum operation, byte[] body, String contentType) {
    boolean deleted = operation == RestOperationTypeEnum.DELETE;
    Optional<IBaseResource> stored = deleted ? Optional.empty() : parse(body, contentType);
    if (stored.isPresent() && stored.get() instanceof Consent consent && consent.getIdElement().hasIdPart()
        && (consent.getIdElement().hasVersionIdPart() || consent.getMeta().hasVersionId())) {
      if (!consent.getIdElement().hasVersionIdPart()) {
        consent.setId(consent.getIdElement().withVersion(consent.getMeta().getVersionId()));
      }
      index.onConsentWritten(consent, false);
      return;
    }
    IIdType id = request.getId();
    if (id != null && id.hasIdPart()) {
      index.onConsentWritten(new IdType("Consent", id.getIdPart()), deleted);
    } else if (!deleted) {
      // A create answered without a body: the index cannot know the new id; rebuild to stay correct.
      log.info("A Consent create was answered without its body; rebuilding the consent index");
      index.rebuild();
    }
  }

  private void consentsWrittenIn(RequestDetails request, Bundle response) {
    for (Bundle.BundleEntryComponent e : response.getEntry()) {
      if (e.hasResource() && e.getResource() instanceof Consent consent && consent.getIdElement().hasIdPart()
          && consent.getMeta().hasVersionId()) {
        consent.setId(consent.getIdElement().toUnqualified().withVersion(consent.getMeta().getVersionId()));
        index.onConsentWritten(consent, false);
        continue;
      }
      String location = e.hasResponse() ? e.getResponse().getLocation() : null;
      if (location != null && location.contains("Consent/") && e.getResponse().getStatus().startsWith("2")) {
        IdType id = new IdType(location.substring(location.indexOf("Consent/")));
        index.onConsentWritten(new IdType("Consent", id.getIdPart()), false);
      }
    }
    // Deletions in a transaction or batch answer carry no location: rebuild when the request deleted a Consent.
    Object requestBundle = null;
    try {
      requestBundle = parse(((ca.uhn.fhir.rest.server.servlet.ServletRequestDetails) request).loadRequestContents(),
          request.getHeader(Constants.HEADER_CONTENT_TYPE)).orElse(null);
    } catch (RuntimeException ignored) {
      // not a servlet request (tests): nothing more to learn
    }
    if (requestBundle instanceof Bundle b) {
      for (Bundle.BundleEntryComponent e : b.getEntry()) {
        if (e.getRequest().getMethod() == Bundle.HTTPVerb.DELETE && urlType(e).equals("Consent")) {
          String url = e.getRequest().getUrl().replaceFirst("^/", "");
          String[] parts = url.split("[/?]");
          if (parts.length > 1 && ID.matcher(parts[1]).matches() && !url.contains("?")) {
            index.onConsentWritten(new IdType("Consent", parts[1]), true);
          } else {
            index.rebuild();
          }
        }
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  /**
   * The patients whose compartment the resource is in, as {@code Patient/<id>}; a null element for an owner the
   * gateway cannot name (decided as a deny). Owners created in the same bundle ({@code urn:} references) are new
   * patients without Consents and are skipped.
   */
  private Set<String> owners(IBaseResource resource, Set<String> newInBundle) {
    Set<String> out = new LinkedHashSet<>();
    if (resource instanceof Patient p) {
      if (p.getIdElement().hasIdPart()) {
        String id = p.getIdElement().getIdPart();
        out.add(ID.matcher(id).matches() ? "Patient/" + id : null);
      }
      return out;
    }
    if (!inCompartmentType(resource.fhirType())) {
      return out;
    }
    for (IIdType owner : fhir.newTerser().getCompartmentOwnersForResource(COMPARTMENT, resource, Set.of())) {
      String value = owner.getValue();
      if (value != null && value.startsWith("urn:")) {
        if (!newInBundle.contains(value)) {
          out.add(null);
        }
        continue;
      }
      String idPart = owner.getIdPart();
      if (idPart == null || (owner.hasResourceType() && !"Patient".equals(owner.getResourceType()))) {
        continue; // HAPI does not filter untyped paths: a Practitioner performer is nobody's compartment owner
      }
      out.add(ID.matcher(idPart).matches() ? "Patient/" + idPart : null);
    }
    return out;
  }

  /**
   * Whether this enforcer refuses conditional writes of {@code type} (types in the Patient compartment, Consent
   * aside), so that other checks do not reveal, by searching for the target, whether matching data exists.
   */
  public boolean refusesConditionalWrites(String type) {
    return !"Consent".equals(type) && inCompartmentType(type);
  }

  private boolean inCompartmentType(String type) {
    if (type == null || type.isEmpty()) {
      return false;
    }
    if ("Patient".equals(type)) {
      return true;
    }
    try {
      RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
      return !def.getSearchParamsForCompartmentName(COMPARTMENT).isEmpty();
    } catch (DataFormatException e) {
      return false;
    }
  }

  private boolean isKnownType(String type) {
    try {
      fhir.getResourceDefinition(type);
      return true;
    } catch (DataFormatException e) {
      return false;
    }
  }

  private Optional<IBaseResource> parse(byte[] body, String contentType) {
    if (body == null || body.length == 0) {
      return Optional.empty();
    }
    EncodingEnum encoding = contentType == null ? EncodingEnum.JSON : EncodingEnum.forContentType(contentType);
    if (encoding != EncodingEnum.JSON && encoding != EncodingEnum.XML) {
      return Optional.empty();
    }
    try {
      return Optional.of(encoding.newParser(fhir).parseResource(new String(body, StandardCharsets.UTF_8)));
    } catch (DataFormatException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static Map<String, String[]> parseQuery(String query) {
    Map<String, List<String>> values = new LinkedHashMap<>();
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      values.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
    }
    Map<String, String[]> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, v.toArray(String[]::new)));
    return out;
  }

  ConsentRequest requestFor(RequestDetails request, String patient, ConsentAction action) {
    Optional<Caller> caller = Caller.of(request);
    Set<String> actors = new LinkedHashSet<>();
    String clientId = null;
    Set<String> purposes = Set.of();
    if (caller.isPresent()) {
      Caller c = caller.get();
      clientId = c.clientId();
      actor(c.fhirUser()).ifPresent(actors::add);
      actor(c.organization()).ifPresent(actors::add);
      if (c.purposeOfUse() != null) {
        purposes = Set.of(c.purposeOfUse());
      }
    }
    return new ConsentRequest(patient, clientId, actors, action, purposes);
  }

  private static Optional<String> actor(String reference) {
    if (reference == null) {
      return Optional.empty();
    }
    var m = ACTOR.matcher(reference);
    return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }

  private static State state(RequestDetails request) {
    return (State) request.getUserData().computeIfAbsent(STATE_KEY, k -> new State());
  }

  /** Per-request decisions and what they did, summarised for the ledger. */
  private static final class State {
    final Map<String, ConsentDecision> decisions = new HashMap<>();
    boolean withheld;
    boolean denied;

    ConsentDecision decide(ConsentEnforcer enforcer, RequestDetails request, String patient, ConsentAction action) {
      return decisions.computeIfAbsent(action.code() + " " + patient,
          k -> enforcer.service.decide(enforcer.requestFor(request, patient, action)));
    }

    void note(RequestDetails request) {
      if (decisions.isEmpty()) {
        return;
      }
      boolean breakGlass = false;
      Set<String> references = new LinkedHashSet<>();
      for (ConsentDecision d : decisions.values()) {
        breakGlass |= d.breakGlass();
        for (ConsentVersion v : d.basis()) {
          if (references.size() < MAX_REFERENCES) {
            references.add(v.reference());
          }
        }
      }
      org.fhirledger.ledger.entry.ConsentDecision code;
      if (breakGlass) {
        code = org.fhirledger.ledger.entry.ConsentDecision.BREAK_GLASS;
      } else if (denied) {
        code = org.fhirledger.ledger.entry.ConsentDecision.DENY;
      } else if (withheld) {
        code = org.fhirledger.ledger.entry.ConsentDecision.PERMIT_FILTERED;
      } else {
        code = org.fhirledger.ledger.entry.ConsentDecision.PERMIT;
      }
      new ConsentNote(code, references.isEmpty() ? null : String.join(" ", references)).attachTo(request);
    }
  }
}
