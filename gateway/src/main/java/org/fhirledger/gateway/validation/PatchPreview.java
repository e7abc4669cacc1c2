package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.jpa.patch.FhirPatch;
import ca.uhn.fhir.jpa.patch.JsonPatchUtils;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.instance.model.api.IBaseParameters;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;

/**
 * What a PATCH would make of a resource: the current version is read from the EHR (by id, or for a conditional patch
 * by the search its URL names), and the patch (JSON Patch, or FHIRPath Patch as a Parameters resource) applied to it
 * with HAPI's own patch code, the code the HAPI JPA server uses. The patch the client sent is what is forwarded; this
 * is only for validation. Thread-safe.
 */
public final class PatchPreview {

  /** The outcome of a preview. */
  public sealed interface Result permits Patched, Failed, Unavailable, NoMatch, Ambiguous {}

  /** The resource as the patch would leave it. */
  public record Patched(IBaseResource resource) implements Result {}

  /** The patch cannot be applied to the current version; {@code reason} is for the client. */
  public record Failed(String reason) implements Result {}

  /** The current version could not be read (absent, gone, or the EHR refused): the EHR will answer the patch. */
  public record Unavailable() implements Result {}

  /** A conditional patch whose search matches nothing (FHIR: 404). */
  public record NoMatch() implements Result {}

  /** A conditional patch whose search matches more than one resource (FHIR: 412). */
  public record Ambiguous() implements Result {}

  /**
   * The resource a patch applies to: {@code type} and either {@code id}, or for a conditional patch the search
   * {@code query} (still URL-encoded, without the {@code ?}).
   */
  record Target(String type, String id, String query) {
    Target {
      Objects.requireNonNull(type, "type");
      if ((id == null) == (query == null)) {
        throw new IllegalArgumentException("a patch target has an id or a query, not both or neither");
      }
    }
  }

  private final UpstreamFhirClient upstream;

  public PatchPreview(UpstreamFhirClient upstream) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
  }

  /**
   * Previews one patch.
   *
   * @param patch the patch as the client sent it: JSON Patch text, or a Parameters resource in JSON or XML
   * @param contentType the patch's content type ({@code application/json-patch+json}, {@code application/fhir+json},
   *     ...); null when unknown
   */
  Result preview(Target target, String patch, String contentType, String requestId, FhirContext fhirContext) {
    Current current = current(target, requestId, fhirContext);
    if (!(current instanceof Found found)) {
      return switch (current) {
        case Missing m -> target.query() != null ? new NoMatch() : new Unavailable();
        case Several s -> new Ambiguous();
        default -> new Unavailable();
      };
    }
    IBaseResource resource = found.resource();
    String ct = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
    try {
      if (ct.startsWith(Constants.CT_JSON_PATCH)) {
        return new Patched(JsonPatchUtils.apply(fhirContext, resource, patch));
      }
      EncodingEnum encoding = EncodingEnum.forContentType(contentType);
      if (encoding == EncodingEnum.JSON || encoding == EncodingEnum.XML) {
        IBaseResource parameters = encoding.newParser(fhirContext).parseResource(patch);
        if (!(parameters instanceof IBaseParameters)) {
          return new Failed("A FHIRPath Patch is a Parameters resource, not a " + parameters.fhirType());
        }
        new FhirPatch(fhirContext).apply(resource, parameters);
        return new Patched(resource);
      }
      return new Failed("Unsupported patch content type; use " + Constants.CT_JSON_PATCH
          + " (JSON Patch) or application/fhir+json (FHIRPath Patch)");
    } catch (BaseServerResponseException | DataFormatException | IllegalArgumentException e) {
      return new Failed("The patch cannot be applied to the current version: " + e.getMessage());
    }
  }

  private sealed interface Current permits Found, Missing, Several, Unreadable {}

  private record Found(IBaseResource resource) implements Current {}

  private record Missing() implements Current {}

  private record Several() implements Current {}

  private record Unreadable() implements Current {}

  private Current current(Target target, String requestId, FhirContext fhirContext) {
    String query = target.query() == null ? null : withoutCount(target.query());
    String path = target.id() != null
        ? "/" + target.type() + "/" + target.id()
        // Two matches are enough to know the patch is ambiguous; the client's own _count is overridden.
        : "/" + target.type() + "?" + (query.isEmpty() ? "" : query + "&") + "_count=2";
    UpstreamResponse response;
    try {
      response = upstream.exchange(new UpstreamRequest("GET", path,
          Map.of("accept", List.of(Constants.CT_FHIR_JSON_NEW), "x-request-id", List.of(requestId)), new byte[0]));
    } catch (RuntimeException e) {
      return new Unreadable();
    }
    if (response.status() != 200) {
      return target.id() != null && (response.status() == 404 || response.status() == 410)
          ? new Missing() : new Unreadable();
    }
    IBaseResource body;
    try {
      body = fhirContext.newJsonParser().parseResource(new String(response.body(), StandardCharsets.UTF_8));
    } catch (DataFormatException e) {
      return new Unreadable();
    }
    if (target.id() != null) {
      return new Found(body);
    }
    if (!(body instanceof Bundle bundle)) {
      return new Unreadable();
    }
    List<IBaseResource> matches = bundle.getEntry().stream()
        .filter(e -> e.hasResource() && (!e.hasSearch() || e.getSearch().getMode() != Bundle.SearchEntryMode.INCLUDE
            && e.getSearch().getMode() != Bundle.SearchEntryMode.OUTCOME))
        .map(e -> (IBaseResource) e.getResource())
        .filter(r -> r.fhirType().equals(target.type()))
        .toList();
    return switch (matches.size()) {
      case 0 -> new Missing();
      case 1 -> new Found(matches.get(0));
      default -> new Several();
    };
  }

  private static String withoutCount(String query) {
    StringBuilder sb = new StringBuilder();
    for (String pair : query.split("&")) {
      if (pair.isEmpty() || pair.startsWith("_count=")) {
        continue;
      }
      sb.append(sb.isEmpty() ? "" : "&").append(pair);
    }
    return sb.toString();
  }
}
