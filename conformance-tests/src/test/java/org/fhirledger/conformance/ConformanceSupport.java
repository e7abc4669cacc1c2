package org.fhirledger.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.parser.IParser;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Common ground of the test classes that run against a {@link Target}. */
abstract class ConformanceSupport {

  static final String ID_SYSTEM = "urn:fhir-ledger:conformance:id";
  static final String GROUP_SYSTEM = "urn:fhir-ledger:conformance:group";

  /** The gateway and EHR these tests run against. */
  abstract Target target();

  @BeforeEach
  void clearLeakRecord() {
    target().guard().assertNoViolations();
  }

  @AfterEach
  void noResponseLeakedTheEhrAddress() {
    target().guard().assertNoViolations();
  }

  static String unique() {
    return UUID.randomUUID().toString();
  }

  static IParser json() {
    return Target.fhir().newJsonParser();
  }

  static IParser xml() {
    return Target.fhir().newXmlParser();
  }

  /** Replaces the gateway's and the EHR's base URLs by a placeholder, for side-by-side comparisons. */
  String normaliseBases(String text) {
    return text.replace(target().gatewayBase(), "{BASE}").replace(target().ehrBase().toString(), "{BASE}");
  }

  /** The entry resources of a bundle, JSON-encoded and base-normalised, in order. */
  List<String> entryResources(Bundle bundle) {
    List<String> out = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      out.add(normaliseBases(json().encodeResourceToString(e.getResource())));
    }
    return out;
  }

  String encode(IBaseResource r) {
    return normaliseBases(json().encodeResourceToString(r));
  }

  /** Asserts every link and fullUrl of a bundle points at the gateway. */
  void assertBundleUrlsAtGateway(Bundle bundle) {
    for (Bundle.BundleLinkComponent l : bundle.getLink()) {
      assertTrue(l.getUrl().startsWith(target().gatewayBase()),
          () -> "link " + l.getRelation() + " should point at the gateway " + target().gatewayBase() + ": " + l.getUrl());
    }
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (e.hasFullUrl()) {
        assertTrue(e.getFullUrl().startsWith(target().gatewayBase() + "/"),
            () -> "fullUrl should point at the gateway " + target().gatewayBase() + ": " + e.getFullUrl());
      }
      if (e.hasResponse() && e.getResponse().hasLocation() && e.getResponse().getLocation().contains("://")) {
        assertTrue(e.getResponse().getLocation().startsWith(target().gatewayBase() + "/"),
            () -> "entry location should point at the gateway: " + e.getResponse().getLocation());
      }
    }
  }

  static List<String> ids(Bundle bundle, Class<? extends Resource> type) {
    List<String> out = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (type.isInstance(e.getResource())) {
        out.add(e.getResource().getIdElement().toUnqualifiedVersionless().getValue());
      }
    }
    return out;
  }
}
