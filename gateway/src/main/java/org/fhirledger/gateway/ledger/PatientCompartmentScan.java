package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeChildChoiceDefinition;
import ca.uhn.fhir.context.RuntimeChildResourceDefinition;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.context.RuntimeSearchParam;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the patients whose data a FHIR JSON answer discloses with one streaming pass over its tokens (Jackson),
 * without building HAPI's resource model: the same set as {@link FhirContent#patients} gives for the parsed
 * content, at a fraction of the cost. Thread-safe.
 *
 * <p>What it reads: each resource's {@code resourceType}; a Patient's {@code id} (or, inside a Bundle entry, the
 * entry's {@code fullUrl}, which HAPI's parser puts in its place); a Bundle's entries, nested Bundles included; and
 * for every other resource type only the elements that the Patient compartment's search parameters name (for
 * example {@code Observation.subject} and {@code Observation.performer}), applying their
 * {@code where(resolve() is Patient)} filters as HAPI's {@code FhirTerser.getCompartmentOwnersForResource} does.
 * Everything else is skipped without being decoded.
 *
 * <p>It answers only when it is sure to agree with HAPI, and otherwise returns empty so that the caller parses:
 * not JSON, {@code resourceType} not the first member of a resource, a resource type whose compartment paths are
 * not plain element paths (choice types, functions), an element of an unexpected JSON shape, a reference that is
 * not a plain {@code Type/id} (optionally absolute, optionally versioned) or a Patient id or {@code fullUrl} that is
 * not plain or that disagree.
 */
final class PatientCompartmentScan {

  private static final JsonFactory JSON = JsonFactory.builder().build();
  /** HAPI's own regex for R4 compartment paths ({@code FhirTerser.COMPARTMENT_MATCHER_PATH}). */
  private static final Pattern WHERE_RESOLVE_IS = Pattern.compile("([a-zA-Z.]+)\\.where\\(resolve\\(\\) is ([a-zA-Z]+)\\)");
  private static final Pattern PLAIN_PATH = Pattern.compile("[A-Za-z]+(\\.[A-Za-z]+)+");
  private static final String ID = "[A-Za-z0-9\\-.]{1,64}";
  private static final Pattern PLAIN_ID = Pattern.compile(ID);
  /** {@code Type/id}, {@code Type/id/_history/v}, and the same after an http(s) base URL. */
  private static final Pattern PLAIN_REFERENCE =
      Pattern.compile("(?:https?://[^\\s?#]+/)?([A-Z][A-Za-z]*)/(" + ID + ")(?:/_history/" + ID + ")?");

  /** Thrown inside a scan when the answer is not one this scan can be sure about. */
  private static final class Unsure extends Exception {
    Unsure() {
      super(null, null, false, false);
    }
  }

  private static final Unsure UNSURE = new Unsure();

  /** One element along compartment paths: what to descend into, and the reference filters of paths that end here. */
  private static final class Node {
    final Map<String, Node> children = new HashMap<>();
    /** One entry per path ending here: the resource type it wants, or null for any. */
    final List<String> wanted = new ArrayList<>();
  }

  /** Resource type → the root of its compartment paths; types that are not scannable map to null. */
  private final Map<String, Node> pathsByType = new HashMap<>();
  private final Set<String> resourceTypes;

  PatientCompartmentScan(FhirContext fhirContext) {
    this.resourceTypes = fhirContext.getResourceTypes();
    for (String type : resourceTypes) {
      RuntimeResourceDefinition def = fhirContext.getResourceDefinition(type);
      pathsByType.put(type, compile(def));
    }
  }

  /** The compartment paths of a resource type as a tree, or null when one of them is not a plain element path. */
  private static Node compile(RuntimeResourceDefinition def) {
    Node root = new Node();
    List<RuntimeSearchParam> params = def.getSearchParamsForCompartmentName("Patient");
    if (params == null) {
      return root;
    }
    for (RuntimeSearchParam param : params) {
      for (String path : param.getPathsSplit()) {
        String wantType = null;
        Matcher m = WHERE_RESOLVE_IS.matcher(path);
        if (m.matches()) {
          path = m.group(1);
          wantType = m.group(2);
        }
        if (!PLAIN_PATH.matcher(path).matches()) {
          return null;
        }
        String[] parts = path.split("\\.");
        if (!parts[0].equals(def.getName())) {
          // HAPI's terser finds nothing on a path for another type.
          continue;
        }
        BaseRuntimeElementCompositeDefinition<?> element = def;
        Node node = root;
        for (int i = 1; i < parts.length; i++) {
          BaseRuntimeChildDefinition child = element.getChildByName(parts[i]);
          if (child == null || child instanceof RuntimeChildChoiceDefinition) {
            return null;
          }
          boolean last = i == parts.length - 1;
          if (last) {
            if (!(child instanceof RuntimeChildResourceDefinition)) {
              return null;
            }
          } else {
            BaseRuntimeElementDefinition<?> next = child.getChildByName(parts[i]);
            if (!(next instanceof BaseRuntimeElementCompositeDefinition<?> composite)) {
              return null;
            }
            element = composite;
          }
          node = node.children.computeIfAbsent(parts[i], k -> new Node());
        }
        node.wanted.add(wantType);
      }
    }
    return root;
  }

