package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.api.EncodingEnum;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;

/**
 * The resources a transaction or batch writes (entries with request method POST or PUT), each as the client sent
 * it. JSON entries are cut out of the client's JSON unchanged, so the validator sees what the parser would drop;
 * XML bundles are parsed and each resource re-encoded as JSON.
 */
final class BundleEntries {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> WRITES = Set.of("POST", "PUT");

  /** One resource to validate: its position in {@code Bundle.entry} (0-based), its type, its JSON. */
  record Entry(int index, String resourceType, String json) {}

  /** The body is not a Bundle. */
  static final class NotABundle extends Exception {
    NotABundle(String message) {
      super(message, null, false, false);
    }
  }

  private BundleEntries() {}

  static List<Entry> of(String body, EncodingEnum encoding, FhirContext fhirContext) throws NotABundle {
    if (encoding == EncodingEnum.XML || (encoding == null && body.stripLeading().startsWith("<"))) {
      return fromXml(body, fhirContext);
    }
    return fromJson(body);
  }

  private static List<Entry> fromJson(String body) throws NotABundle {
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
    JsonNode entries = bundle.path("entry");
    for (int i = 0; i < entries.size(); i++) {
      JsonNode entry = entries.get(i);
      JsonNode resource = entry.path("resource");
      String method = entry.path("request").path("method").asText("").toUpperCase(Locale.ROOT);
      if (resource.isObject() && WRITES.contains(method) && resource.path("resourceType").isTextual()) {
        JsonNode copy = resource.deepCopy();
        standInForConditionalReferences(copy);
        out.add(new Entry(i, resource.get("resourceType").asText(), copy.toString()));
      }
    }
    return out;
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

  private static List<Entry> fromXml(String body, FhirContext fhirContext) throws NotABundle {
    Bundle bundle;
    try {
      bundle = fhirContext.newXmlParser().parseResource(Bundle.class, body);
    } catch (DataFormatException e) {
      throw new NotABundle("not an XML Bundle");
    }
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      Bundle.BundleEntryComponent entry = bundle.getEntry().get(i);
      Bundle.HTTPVerb method = entry.getRequest().getMethod();
      if (entry.hasResource() && (method == Bundle.HTTPVerb.POST || method == Bundle.HTTPVerb.PUT)) {
        out.add(new Entry(i, entry.getResource().fhirType(),
            fhirContext.newJsonParser().encodeResourceToString(entry.getResource())));
      }
    }
    return out;
  }
}
