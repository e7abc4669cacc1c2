package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.hl7.fhir.r4.model.Binary;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Parameters;

/**
 * The resources a transaction or batch writes (entries with request method POST or PUT), each as the client sent
 * it, and its patches (entries with request method PATCH: a Binary holding a JSON Patch, or a Parameters resource
 * holding a FHIRPath Patch, as HAPI's JPA server takes them). JSON entries are cut out of the client's JSON
 * unchanged, so the validator sees what the parser would drop; XML bundles are parsed and each resource re-encoded
 * as JSON.
 */
final class BundleEntries {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> WRITES = Set.of("POST", "PUT");

  /** One resource to validate: its position in {@code Bundle.entry} (0-based), its type, its JSON. */
  record Entry(int index, String resourceType, String json) {}

  /**
   * One patch to preview: its position in {@code Bundle.entry}, its {@code request.url} (relative, as sent), the
   * patch text and its content type; {@code patch} is null when the entry holds no patch the gateway understands
   * (the EHR answers such an entry).
   */
  record PatchEntry(int index, String url, String patch, String contentType) {}

  /** What a bundle writes: resources sent whole, and patches. */
  record Writes(List<Entry> resources, List<PatchEntry> patches) {}

  /** The body is not a Bundle. */
  static final class NotABundle extends Exception {
    NotABundle(String message) {
      super(message, null, false, false);
    }
  }

  private BundleEntries() {}

  static Writes of(String body, EncodingEnum encoding, FhirContext fhirContext) throws NotABundle {
    if (encoding == EncodingEnum.XML || (encoding == null && body.stripLeading().startsWith("<"))) {
      return fromXml(body, fhirContext);
    }
    return fromJson(body);
  }

  private static Writes fromJson(String body) throws NotABundle {
    JsonNode bundle;
    try {
      bundle = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new NotABundle("not JSON");
    }
    if (bundle == null || !"Bundle".equals(bundle.path("resourceType").asText())) {
      throw new NotABundle("not a Bundle");
    }
    List<Entry> out = new ArrayList<>();
    List<PatchEntry> patches = new ArrayList<>();
    JsonNode entries = bundle.path("entry");
    for (int i = 0; i < entries.size(); i++) {
      JsonNode entry = entries.get(i);
      JsonNode resource = entry.path("resource");
      String method = entry.path("request").path("method").asText("").toUpperCase(Locale.ROOT);
      if (resource.isObject() && WRITES.contains(method) && resource.path("resourceType").isTextual()) {
        JsonNode copy = resource.deepCopy();
        standInForConditionalReferences(copy);
        out.add(new Entry(i, resource.get("resourceType").asText(), copy.toString()));
      } else if ("PATCH".equals(method)) {
        patches.add(jsonPatchEntry(i, entry.path("request").path("url").asText(""), resource));
      }
    }
    return new Writes(out, patches);
  }

  private static PatchEntry jsonPatchEntry(int index, String url, JsonNode resource) {
    String type = resource.path("resourceType").asText("");
    if ("Parameters".equals(type)) {
      return new PatchEntry(index, url, resource.toString(), Constants.CT_FHIR_JSON_NEW);
    }
    if ("Binary".equals(type) && resource.path("data").isTextual()) {
      try {
        return new PatchEntry(index, url,
            new String(Base64.getDecoder().decode(resource.path("data").asText()), StandardCharsets.UTF_8),
            resource.path("contentType").asText(null));
      } catch (IllegalArgumentException notBase64) {
        return new PatchEntry(index, url, null, null);
      }
    }
    return new PatchEntry(index, url, null, null);
  }

  /**
   * A transaction may reference a resource by search ({@code Patient?identifier=system|value}); the EHR resolves it
   * when it processes the transaction. HAPI's validator cannot evaluate such a reference on its own (it fails on
   * it), so the copy that is validated gets a literal reference of the same type in its place. What is forwarded is
   * the client's bundle, unchanged.
   */
  private static void standInForConditionalReferences(JsonNode node) {
    if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode object) {
      JsonNode reference = object.get("reference");
      if (reference != null && reference.isTextual() && CONDITIONAL.matcher(reference.asText()).matches()) {
        String type = reference.asText().substring(0, reference.asText().indexOf('?'));
        object.put("reference", type + "/conditional-reference");
      }
      object.elements().forEachRemaining(BundleEntries::standInForConditionalReferences);
    } else if (node != null && node.isArray()) {
      node.elements().forEachRemaining(BundleEntries::standInForConditionalReferences);
    }
  }

  private static final java.util.regex.Pattern CONDITIONAL = java.util.regex.Pattern.compile("^[A-Z][A-Za-z]+\\?.+");

  private static Writes fromXml(String body, FhirContext fhirContext) throws NotABundle {
    Bundle bundle;
    try {
      bundle = fhirContext.newXmlParser().parseResource(Bundle.class, body);
    } catch (DataFormatException e) {
      throw new NotABundle("not an XML Bundle");
    }
    List<Entry> out = new ArrayList<>();
    List<PatchEntry> patches = new ArrayList<>();
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      Bundle.BundleEntryComponent entry = bundle.getEntry().get(i);
      Bundle.HTTPVerb method = entry.getRequest().getMethod();
      if (entry.hasResource() && (method == Bundle.HTTPVerb.POST || method == Bundle.HTTPVerb.PUT)) {
        out.add(new Entry(i, entry.getResource().fhirType(),
            fhirContext.newJsonParser().encodeResourceToString(entry.getResource())));
      } else if (method == Bundle.HTTPVerb.PATCH) {
        String url = entry.getRequest().getUrl() == null ? "" : entry.getRequest().getUrl();
        if (entry.getResource() instanceof Parameters parameters) {
          patches.add(new PatchEntry(i, url, fhirContext.newJsonParser().encodeResourceToString(parameters),
              Constants.CT_FHIR_JSON_NEW));
        } else if (entry.getResource() instanceof Binary binary && binary.hasData()) {
          patches.add(new PatchEntry(i, url, new String(binary.getData(), StandardCharsets.UTF_8),
              binary.getContentType()));
        } else {
          patches.add(new PatchEntry(i, url, null, null));
        }
      }
    }
    return new Writes(out, patches);
  }
}
