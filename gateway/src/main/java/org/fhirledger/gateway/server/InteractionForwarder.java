package org.fhirledger.gateway.server;

import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.Optional;
import org.fhirledger.gateway.consent.ConsentEnforcer;
import org.fhirledger.gateway.ledger.Answered;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.gateway.provenance.ProvenanceWriter;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.gateway.upstream.UpstreamTimeoutException;
import org.fhirledger.gateway.upstream.UpstreamUnavailableException;
import org.fhirledger.gateway.validation.WriteValidation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one FHIR interaction to the EHR and writes the EHR's answer back to the client: the same
 * method, path, query, headers and body, with the gateway's base URL swapped for the EHR's on the
 * way in and back on the way out. Thread-safe; holds no per-request state.
 *
 * <p>Failures to reach the EHR become FHIR errors: 503 when it cannot be reached, 504 when it does
 * not answer in time, each with an OperationOutcome (raised as HAPI exceptions so that HAPI's
 * exception handling renders them in the client's format).
 */
public final class InteractionForwarder {

  private static final Logger log = LoggerFactory.getLogger(InteractionForwarder.class);

  /** Request headers that describe the client's connection to the gateway, not the interaction. */
  private static final Set<String> REQUEST_HEADERS_NOT_FORWARDED = Set.of(
      "host", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "content-length", "content-encoding", "accept-encoding", "expect",
      "authorization", "cookie", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
      "x-forwarded-port", "x-forwarded-prefix");

  /** Response headers that describe the EHR's connection or identity, or that the gateway sets itself. */
  private static final Set<String> RESPONSE_HEADERS_NOT_RETURNED = Set.of(
      "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server",
      "x-powered-by", "date", "x-request-id", "vary", "set-cookie", "strict-transport-security");

  /** Response headers that carry URLs and must not reveal the EHR's address. */
  private static final Set<String> URL_HEADERS = Set.of("location", "content-location", "link");

  private final UpstreamFhirClient upstream;
  private final BaseUrlRewriter rewriter;
  private final CapabilityStatementAdjuster capabilityAdjuster;
  private final boolean versionConflictAs412;
  private final InteractionRecorder recorder;
  private final ForwardingPolicy policy;
  private final ProvenanceWriter provenance;
  private final ConsentEnforcer consent;

  /**
   * @param policy narrows forwarded searches and checks answers (access control)
   * @param provenance stores the Provenance of writes; null when Provenance is switched off
   * @param consent enforces patient Consent on requests and answers; null when consent is switched off
   */
  public InteractionForwarder(UpstreamFhirClient upstream, CapabilityStatementAdjuster capabilityAdjuster,
      boolean versionConflictAs412, InteractionRecorder recorder, ForwardingPolicy policy,
      ProvenanceWriter provenance, ConsentEnforcer consent) {
    this.consent = consent;
    this.policy = Objects.requireNonNull(policy, "policy");
    this.recorder = Objects.requireNonNull(recorder, "recorder");
    this.provenance = provenance;
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.rewriter = new BaseUrlRewriter(upstream.baseUrl());
    this.capabilityAdjuster = Objects.requireNonNull(capabilityAdjuster, "capabilityAdjuster");
    this.versionConflictAs412 = versionConflictAs412;
  }

  /**
   * Forwards the interaction and writes the response. Called by HAPI through {@link
   * ForwardingMethodBinding}; public only because HAPI invokes it reflectively.
   *
   * @return always null: the response has been written
   */
  public Object forward(RequestDetails requestDetails) throws IOException {
    ServletRequestDetails request = (ServletRequestDetails) requestDetails;
    String gatewayBase = request.getFhirServerBase();
    RestOperationTypeEnum operation = Interactions.classify(request);
    GatewayOwnedTypes.refuseForwarding(request, operation);
    if (consent != null) {
      // Before the intent: a write Consent refuses is never forwarded (the refusal is recorded as it fails).
      consent.checkRequest(request, operation, Interactions.isWrite(request, operation),
          request.loadRequestContents(), request.getHeader(Constants.HEADER_CONTENT_TYPE));
    }
    UpstreamRequest upstreamRequest = toUpstream(request, gatewayBase);
    if (consent != null) {
      UpstreamRequest asked = upstreamRequest;
      // A gateway paging link names the EHR page to fetch; a batch may go on without its refused entries.
      upstreamRequest = consent.upstreamPage(request)
          .map(page -> new UpstreamRequest("GET", page, asked.headers(), new byte[0]))
          .orElse(upstreamRequest);
    }
    if (Interactions.isWrite(request, operation)) {
      // Fail closed: a write the ledger cannot record is never forwarded.
      long intent = recorder.recordIntent(request, operation);
      request.getUserData().put(FailedInteractionRecorder.INTENT_KEY, intent);
    }
    UpstreamResponse response = exchange(upstreamRequest);
    writeResponse(request, operation, upstreamRequest, response, gatewayBase);
    return null;
  }

  private UpstreamRequest toUpstream(ServletRequestDetails request, String gatewayBase) {
    HttpServletRequest servlet = request.getServletRequest();
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : Collections.list(servlet.getHeaderNames())) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (!REQUEST_HEADERS_NOT_FORWARDED.contains(lower)) {
        headers.put(lower, Collections.list(servlet.getHeaders(name)));
      }
    }
    headers.put("x-request-id", List.of(request.getRequestId()));

    String path = "/" + request.getRequestPath();
    String clientQuery = servlet.getQueryString();
    String query = policy.upstreamQuery(request, clientQuery);
    String pathAndQuery = query == null || query.isEmpty() ? path : path + "?" + query;

    byte[] body = new byte[0];
    String method = servlet.getMethod().toUpperCase(Locale.ROOT);
    if (!method.equals("GET") && !method.equals("HEAD") && !method.equals("DELETE")) {
      // HAPI has already uncompressed a gzip body; the EHR gets it plain (the header is dropped above).
      byte[] contents = consent == null ? request.loadRequestContents()
          : consent.forwardedBody(request).orElseGet(request::loadRequestContents);
      if ((contents == null || contents.length == 0) && isForm(servlet.getContentType()) && clientQuery == null) {
        // The servlet container parsed (and so consumed) a form-encoded _search body for HAPI's
        // parameter map; rebuild it from the parameters it yielded.
        contents = formEncode(request.getParameters());
      }
      body = rewriter.toUpstream(contents == null ? new byte[0] : contents, servlet.getContentType(), gatewayBase);
    }
    return new UpstreamRequest(method, pathAndQuery, headers, body);
  }

  private UpstreamResponse exchange(UpstreamRequest request) {
    try {
      return upstream.exchange(request);
    } catch (UpstreamUnavailableException e) {
      log.warn("EHR unreachable for a {} request: {}", request.method(), e.getClass().getSimpleName());
      throw new UnclassifiedServerFailureException(503,
          "The EHR behind this gateway could not be reached, so the request was not completed. "
              + "Try again later; if it persists, ask the gateway's operators to check the EHR connection.");
    } catch (UpstreamTimeoutException e) {
      log.warn("EHR timed out for a {} request", request.method());
      String advice = request.idempotentRead()
          ? "Try again later, or narrow the request (for example a smaller _count)."
          : "The change may or may not have been applied: read the resource before you retry.";
      throw new UnclassifiedServerFailureException(504,
          "The EHR behind this gateway did not answer in time. " + advice);
    } catch (RuntimeException e) {
      // A fault in the gateway's own client code: log it for the operators, tell the client no more.
      log.error("Forwarding a {} request failed", request.method(), e);
      throw new UnclassifiedServerFailureException(502,
          "The gateway failed while exchanging this request with the EHR; the failure is logged under "
              + "this response's X-Request-ID.");
    }
  }

  private void writeResponse(ServletRequestDetails request, RestOperationTypeEnum operation, UpstreamRequest sent,
      UpstreamResponse response, String gatewayBase) throws IOException {
    HttpServletResponse servlet = request.getServletResponse();
    String contentType = response.header("content-type").orElse(null);
    byte[] body = response.body();

    int status = response.status();
    if (status == 409 && versionConflictAs412 && isStaleVersionConflict(request, body)) {
      // HAPI's JPA server answers a stale If-Match with 409 (HAPI-0989); FHIR R4 http.html#concurrency says 412.
      status = 412;
    }
    if (status == 200 && operation == RestOperationTypeEnum.METADATA) {
      body = capabilityAdjuster.adjust(body, contentType, gatewayBase, request);
    }
    body = rewriter.toGateway(body, contentType, gatewayBase);
    if (!Interactions.isWrite(request, operation)) {
      body = policy.checkAnswer(request, operation, status, body, contentType);
    }
    if (consent != null) {
      boolean write = Interactions.isWrite(request, operation);
      body = consent.filterAnswer(request, operation, write, status, body, contentType, write ? null : againUrl(sent),
          write ? null : page -> nextPage(request, operation, sent, page, gatewayBase));
    }

    // Fail closed: nothing leaves the gateway before its ledger entry is durable.
    Long intent = (Long) request.getUserData().get(FailedInteractionRecorder.INTENT_KEY);
    String location = response.header("content-location").or(() -> response.header("location")).orElse(null);
    Answered answered = recorder.recordAnswered(request, operation, intent, status, body, contentType,
        location == null ? null : rewriter.toGateway(location, gatewayBase),
        versionedUrl -> storedVersion(versionedUrl, gatewayBase));
    request.getResponse().addHeader(InteractionRecorder.HEADER, Long.toString(answered.index()));
    if (provenance != null && !answered.writes().isEmpty()) {
      // Before the answer leaves, so that a client reading right after its write finds the Provenance.
      provenance.write(answered.writes(), request.getRequestId());
    }

    // A client that asked for an OperationOutcome gets the validation issues of its accepted write in it; the
    // ledger above holds what the EHR answered and stored. (A transaction's answer stays its response Bundle.)
    boolean singleWrite = operation == RestOperationTypeEnum.CREATE || operation == RestOperationTypeEnum.UPDATE
        || operation == RestOperationTypeEnum.PATCH;
    Optional<WriteValidation.Answer> asOutcome = status >= 200 && status < 300 && singleWrite
        ? WriteValidation.outcomeAnswer(request, body, contentType,
            location == null ? null : rewriter.toGateway(location, gatewayBase))
        : Optional.empty();
    if (asOutcome.isPresent()) {
      body = asOutcome.get().body();
    }

    servlet.setStatus(status);
    // Headers that HAPI and the gateway's interceptors queued on HAPI's response (X-Request-ID, ...).
    request.getResponse().getHeaders().forEach((name, values) -> values.forEach(v -> servlet.addHeader(name, v)));
    for (Map.Entry<String, List<String>> header : response.headers().entrySet()) {
      String name = header.getKey();
      if (RESPONSE_HEADERS_NOT_RETURNED.contains(name) || asOutcome.isPresent() && name.equals("content-type")) {
        continue;
      }
      for (String value : header.getValue()) {
        servlet.addHeader(name, URL_HEADERS.contains(name) ? rewriter.toGateway(value, gatewayBase) : value);
      }
    }
    asOutcome.ifPresent(a -> servlet.setContentType(a.contentType()));
    try {
      if (body.length > 0 && !request.getServletRequest().getMethod().equals("HEAD")) {
        servlet.setContentLength(body.length);
        servlet.getOutputStream().write(body);
      }
      servlet.flushBuffer();
    } catch (IOException clientGone) {
      // The client closed the connection; the interaction is already on the ledger, and there is
      // nobody left to send an OperationOutcome to.
      log.debug("Client went away before the response was written");
    }
  }

  /**
   * One more EHR page of a listing for the consent filter to fill a page with: URLs rewritten and SMART's answer check
   * applied, as for the first page. Empty when the EHR does not answer it with 200.
   */
  private Optional<byte[]> nextPage(ServletRequestDetails request, RestOperationTypeEnum operation,
      UpstreamRequest sent, String page, String gatewayBase) {
    UpstreamResponse more = exchange(new UpstreamRequest("GET", page, sent.headers(), new byte[0]));
    if (more.status() != 200) {
      log.warn("The EHR answered {} to a further page of a listing", more.status());
      return Optional.empty();
    }
    String contentType = more.header("content-type").orElse(null);
    byte[] body = rewriter.toGateway(more.body(), contentType, gatewayBase);
    return Optional.of(policy.checkAnswer(request, operation, 200, body, contentType));
  }

  /**
   * The EHR request that answers the first page of a listing again, as a GET (a search posted as a form becomes the
   * same search by GET), or null when there is none.
   */
  private static String againUrl(UpstreamRequest sent) {
    if (sent.method().equals("GET")) {
      return sent.pathAndQuery();
    }
    String path = sent.pathAndQuery();
    int q = path.indexOf('?');
    String query = q < 0 ? "" : path.substring(q + 1);
    path = q < 0 ? path : path.substring(0, q);
    if (!sent.method().equals("POST") || !path.endsWith("/_search")) {
      return null;
    }
    String form = new String(sent.body(), StandardCharsets.UTF_8);
    String all = query.isEmpty() ? form : form.isEmpty() ? query : query + "&" + form;
    String listing = path.substring(0, path.length() - "/_search".length());
    return (listing.isEmpty() ? "/" : listing) + (all.isEmpty() ? "" : "?" + all);
  }

  /** Reads the version a write stored, for its ledger digest, when the EHR's answer did not include it. */
  private Optional<IBaseResource> storedVersion(String versionedUrl, String gatewayBase) {
    String base = gatewayBase.endsWith("/") ? gatewayBase : gatewayBase + "/";
    if (!versionedUrl.startsWith(base)) {
      return Optional.empty();
    }
    UpstreamResponse read;
    try {
      read = upstream.exchange(new UpstreamRequest("GET", "/" + versionedUrl.substring(base.length()),
          Map.of("accept", List.of("application/fhir+json")), new byte[0]));
    } catch (RuntimeException e) {
      // The write itself succeeded: record it without the digest rather than report it as failed.
      log.warn("Could not read back a stored version for its digest: {}", e.getClass().getSimpleName());
      return Optional.empty();
    }
    if (read.status() != 200) {
      return Optional.empty();
    }
    String contentType = read.header("content-type").orElse("application/fhir+json");
    byte[] body = rewriter.toGateway(read.body(), contentType, gatewayBase);
    return recorder.parse(body, contentType);
  }

  private static boolean isForm(String contentType) {
    return contentType != null
        && contentType.toLowerCase(Locale.ROOT).startsWith(Constants.CT_X_FORM_URLENCODED);
  }

  private static byte[] formEncode(Map<String, String[]> parameters) {
    StringBuilder sb = new StringBuilder();
    parameters.forEach((name, values) -> {
      for (String value : values) {
        if (sb.length() > 0) {
          sb.append('&');
        }
        sb.append(URLEncoder.encode(name, StandardCharsets.UTF_8)).append('=')
            .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
      }
    });
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static boolean isStaleVersionConflict(ServletRequestDetails request, byte[] body) {
    if (request.getHeader(Constants.HEADER_IF_MATCH) == null) {
      return false;
    }
    String text = new String(body, StandardCharsets.UTF_8);
    return text.contains("HAPI-0989");
  }

}