  /** Resource types whose compartment paths this scan cannot follow (answers holding them are parsed). */
  Set<String> unscannableTypes() {
    Set<String> out = new TreeSet<>();
    pathsByType.forEach((type, node) -> {
      if (node == null) {
        out.add(type);
      }
    });
    return out;
  }

  /**
   * The references ({@code Patient/123}) of the patients whose compartment the JSON answer's resources belong to,
   * or empty when the caller must parse the answer to know.
   */
  Optional<Set<String>> patients(byte[] json) {
    Set<String> out = new TreeSet<>();
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return Optional.empty();
      }
      String type = resource(p, out, null);
      if (type == null || p.nextToken() != null) {
        return Optional.empty();
      }
      return Optional.of(out);
    } catch (Unsure | IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Scans one resource object (the parser is on its START_OBJECT) and leaves the parser on its END_OBJECT.
   *
   * @param fullUrl the Bundle entry's fullUrl, when the resource is an entry's and the fullUrl came first
   * @return the resource type; for a Patient, its id is added to {@code out} as HAPI would name it
   */
  private String resource(JsonParser p, Set<String> out, EntryContext entry) throws IOException, Unsure {
    if (p.nextToken() != JsonToken.FIELD_NAME || !"resourceType".equals(p.currentName())
        || p.nextToken() != JsonToken.VALUE_STRING) {
      throw UNSURE;
    }
    String type = p.getText();
    if (!resourceTypes.contains(type)) {
      throw UNSURE;
    }
    if (type.equals("Patient")) {
      String id = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (name.equals("id")) {
          if (value != JsonToken.VALUE_STRING || id != null) {
            throw UNSURE;
          }
          id = p.getText();
        } else {
          p.skipChildren();
        }
      }
      if (entry != null) {
        entry.patientId = id;
        entry.isPatient = true;
      } else if (id != null) {
        out.add("Patient/" + plainId(id));
      }
      return type;
    }
    if (type.equals("Bundle")) {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (name.equals("entry")) {
          if (value != JsonToken.START_ARRAY) {
            throw UNSURE;
          }
          while (p.nextToken() == JsonToken.START_OBJECT) {
            bundleEntry(p, out);
          }
          if (p.currentToken() != JsonToken.END_ARRAY) {
            throw UNSURE;
          }
        } else {
          p.skipChildren();
        }
      }
      return type;
    }
    Node paths = pathsByType.get(type);
    if (paths == null) {
      throw UNSURE;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      Node child = paths.children.get(p.currentName());
      p.nextToken();
      if (child == null) {
        p.skipChildren();
      } else {
        element(p, child, out);
      }
    }
    return type;
  }

  /** What a Bundle entry says about a Patient in it. */
  private static final class EntryContext {
    boolean isPatient;
    String patientId;
  }

  private void bundleEntry(JsonParser p, Set<String> out) throws IOException, Unsure {
    String fullUrl = null;
    EntryContext entry = new EntryContext();
    boolean hasResource = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (name.equals("fullUrl")) {
        if (value != JsonToken.VALUE_STRING || fullUrl != null) {
          throw UNSURE;
        }
        fullUrl = p.getText();
      } else if (name.equals("resource")) {
        if (value != JsonToken.START_OBJECT || hasResource) {
          throw UNSURE;
        }
        hasResource = true;
        resource(p, out, entry);
      } else {
        p.skipChildren();
      }
    }
    if (!entry.isPatient) {
      return;
    }
    // HAPI's parser gives an entry's resource the entry's fullUrl as its id: name the Patient only when both agree.
    String id = entry.patientId == null ? null : plainId(entry.patientId);
    if (fullUrl != null) {
      Matcher m = PLAIN_REFERENCE.matcher(fullUrl);
      if (!m.matches() || !m.group(1).equals("Patient") || !m.group(2).equals(id)) {
        throw UNSURE;
      }
    }
    if (id != null) {
      out.add("Patient/" + id);
    }
  }

  /** Follows the compartment paths below {@code node} through the element the parser is on (its first token). */
  private void element(JsonParser p, Node node, Set<String> out) throws IOException, Unsure {
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_ARRAY) {
      while (p.nextToken() != JsonToken.END_ARRAY) {
        element(p, node, out);
      }
      return;
    }
    if (t != JsonToken.START_OBJECT) {
      throw UNSURE;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (!node.wanted.isEmpty() && name.equals("reference")) {
        if (value != JsonToken.VALUE_STRING) {
          throw UNSURE;
        }
        reference(p.getText(), node.wanted, out);
        continue;
      }
      Node child = node.children.get(name);
      if (child == null) {
        p.skipChildren();
      } else {
        element(p, child, out);
      }
    }
  }

  private static void reference(String reference, List<String> wanted, Set<String> out) throws Unsure {
    Matcher m = PLAIN_REFERENCE.matcher(reference);
    if (!m.matches()) {
      throw UNSURE;
    }
    String type = m.group(1);
    for (String want : wanted) {
      if (type.equals("Patient") && (want == null || want.equals(type))) {
        // As FhirContent does with HAPI's compartment owners: only a reference to a Patient names one (a path
        // without a type filter, such as Observation.performer, may hold a Practitioner).
        out.add("Patient/" + m.group(2));
      }
    }
  }

  private static String plainId(String id) throws Unsure {
    if (!PLAIN_ID.matcher(id).matches()) {
      throw UNSURE;
    }
    return id;
  }
}
