package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.jpa.patch.FhirPatch;
import ca.uhn.fhir.jpa.patch.JsonPatchUtils;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
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

/**
 * What a PATCH would make of a resource: the current version is read from the EHR, and the patch (JSON Patch, or
 * FHIRPath Patch as a Parameters resource) applied to it with HAPI's own patch code, the code the HAPI JPA server
 * uses. The patch the client sent is what is forwarded; this is only for validation. Thread-safe.
 */
public final class PatchPreview {

  /** The outcome of a preview. */
  public sealed interface Result permits Patched, Failed, Unavailable {}

  /** The resource as the patch would leave it. */
  public record Patched(IBaseResource resource) implements Result {}

  /** The patch cannot be applied to the current version; {@code reason} is for the client. */
  public record Failed(String reason) implements Result {}

  /** The current version could not be read (absent, gone, or the EHR refused): the EHR will answer the patch. */
  public record Unavailable() implements Result {}

  private final UpstreamFhirClient upstream;

  public PatchPreview(UpstreamFhirClient upstream) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
  }

  /** Previews the PATCH in {@code request} (an instance-level patch: {@code Type/id}). */
  public Result preview(RequestDetails request, FhirContext fhirContext) {
    String path = "/" + request.getResourceName() + "/" + request.getId().getIdPart();
    UpstreamResponse current;
    try {
      current = upstream.exchange(new UpstreamRequest("GET", path,
          Map.of("accept", List.of(Constants.CT_FHIR_JSON_NEW), "x-request-id", List.of(request.getRequestId())),
          new byte[0]));
    } catch (RuntimeException e) {
      return new Unavailable();
    }
    if (current.status() != 200) {
      return new Unavailable();
    }
    IBaseResource resource = fhirContext.newJsonParser()
        .parseResource(new String(current.body(), StandardCharsets.UTF_8));
    byte[] patchBytes = request.loadRequestContents();
    String patch = patchBytes == null ? "" : new String(patchBytes, StandardCharsets.UTF_8);
    String contentType = request.getHeader(Constants.HEADER_CONTENT_TYPE);
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
    } catch (BaseServerResponseException | ca.uhn.fhir.parser.DataFormatException | IllegalArgumentException e) {
      return new Failed("The patch cannot be applied to the current version: " + e.getMessage());
    }
  }
}
