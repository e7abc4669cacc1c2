package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.jpa.patch.FhirPatch;
import ca.uhn.fhir.jpa.patch.JsonPatchUtils;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
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
import org.fhirledger.ledger.entry.LinkKey;
import org.hl7.fhir.instance.model.api.IBaseParameters;
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
 *       ({@code collect} for create and for a patient an update or patch moves data to, {@code correct} for update,
 *       patch, delete); a transaction is checked entry by entry and refused whole if one entry is refused, a batch's
 *       refused entries are left out of what is forwarded and answered in place; a page request must carry a paging
 *       link this gateway issued to this caller ({@link PagingLinks});
 *   <li>{@link #filterAnswer} on the EHR's answer, URLs already rewritten, before it is recorded and returned: every
 *       resource of a Patient compartment (read, search match and include, {@code $everything}, history version,
 *       batch/transaction response entry, write representation) is kept only if every owner patient's decision for
 *       {@code access} allows it. A denied direct read is 403 (or 404 with {@code deny-as-not-found}).
 *       {@code Bundle.total} is removed from searchsets and histories, and a listing page filtering left short is
 *       refilled from the EHR's following pages, so counts do not reveal what was withheld.
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
  private static final String POSITION_KEY = ConsentEnforcer.class.getName() + ".position";
  private static final String BATCH_KEY = ConsentEnforcer.class.getName() + ".batch";
  private static final String AFFILIATIONS_KEY = ConsentEnforcer.class.getName() + ".affiliations";
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
  private final PagingLinks paging;
  private final int maxPageFetches;
  private final PractitionerAffiliations affiliations;

  /**
   * @param linkKey the key of the gateway's paging links (kept in the data directory, one per instance)
   * @param maxPageFetches most EHR pages fetched to fill one page of a filtered listing (at least 1)
   * @param affiliations looks up whom a Practitioner user acts for; null to use the token's claims only
   */
  public ConsentEnforcer(ConsentService service, ConsentIndex index, FhirContext fhir, UpstreamFhirClient upstream,
      boolean denyAsNotFound, LinkKey linkKey, int maxPageFetches, PractitionerAffiliations affiliations) {
    this.affiliations = affiliations;
    this.service = Objects.requireNonNull(service, "service");
    this.index = Objects.requireNonNull(index, "index");
    this.fhir = Objects.requireNonNull(fhir, "fhir");
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.denyAsNotFound = denyAsNotFound;
    this.paging = new PagingLinks(linkKey);
    if (maxPageFetches < 1) {
      throw new IllegalArgumentException("maxPageFetches must be at least 1");
    }
    this.maxPageFetches = maxPageFetches;
  }

  /** Fetches a further page of a listing from the EHR, for {@link #filterAnswer} to fill a filtered page. */
  @FunctionalInterface
  public interface PageFetcher {
    /**
     * @param upstreamPathAndQuery the page, relative to the EHR's base (starts with {@code /})
     * @return the page's body with URLs rewritten to the gateway and SMART's answer check applied; empty when the EHR
     *     did not answer it with 200
     * @throws ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException when the EHR cannot be reached
     */
    Optional<byte[]> fetch(String upstreamPathAndQuery);
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
    if (operation == RestOperationTypeEnum.GET_PAGE) {
      // Only the gateway's own links page a listing: the EHR's paging would return unfilled, short pages.
      PagingLinks.Position position = paging.position(request).orElseThrow();
      request.getUserData().put(POSITION_KEY, position);
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
            operation == RestOperationTypeEnum.PATCH ? new Patch(body, contentType) : null, Set.of());
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

  /**
   * Checks every entry of a transaction or batch before anything is forwarded. A transaction is all-or-nothing: the
   * first refused entry refuses the bundle. A batch's entries are independent: a refused entry is answered with its
   * own status and OperationOutcome at its position (see {@link #forwardedBody}), the rest are forwarded.
   */
  private void checkBundle(RequestDetails request, byte[] body, String contentType) {
    IBaseResource parsed = parse(body, contentType).orElse(null);
    if (!(parsed instanceof Bundle bundle)) {
      return; // HAPI or the EHR answers the malformed bundle; nothing is forwarded that could be a write
    }
    boolean batch = bundle.getType() == Bundle.BundleType.BATCH;
    Set<String> newInBundle = new HashSet<>();
    Set<Integer> reads = new HashSet<>();
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      Bundle.BundleEntryComponent e = bundle.getEntry().get(i);
      if (e.hasFullUrl() && e.getFullUrl().startsWith("urn:")) {
        newInBundle.add(e.getFullUrl());
      }
      if (e.getRequest().getMethod() == Bundle.HTTPVerb.GET || e.getRequest().getMethod() == Bundle.HTTPVerb.HEAD) {
        reads.add(i);
      }
    }
    State state = state(request);
    state.readEntries = reads;
    Map<Integer, BaseServerResponseException> refused = new LinkedHashMap<>();
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      if (!batch) {
        checkEntry(request, bundle.getEntry().get(i), newInBundle);
        continue;
      }
      state.refusal = null;
      try {
        checkEntry(request, bundle.getEntry().get(i), newInBundle);
      } catch (InvalidRequestException | ForbiddenOperationException e) {
        ConsentDecision d = state.refusal;
        state.denied = false; // this entry is refused on its own; the batch goes on
        refused.put(i, e);
        if (d != null) {
          new ConsentNote(org.fhirledger.ledger.entry.ConsentDecision.DENY, references(List.of(d)))
              .attachToEntry(request, i);
        }
      }
    }
    state.refusal = null;
    if (refused.isEmpty()) {
      return;
    }
    Bundle forwarded = new Bundle().setType(Bundle.BundleType.BATCH);
    forwarded.setId(bundle.getIdElement().getIdPart());
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      if (!refused.containsKey(i)) {
        forwarded.addEntry(bundle.getEntry().get(i));
      }
    }
    EncodingEnum encoding = contentType == null ? EncodingEnum.JSON : EncodingEnum.forContentType(contentType);
    byte[] reduced = encoding.newParser(fhir).encodeResourceToString(forwarded).getBytes(StandardCharsets.UTF_8);
    request.getUserData().put(BATCH_KEY, new RefusedEntries(reduced, refused, bundle.getEntry().size()));
  }

  private void checkEntry(RequestDetails request, Bundle.BundleEntryComponent e, Set<String> newInBundle) {
    Bundle.BundleEntryRequestComponent r = e.getRequest();
    String url = r.getUrl() == null ? "" : r.getUrl();
    String path = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
    String query = url.contains("?") ? url.substring(url.indexOf('?') + 1) : null;
    String[] segments = path.replaceFirst("^/", "").split("/");
    String type = segments.length > 0 && !segments[0].isEmpty() && !segments[0].startsWith("$") ? segments[0] : null;
    String id = segments.length > 1 && !segments[1].startsWith("_") && !segments[1].startsWith("$")
        ? segments[1] : null;
    if ("Consent".equals(type)) {
      return;
    }
    if (query != null) {
      checkParameters(parseQuery(query));
    }
    if (segments.length > 1 && segments[segments.length - 1].startsWith("$") && type != null
        && inCompartmentType(type) && !ALLOWED_OPERATIONS.contains(segments[segments.length - 1])) {
      throw new InvalidRequestException("An entry's operation " + segments[segments.length - 1]
          + " cannot be checked against patient Consent, so it was not forwarded.");
    }
    Bundle.HTTPVerb verb = r.getMethod();
    if (verb == null || verb == Bundle.HTTPVerb.GET || verb == Bundle.HTTPVerb.HEAD || type == null) {
      return; // reads: answered entries are filtered like any answer
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
    Patch patch = op == RestOperationTypeEnum.PATCH ? Patch.of(e.getResource()) : null;
    checkWrite(request, op, type, id, resource, patch, newInBundle);
  }

  /**
   * The body to forward instead of the client's, when a batch's refused entries are left out; empty otherwise.
   * {@link #filterAnswer} puts the refused entries' answers back at their positions.
   */
  public Optional<byte[]> forwardedBody(RequestDetails request) {
    return request.getUserData().get(BATCH_KEY) instanceof RefusedEntries r ? Optional.of(r.forwarded())
        : Optional.empty();
  }

  /**
   * The upstream page a gateway paging link names (checked in {@link #checkRequest}), to forward instead of the
   * request's own path; empty for any other request.
   */
  public Optional<String> upstreamPage(RequestDetails request) {
    return request.getUserData().get(POSITION_KEY) instanceof PagingLinks.Position p ? Optional.of(p.upstream())
        : Optional.empty();
  }

  /** A batch's entries refused before forwarding, by position, and the bundle forwarded without them. */
  private record RefusedEntries(byte[] forwarded, Map<Integer, BaseServerResponseException> refused, int size) {}

  /** A patch's body as sent: JSON Patch, or FHIRPath Patch (a Parameters resource). */
  private record Patch(byte[] body, String contentType) {
    static Patch of(IBaseResource entryResource) {
      if (entryResource instanceof org.hl7.fhir.r4.model.Binary b) {
        return new Patch(b.getData(), b.getContentType());
      }
      if (entryResource instanceof org.hl7.fhir.r4.model.Parameters p) {
        return new Patch(FhirContext.forR4Cached().newJsonParser().encodeResourceToString(p)
            .getBytes(StandardCharsets.UTF_8), Constants.CT_FHIR_JSON_NEW);
      }
      return new Patch(null, null);
    }
  }

  /**
   * Checks one write against the decisions of the patients whose data it adds, changes or removes: the current
   * version's owners decide {@code correct}; the new content's owners decide {@code correct} where they already own
   * the resource and {@code collect} where the write moves it into their record (an update or patch that changes the
   * subject). A patch is applied to the current version to learn its result.
   */
  private void checkWrite(RequestDetails request, RestOperationTypeEnum operation, String type, String id,
      IBaseResource resource, Patch patch, Set<String> newInBundle) {
    if ("Consent".equals(type) || !inCompartmentType(type)) {
      return;
    }
    State state = state(request);
    if (operation == RestOperationTypeEnum.CREATE) {
      requireAllowed(request, state, resource, o -> ConsentAction.COLLECT, newInBundle);
      return;
    }
    Optional<IBaseResource> current = id == null ? Optional.empty() : current(type, id);
    Set<String> currentOwners = current.map(c -> owners(c, Set.of())).orElse(Set.of());
    if (current.isPresent()) {
      // The data being replaced or removed belongs to its current owners: they decide too.
      requireAllowed(request, state, current.get(), o -> ConsentAction.CORRECT, Set.of());
    }
    IBaseResource result = resource;
    if (patch != null && current.isPresent()) {
      result = patched(current.get(), patch); // already checked as it is; now what the patch makes of it
    }
    if (result != null) {
      requireAllowed(request, state, result,
          o -> o != null && currentOwners.contains(o) ? ConsentAction.CORRECT : ConsentAction.COLLECT, newInBundle);
    }
  }

  private IBaseResource patched(IBaseResource current, Patch patch) {
    String ct = patch.contentType() == null ? "" : patch.contentType().toLowerCase(Locale.ROOT);
    String text = patch.body() == null ? "" : new String(patch.body(), StandardCharsets.UTF_8);
    try {
      if (ct.startsWith(Constants.CT_JSON_PATCH)) {
        return JsonPatchUtils.apply(fhir, current, text);
      }
      EncodingEnum encoding = EncodingEnum.forContentType(patch.contentType());
      if (encoding == EncodingEnum.JSON || encoding == EncodingEnum.XML) {
        IBaseResource parameters = encoding.newParser(fhir).parseResource(text);
        if (parameters instanceof IBaseParameters) {
          new FhirPatch(fhir).apply(current, parameters);
          return current;
        }
      }
    } catch (BaseServerResponseException | DataFormatException | IllegalArgumentException e) {
      // fall through: the result is unknown, so it cannot be checked
    }
    throw new InvalidRequestException("The patch could not be applied to the current version, so the gateway cannot "
        + "check patient consent on its result; nothing was forwarded. Send a JSON Patch ("
        + Constants.CT_JSON_PATCH + ") or a FHIRPath Patch (Parameters) that applies to the current version.");
  }

  private void requireAllowed(RequestDetails request, State state, IBaseResource resource,
      java.util.function.Function<String, ConsentAction> actionFor, Set<String> newInBundle) {
    for (String owner : owners(resource, newInBundle)) {
      ConsentAction action = actionFor.apply(owner);
      ConsentDecision d = owner == null ? null : state.decide(this, request, owner, action);
      if (d == null || !d.allows(resource)) {
        state.denied = true;
        state.refusal = d;
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
   * <p>A listing (search, history, {@code $everything}) is filled to the page size the caller asked for: while
   * filtering removes entries, further EHR pages are fetched through {@code pages} (at most {@code maxPageFetches} EHR
   * pages per request, this answer included) until the page holds {@code _count} permitted counted entries or the EHR
   * has no more. Its {@code next} link is the gateway's own ({@link PagingLinks}); the EHR's paging links and
   * {@code total} are removed. {@code _include}/{@code _revinclude} entries are filtered and not counted.
   *
   * @param firstPage the EHR path and query that answers the first page again (a fresh search), or null
   * @param pages fetches further EHR pages of a listing; null to filter in place
   * @return the body to return (the same array when nothing changed, empty when a write's representation is withheld)
   * @throws ForbiddenOperationException (403) or {@link ResourceNotFoundException} (404, with deny-as-not-found) for a
   *     denied resource read directly; 403 when an answer that may hold patient data cannot be parsed
   */
  public byte[] filterAnswer(RequestDetails request, RestOperationTypeEnum operation, boolean write, int status,
      byte[] body, String contentType, String firstPage, PageFetcher pages) {
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
      changed = mergeRefusedEntries(request, bundle);
      if (!write && pages != null && isListing(bundle)) {
        fill(request, state, bundle, encoding, firstPage, pages);
        changed = true;
      } else {
        changed |= filterBundle(request, state, bundle, write);
      }
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
    return encode(request, encoding, resource);
  }

  private byte[] encode(RequestDetails request, EncodingEnum encoding, IBaseResource resource) {
    IParser parser = encoding.newParser(fhir);
    String[] pretty = request.getParameters().get(Constants.PARAM_PRETTY);
    parser.setPrettyPrint(pretty != null && pretty.length > 0 && "true".equals(pretty[0]));
    return parser.encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
  }

  private static boolean isListing(Bundle bundle) {
    return bundle.getType() == Bundle.BundleType.SEARCHSET || bundle.getType() == Bundle.BundleType.HISTORY;
  }

  /** Puts the answers of a batch's refused entries back at their positions; true when there were any. */
  private boolean mergeRefusedEntries(RequestDetails request, Bundle response) {
    if (!(request.getUserData().get(BATCH_KEY) instanceof RefusedEntries refused)
        || response.getType() != Bundle.BundleType.BATCHRESPONSE
        || response.getEntry().size() != refused.size() - refused.refused().size()) {
      return false;
    }
    List<Bundle.BundleEntryComponent> answered = new ArrayList<>(response.getEntry());
    response.getEntry().clear();
    Iterator<Bundle.BundleEntryComponent> next = answered.iterator();
    for (int i = 0; i < refused.size(); i++) {
      BaseServerResponseException e = refused.refused().get(i);
      if (e == null) {
        response.addEntry(next.next());
        continue;
      }
      int status = e.getStatusCode();
      String text = e.getMessage();
      if (status == 403 && denyAsNotFound) {
        status = 404;
        text = "The resource this entry names is not known.";
      }
      response.addEntry().getResponse().setStatus(status + (status == 400 ? " Bad Request"
          : status == 404 ? " Not Found" : " Forbidden")).setOutcome(refusalOutcome(status, text));
    }
    return true;
  }

  private static OperationOutcome refusalOutcome(int status, String text) {
    OperationOutcome outcome = new OperationOutcome();
    outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR)
        .setCode(status == 400 ? OperationOutcome.IssueType.INVALID
            : status == 404 ? OperationOutcome.IssueType.NOTFOUND : OperationOutcome.IssueType.FORBIDDEN)
        .setDiagnostics(text.replaceFirst("^HAPI-\\d+: ", ""));
    return outcome;
  }

  /**
   * Fills a listing page from the EHR's answer and, where filtering left it short, the EHR's following pages; sets the
   * gateway's own {@code next} link where more may follow. Mutates {@code page} into the answer.
   */
  private void fill(RequestDetails request, State state, Bundle page, EncodingEnum encoding, String firstPage,
      PageFetcher pages) {
    String gatewayBase = request.getFhirServerBase();
    PagingLinks.Position from = (PagingLinks.Position) request.getUserData().get(POSITION_KEY);
    Bundle.BundleType bundleType = page.getType();
    String selfUrl = from != null ? request.getCompleteUrl()
        : page.getLink(Bundle.LINK_SELF) == null ? null : page.getLink(Bundle.LINK_SELF).getUrl();
    int target = from != null ? from.count() : requestedCount(request, page);
    String currentUrl = from != null ? from.upstream() : firstPage;
    int skip = from != null ? from.skip() : 0;

    List<Bundle.BundleEntryComponent> counted = new ArrayList<>();
    Map<String, Bundle.BundleEntryComponent> others = new LinkedHashMap<>();
    PagingLinks.Position resume = null;
    Bundle current = page;
    List<Bundle.BundleEntryComponent> firstEntries = new ArrayList<>(page.getEntry());
    int fetched = 1;
    while (true) {
      List<Bundle.BundleEntryComponent> entries = current == page ? firstEntries : current.getEntry();
      List<Bundle.BundleEntryComponent> matches = new ArrayList<>();
      for (Bundle.BundleEntryComponent e : entries) {
        if (isCounted(bundleType, e)) {
          matches.add(e);
        } else if (keep(request, state, bundleType, e)) {
          others.putIfAbsent(entryKey(e), e);
        }
      }
      Optional<String> next = upstreamNext(current, gatewayBase);
      boolean full = false;
      for (int i = skip; i < matches.size() && !full; i++) {
        if (keep(request, state, bundleType, matches.get(i))) {
          counted.add(matches.get(i));
        }
        if (counted.size() >= target && i + 1 < matches.size() && currentUrl != null) {
          full = true;
          resume = new PagingLinks.Position(currentUrl, i + 1, target);
        }
        // Without a GET for this page (a first page answered to a POST), a page cannot resume inside it: it is
        // taken whole, so the page may hold more than _count rather than lose the rest.
      }
      if (!full && counted.size() >= target) {
        full = true;
        resume = next.map(u -> new PagingLinks.Position(u, 0, target)).orElse(null);
      }
      if (full || next.isEmpty()) {
        break;
      }
      if (fetched >= maxPageFetches) {
        resume = new PagingLinks.Position(next.get(), 0, target); // bounded work per request; the caller follows on
        break;
      }
      Optional<Bundle> more;
      try {
        more = pages.fetch(next.get()).flatMap(b -> parse(b, encoding.getResourceContentTypeNonLegacy()))
            .filter(Bundle.class::isInstance).map(Bundle.class::cast);
      } catch (BaseServerResponseException e) {
        if (counted.isEmpty()) {
          throw e;
        }
        more = Optional.empty();
      }
      fetched++;
      if (more.isEmpty()) {
        resume = new PagingLinks.Position(next.get(), 0, target); // what was collected, and a link to try again
        break;
      }
      current = more.get();
      currentUrl = next.get();
      skip = 0;
    }
    page.getEntry().clear();
    page.getEntry().addAll(counted);
    page.getEntry().addAll(linked(counted, others.values()));
    page.setTotalElement(null); // a total would reveal how much was withheld
    page.getLink().clear();
    if (selfUrl != null) {
      page.addLink().setRelation(Bundle.LINK_SELF).setUrl(selfUrl);
    }
    if (resume != null) {
      page.addLink().setRelation(Bundle.LINK_NEXT).setUrl(paging.link(request, gatewayBase, resume));
    }
  }

  /**
   * The include entries linked to what is returned: referenced by a returned match or include ({@code _include}), or
   * referencing one ({@code _revinclude}), transitively ({@code :iterate}); outcome entries always. An include whose
   * match was withheld is dropped too: it would show that a withheld match existed (a permitted Patient included by
   * a withheld result of a sensitive code).
   */
  private List<Bundle.BundleEntryComponent> linked(List<Bundle.BundleEntryComponent> matches,
      java.util.Collection<Bundle.BundleEntryComponent> includes) {
    List<Bundle.BundleEntryComponent> out = new ArrayList<>();
    Set<String> returned = new HashSet<>();
    Set<String> referenced = new HashSet<>();
    for (Bundle.BundleEntryComponent m : matches) {
      if (m.hasResource()) {
        returned.add(key(m.getResource()));
        referenced.addAll(references(m.getResource()));
      }
    }
    List<Bundle.BundleEntryComponent> pending = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : includes) {
      if (!e.hasResource() || e.getResource() instanceof OperationOutcome) {
        out.add(e);
      } else {
        pending.add(e);
      }
    }
    boolean grew = true;
    while (grew) {
      grew = false;
      for (Iterator<Bundle.BundleEntryComponent> it = pending.iterator(); it.hasNext(); ) {
        IBaseResource r = it.next().getResource();
        Set<String> refs = references(r);
        if (referenced.contains(key(r)) || refs.stream().anyMatch(returned::contains)) {
          out.add(includes.stream().filter(e -> e.getResource() == r).findFirst().orElseThrow());
          returned.add(key(r));
          referenced.addAll(refs);
          it.remove();
          grew = true;
        }
      }
    }
    return out;
  }

  private static String key(IBaseResource r) {
    return r.fhirType() + "/" + r.getIdElement().getIdPart();
  }

  private Set<String> references(IBaseResource r) {
    Set<String> out = new HashSet<>();
    for (org.hl7.fhir.r4.model.Reference ref
        : fhir.newTerser().getAllPopulatedChildElementsOfType(r, org.hl7.fhir.r4.model.Reference.class)) {
      IIdType id = ref.getReferenceElement();
      if (id.hasResourceType() && id.hasIdPart()) {
        out.add(id.getResourceType() + "/" + id.getIdPart());
      }
    }
    return out;
  }

  private static int matchesIn(List<Bundle.BundleEntryComponent> entries, Bundle.BundleType type) {
    int n = 0;
    for (Bundle.BundleEntryComponent e : entries) {
      if (isCounted(type, e)) {
        n++;
      }
    }
    return n;
  }

  /** The page size the caller asked for; without {@code _count}, the EHR's own page size (its first page). */
  private static int requestedCount(RequestDetails request, Bundle firstPage) {
    String[] count = request.getParameters().get(Constants.PARAM_COUNT);
    if (count != null && count.length > 0) {
      try {
        return Math.max(1, Integer.parseInt(count[0].trim()));
      } catch (NumberFormatException e) {
        // the EHR has answered it somehow; fall back to its page size
      }
    }
    if (firstPage.getLink(Bundle.LINK_NEXT) == null) {
      return Integer.MAX_VALUE; // one page holds everything
    }
    return Math.max(1, matchesIn(firstPage.getEntry(), firstPage.getType()));
  }

  /** Whether an entry counts toward the page size: search matches (not includes or outcomes), every history entry. */
  private static boolean isCounted(Bundle.BundleType type, Bundle.BundleEntryComponent e) {
    if (type != Bundle.BundleType.SEARCHSET || !e.hasSearch() || !e.getSearch().hasMode()) {
      return !(type == Bundle.BundleType.SEARCHSET && e.getResource() instanceof OperationOutcome);
    }
    return e.getSearch().getMode() == Bundle.SearchEntryMode.MATCH;
  }

  private static String entryKey(Bundle.BundleEntryComponent e) {
    if (e.hasFullUrl()) {
      return e.getFullUrl();
    }
    if (e.hasResource()) {
      return e.getResource().fhirType() + "/" + e.getResource().getIdElement().getIdPart();
    }
    return "#" + System.identityHashCode(e);
  }

  /** The EHR's next page of a (rewritten) listing, relative to the EHR's base; empty at the end. */
  private static Optional<String> upstreamNext(Bundle page, String gatewayBase) {
    Bundle.BundleLinkComponent next = page.getLink(Bundle.LINK_NEXT);
    if (next == null || !next.hasUrl()) {
      return Optional.empty();
    }
    String base = gatewayBase.endsWith("/") ? gatewayBase.substring(0, gatewayBase.length() - 1) : gatewayBase;
    String url = next.getUrl();
    if (!url.startsWith(base)) {
      log.warn("The EHR's next link of a listing is not under its base; the listing ends there");
      return Optional.empty();
    }
    String rest = url.substring(base.length());
    if (rest.startsWith("?")) {
      rest = "/" + rest;
    }
    if (!rest.startsWith("/") || rest.startsWith("//")) {
      log.warn("The EHR's next link of a listing is not under its base; the listing ends there");
      return Optional.empty();
    }
    return Optional.of(rest);
  }

  /** Whether an entry of a listing stays (and its nested bundles are filtered); notes what was withheld. */
  private boolean keep(RequestDetails request, State state, Bundle.BundleType type, Bundle.BundleEntryComponent e) {
    if (!e.hasResource()) {
      if (type == Bundle.BundleType.HISTORY && e.hasRequest() && inCompartmentType(urlType(e))) {
        state.withheld = true; // a deleted version of patient data: its existence is not checkable without content
        return false;
      }
      return true;
    }
    IBaseResource r = e.getResource();
    if (r instanceof Bundle nested) {
      filterBundle(request, state, nested, false);
      return true;
    }
    if (r instanceof OperationOutcome || allowed(request, state, r)) {
      return true;
    }
    state.withheld = true;
    return false;
  }

  /**
   * Removes what the caller may not see; true when the bundle changed. Listings nested in a batch answer are
   * filtered in place, and their EHR paging links replaced by the gateway's own.
   */
  private boolean filterBundle(RequestDetails request, State state, Bundle bundle, boolean write) {
    boolean changed = false;
    boolean listing = isListing(bundle);
    if (listing && bundle.hasTotal()) {
      bundle.setTotalElement(null); // a total would reveal how much was withheld
      changed = true;
    }
    if (listing && !bundle.getLink().isEmpty()) {
      Optional<String> next = upstreamNext(bundle, request.getFhirServerBase());
      int size = Math.max(1, matchesIn(bundle.getEntry(), bundle.getType()));
      bundle.getLink().removeIf(l -> !Bundle.LINK_SELF.equals(l.getRelation()));
      next.ifPresent(u -> bundle.addLink().setRelation(Bundle.LINK_NEXT)
          .setUrl(paging.link(request, request.getFhirServerBase(), new PagingLinks.Position(u, 0, size))));
      changed = true;
    }
    boolean responses = bundle.getType() == Bundle.BundleType.TRANSACTIONRESPONSE
        || bundle.getType() == Bundle.BundleType.BATCHRESPONSE;
    int position = -1;
    for (Iterator<Bundle.BundleEntryComponent> it = bundle.getEntry().iterator(); it.hasNext(); ) {
      Bundle.BundleEntryComponent e = it.next();
      position++;
      if (!e.hasResource() && !listing) {
        continue;
      }
      if (e.hasResource() && e.getResource() instanceof Bundle) {
        changed |= filterBundle(request, state, (Bundle) e.getResource(), write);
        continue;
      }
      if (keep(request, state, bundle.getType(), e)) {
        continue;
      }
      changed = true;
      if (responses && !state.readEntries.contains(position)) {
        e.setResource(null); // a write's representation: the write happened, its status stays
      } else if (responses) {
        // The entry stays at its position, answered as a denied read of its own would be.
        String deniedType = e.getResource().fhirType();
        e.setResource(null);
        e.getResponse().setLocation(null).setEtag(null).setLastModified(null)
            .setStatus(denyAsNotFound ? "404 Not Found" : "403 Forbidden")
            .setOutcome(refusalOutcome(denyAsNotFound ? 404 : 403, denyAsNotFound
                ? "The resource this entry names is not known."
                : "Patient consent does not allow this access to this " + deniedType + "."));
      } else {
        it.remove();
      }
    }
    if (bundle.getType() == Bundle.BundleType.SEARCHSET) {
      List<Bundle.BundleEntryComponent> matches = new ArrayList<>();
      List<Bundle.BundleEntryComponent> others = new ArrayList<>();
      for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
        (isCounted(Bundle.BundleType.SEARCHSET, e) ? matches : others).add(e);
      }
      List<Bundle.BundleEntryComponent> linked = linked(matches, others);
      if (linked.size() != others.size()) {
        bundle.getEntry().removeIf(e -> !isCounted(Bundle.BundleType.SEARCHSET, e) && !linked.contains(e));
        changed = true;
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
    boolean unknown = false;
    Optional<String> user = caller.flatMap(c -> actor(c.fhirUser()));
    if (affiliations != null && user.isPresent() && user.get().startsWith("Practitioner/")) {
      // Once per request: a failing look-up is not retried for every patient of a search.
      @SuppressWarnings("unchecked")
      Optional<Set<String>> roles = (Optional<Set<String>>) request.getUserData()
          .computeIfAbsent(AFFILIATIONS_KEY, k -> affiliations.of(user.get()));
      roles.ifPresent(actors::addAll);
      unknown = roles.isEmpty();
    }
    return new ConsentRequest(patient, clientId, actors, action, purposes, unknown);
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
    /** Positions of a batch's or transaction's read entries (GET, HEAD) in its request. */
    Set<Integer> readEntries = Set.of();
    /** The decision that refused the last write checked, or null (no decision: an owner the gateway cannot name). */
    ConsentDecision refusal;

    ConsentDecision decide(ConsentEnforcer enforcer, RequestDetails request, String patient, ConsentAction action) {
      return decisions.computeIfAbsent(action.code() + " " + patient,
          k -> enforcer.service.decide(enforcer.requestFor(request, patient, action)));
    }

    void note(RequestDetails request) {
      if (decisions.isEmpty()) {
        return;
      }
      boolean breakGlass = false;
      for (ConsentDecision d : decisions.values()) {
        breakGlass |= d.breakGlass();
      }
      String references = references(decisions.values());
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
      new ConsentNote(code, references).attachTo(request);
    }
  }

  /** The Consent versions decisions rested on, space separated (at most {@value #MAX_REFERENCES}), or null. */
  private static String references(java.util.Collection<ConsentDecision> decisions) {
    Set<String> references = new LinkedHashSet<>();
    for (ConsentDecision d : decisions) {
      for (ConsentVersion v : d.basis()) {
        if (references.size() < MAX_REFERENCES) {
          references.add(v.reference());
        }
      }
    }
    return references.isEmpty() ? null : String.join(" ", references);
  }
}
