package org.fhirledger.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.model.api.Include;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.SearchStyleEnum;
import ca.uhn.fhir.rest.api.SummaryEnum;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.apache.GZipContentInterceptor;
import ca.uhn.fhir.rest.gclient.ReferenceClientParam;
import ca.uhn.fhir.rest.gclient.TokenClientParam;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Meta;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;

/**
 * Every FHIR interaction of the issue's item 2, driven over HTTP through the gateway with HAPI's
 * generic client (raw HTTP where exact bytes or headers matter). Each answer is checked for what
 * FHIR requires and, where cheap, against the EHR's own answer to the same request. Every response
 * is checked for the EHR's address ({@link LeakGuard}). Runs once per {@link Target}.
 */
abstract class FhirInteractionsContract extends ConformanceSupport {

  static final TokenClientParam IDENTIFIER = new TokenClientParam("identifier");

  IGenericClient gw() {
    return target().gateway();
  }

  IGenericClient ehr() {
    return target().ehr();
  }

  String base() {
    return target().gatewayBase();
  }

  /** A synthetic patient identified by {@code ID_SYSTEM|idValue}. */
  static Patient newPatient(String idValue, String family, String given) {
    Patient p = new Patient();
    p.addIdentifier().setSystem(ID_SYSTEM).setValue(idValue);
    p.addName().setFamily(family).addGiven(given);
    p.setGender(Enumerations.AdministrativeGender.OTHER);
    p.setBirthDateElement(new DateType("1970-01-01"));
    p.setActive(true);
    return p;
  }

  IdType createPatient(Patient p) {
    MethodOutcome outcome = gw().create().resource(p).execute();
    assertTrue(Boolean.TRUE.equals(outcome.getCreated()), "create should answer 201 Created");
    return (IdType) outcome.getId();
  }

  IdType createObservation(IIdType patient, String code) {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.getCode().addCoding().setSystem("urn:fhir-ledger:conformance:code").setCode(code);
    o.setSubject(new Reference(patient.toUnqualifiedVersionless().getValue()));
    return (IdType) gw().create().resource(o).execute().getId();
  }

  int countByIdentifier(IGenericClient client, String system, String value) {
    Bundle b = client.search().forResource(Patient.class)
        .where(IDENTIFIER.exactly().systemAndCode(system, value))
        .summaryMode(SummaryEnum.COUNT).returnBundle(Bundle.class).execute();
    return b.getTotal();
  }

  // ---------------------------------------------------------------- read, vread

  @Test
  void read_existingPatient_sameResourceAndHeadersAsEhr() {
    IdType id = createPatient(newPatient(unique(), "Readwell", "Ada"));
    String path = "/Patient/" + id.getIdPart();

    RawHttp.Response viaGateway = target().gatewayHttp().get(base() + path);
    RawHttp.Response viaEhr = target().ehrHttp().get(target().ehrBase() + path);

    assertEquals(200, viaGateway.status());
    assertEquals(viaEhr.status(), viaGateway.status());
    assertEquals(normaliseBases(viaEhr.text()), normaliseBases(viaGateway.text()), "same resource bytes as the EHR");
    assertEquals(viaEhr.header("ETag"), viaGateway.header("ETag"));
    assertEquals(viaEhr.header("Last-Modified"), viaGateway.header("Last-Modified"));
    Patient read = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    assertEquals("Readwell", read.getNameFirstRep().getFamily());
  }

  @Test
  void read_existingPatient_etagAndLastModifiedMatchMeta() {
    IdType id = createPatient(newPatient(unique(), "Etag", "Eve"));

    RawHttp.Response r = target().gatewayHttp().get(base() + "/Patient/" + id.getIdPart());

    assertEquals(200, r.status());
    assertEquals("W/\"1\"", r.header("ETag").orElse(null));
    String lastModified = r.header("Last-Modified").orElseThrow(() -> new AssertionError("no Last-Modified"));
    ZonedDateTime parsed = ZonedDateTime.parse(lastModified, DateTimeFormatter.RFC_1123_DATE_TIME);
    Patient p = json().parseResource(Patient.class, r.text());
    assertEquals(p.getMeta().getLastUpdated().toInstant().getEpochSecond(), parsed.toEpochSecond());
  }

  @Test
  void read_ifNoneMatchCurrentEtag_sameConditionalAnswerAsEhr() {
    IdType id = createPatient(newPatient(unique(), "NoneMatch", "Nils"));
    String path = "/Patient/" + id.getIdPart();

    RawHttp.Response viaGateway = target().gatewayHttp().get(base() + path, "If-None-Match", "W/\"1\"");
    RawHttp.Response viaEhr = target().ehrHttp().get(target().ehrBase() + path, "If-None-Match", "W/\"1\"");
    RawHttp.Response changed = target().gatewayHttp().get(base() + path, "If-None-Match", "W/\"99\"");

    assertEquals(viaEhr.status(), viaGateway.status());
    assertEquals(304, viaGateway.status(), "HAPI answers a matching If-None-Match with 304 Not Modified");
    assertEquals(0, viaGateway.body().length);
    assertEquals(200, changed.status());
  }

  @Test
  void vread_olderVersion_returnsThatVersion() {
    IdType id = createPatient(newPatient(unique(), "Before", "Vera"));
    Patient p = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    p.getNameFirstRep().setFamily("After");
    gw().update().resource(p).execute();

    Patient v1 = gw().read().resource(Patient.class).withIdAndVersion(id.getIdPart(), "1").execute();
    Patient v2 = gw().read().resource(Patient.class).withIdAndVersion(id.getIdPart(), "2").execute();

    assertEquals("Before", v1.getNameFirstRep().getFamily());
    assertEquals("1", v1.getIdElement().getVersionIdPart());
    assertEquals("After", v2.getNameFirstRep().getFamily());
    Patient v1Ehr = ehr().read().resource(Patient.class).withIdAndVersion(id.getIdPart(), "1").execute();
    assertEquals(encode(v1Ehr), encode(v1));
  }

  // ---------------------------------------------------------------- create

  @Test
  void create_patient_201WithLocationAtGateway() {
    Patient p = newPatient(unique(), "Create", "Carl");

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json",
        json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8));

    assertEquals(201, r.status());
    String location = r.header("Location").orElseThrow(() -> new AssertionError("no Location"));
    assertTrue(location.startsWith(base() + "/Patient/"), "Location at the gateway: " + location);
    assertTrue(location.contains("/_history/1"), location);
    assertEquals("W/\"1\"", r.header("ETag").orElse(null));
    r.header("Content-Location").ifPresent(cl ->
        assertTrue(cl.startsWith(base() + "/Patient/"), "Content-Location at the gateway: " + cl));
    IdType id = new IdType(location);
    assertEquals("Create", gw().read().resource(Patient.class).withId(id.getIdPart()).execute()
        .getNameFirstRep().getFamily());
  }

  @Test
  void create_ifNoneExistMatchesOne_returnsExistingWithoutCreating() {
    String value = unique();
    IdType first = (IdType) gw().create().resource(newPatient(value, "Cond", "Clara"))
        .conditional().where(IDENTIFIER.exactly().systemAndCode(ID_SYSTEM, value)).execute().getId();

    MethodOutcome second = gw().create().resource(newPatient(value, "Cond", "Clara"))
        .conditional().where(IDENTIFIER.exactly().systemAndCode(ID_SYSTEM, value)).execute();

    assertNotEquals(Boolean.TRUE, second.getCreated(), "no second resource created");
    assertEquals(first.getIdPart(), second.getId().getIdPart());
    assertTrue(second.getId().getValue().startsWith(base() + "/"), "id at the gateway: " + second.getId());
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
    assertEquals(1, countByIdentifier(ehr(), ID_SYSTEM, value));
  }

  @Test
  void create_rawIfNoneExistHeader_secondRequest200() {
    String value = unique();
    byte[] body = json().encodeResourceToString(newPatient(value, "Header", "Hugo")).getBytes(StandardCharsets.UTF_8);
    String ifNoneExist = "identifier=" + ID_SYSTEM + "|" + value;

    RawHttp.Response first = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", body,
        "If-None-Exist", ifNoneExist);
    RawHttp.Response second = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", body,
        "If-None-Exist", ifNoneExist);

    assertEquals(201, first.status());
    assertEquals(200, second.status());
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
  }

  // ---------------------------------------------------------------- update

  @Test
  void update_existingPatient_newVersion() {
    IdType id = createPatient(newPatient(unique(), "Upd", "Uma"));
    Patient p = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    p.getNameFirstRep().setFamily("Updated");

    MethodOutcome outcome = gw().update().resource(p).execute();

    assertEquals("2", outcome.getId().getVersionIdPart());
    assertTrue(outcome.getId().getValue().startsWith(base() + "/Patient/"), outcome.getId().getValue());
    assertEquals("Updated", ehr().read().resource(Patient.class).withId(id.getIdPart()).execute()
        .getNameFirstRep().getFamily());
  }

  @Test
  void update_clientAssignedId_createsWithThatId() {
    String clientId = "conf-" + unique();
    Patient p = newPatient(unique(), "Client", "Cid");
    p.setId(clientId);

    MethodOutcome outcome = gw().update().resource(p).execute();

    assertTrue(Boolean.TRUE.equals(outcome.getCreated()));
    assertEquals(clientId, outcome.getId().getIdPart());
    assertEquals("Client", gw().read().resource(Patient.class).withId(clientId).execute().getNameFirstRep().getFamily());
  }

  @Test
  void update_conditionalMatchingOne_updatesThatResource() {
    String value = unique();
    IdType id = createPatient(newPatient(value, "CondUpd", "Cora"));
    Patient replacement = newPatient(value, "CondUpdated", "Cora");

    MethodOutcome outcome = gw().update().resource(replacement)
        .conditionalByUrl("Patient?identifier=" + ID_SYSTEM + "|" + value).execute();

    assertEquals(id.getIdPart(), outcome.getId().getIdPart());
    assertEquals("2", outcome.getId().getVersionIdPart());
    assertEquals("CondUpdated", gw().read().resource(Patient.class).withId(id.getIdPart()).execute()
        .getNameFirstRep().getFamily());
  }

  @Test
  void update_conditionalMatchingNone_creates() {
    String value = unique();
    MethodOutcome outcome = gw().update().resource(newPatient(value, "CondNew", "Nina"))
        .conditional().where(IDENTIFIER.exactly().systemAndCode(ID_SYSTEM, value)).execute();

    assertTrue(Boolean.TRUE.equals(outcome.getCreated()));
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
  }

  @Test
  void update_ifMatchCurrentVersion_succeeds() {
    IdType id = createPatient(newPatient(unique(), "Match", "Mia"));
    Patient p = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    p.setActive(false);

    MethodOutcome outcome = gw().update().resource(p).withAdditionalHeader("If-Match", "W/\"1\"").execute();

    assertEquals("2", outcome.getId().getVersionIdPart());
  }

  @Test
  void update_ifMatchStaleVersion_412AndResourceUnchanged() {
    IdType id = createPatient(newPatient(unique(), "Stale", "Stan"));
    Patient p = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    p.setActive(false);
    gw().update().resource(p).execute(); // now version 2
    p.getNameFirstRep().setFamily("Lost");

    PreconditionFailedException e = assertThrows(PreconditionFailedException.class,
        () -> gw().update().resource(p).withAdditionalHeader("If-Match", "W/\"1\"").execute());

    assertEquals(412, e.getStatusCode());
    assertNotNull(e.getOperationOutcome(), "412 carries an OperationOutcome");
    Patient current = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    assertEquals("2", current.getIdElement().getVersionIdPart());
    assertEquals("Stale", current.getNameFirstRep().getFamily());
  }

  // ---------------------------------------------------------------- patch

  @Test
  void patch_jsonPatch_appliesChange() {
    IdType id = createPatient(newPatient(unique(), "Jpatch", "Jo"));

    MethodOutcome outcome = gw().patch()
        .withBody("[{\"op\":\"replace\",\"path\":\"/active\",\"value\":false}]")
        .withId(id.toUnqualifiedVersionless()).execute();

    assertEquals("2", outcome.getId().getVersionIdPart());
    assertFalse(gw().read().resource(Patient.class).withId(id.getIdPart()).execute().getActive());
  }

  @Test
  void patch_fhirPathPatch_appliesChange() {
    IdType id = createPatient(newPatient(unique(), "Fpatch", "Fay"));
    Parameters patch = new Parameters();
    Parameters.ParametersParameterComponent op = patch.addParameter().setName("operation");
    op.addPart().setName("type").setValue(new CodeType("replace"));
    op.addPart().setName("path").setValue(new StringType("Patient.birthDate"));
    op.addPart().setName("value").setValue(new DateType("2001-02-03"));

    MethodOutcome outcome = gw().patch().withFhirPatch(patch).withId(id.toUnqualifiedVersionless()).execute();

    assertEquals("2", outcome.getId().getVersionIdPart());
    assertEquals("2001-02-03", gw().read().resource(Patient.class).withId(id.getIdPart()).execute()
        .getBirthDateElement().getValueAsString());
  }

  // ---------------------------------------------------------------- delete

  @Test
  void delete_existing_thenRead410() {
    IdType id = createPatient(newPatient(unique(), "Del", "Dora"));

    MethodOutcome outcome = gw().delete().resourceById(id.toUnqualifiedVersionless()).execute();

    assertNotNull(outcome);
    assertThrows(ResourceGoneException.class,
        () -> gw().read().resource(Patient.class).withId(id.getIdPart()).execute());
    assertThrows(ResourceGoneException.class,
        () -> ehr().read().resource(Patient.class).withId(id.getIdPart()).execute());
  }

  @Test
  void delete_conditional_deletesAllMatches() {
    String group = unique();
    for (int i = 0; i < 2; i++) {
      Patient p = newPatient(unique(), "CondDel", "D" + i);
      p.addIdentifier().setSystem(GROUP_SYSTEM).setValue(group);
      createPatient(p);
    }
    assertEquals(2, countByIdentifier(gw(), GROUP_SYSTEM, group));

    gw().delete().resourceConditionalByUrl("Patient?identifier=" + GROUP_SYSTEM + "|" + group).execute();

    assertEquals(0, countByIdentifier(gw(), GROUP_SYSTEM, group));
    assertEquals(0, countByIdentifier(ehr(), GROUP_SYSTEM, group));
  }

  // ---------------------------------------------------------------- history

  @Test
  void history_instance_allVersionsWithGatewayUrls() {
    IdType id = createPatient(newPatient(unique(), "Hist", "Hal"));
    Patient p = gw().read().resource(Patient.class).withId(id.getIdPart()).execute();
    p.setActive(false);
    gw().update().resource(p).execute();

    Bundle history = gw().history().onInstance(id.toUnqualifiedVersionless()).returnBundle(Bundle.class).execute();

    assertEquals(Bundle.BundleType.HISTORY, history.getType());
    assertEquals(2, history.getEntry().size());
    assertEquals("2", history.getEntry().get(0).getResource().getIdElement().getVersionIdPart());
    assertBundleUrlsAtGateway(history);
    Bundle direct = ehr().history().onInstance(id.toUnqualifiedVersionless()).returnBundle(Bundle.class).execute();
    assertEquals(entryResources(direct), entryResources(history));
  }

  @Test
  void history_type_containsNewVersionsWithGatewayUrls() {
    IdType id = createPatient(newPatient(unique(), "TypeHist", "Tia"));
    Date since = gw().read().resource(Patient.class).withId(id.getIdPart()).execute().getMeta().getLastUpdated();

    Bundle history = gw().history().onType(Patient.class).returnBundle(Bundle.class).since(since).count(200).execute();

    assertEquals(Bundle.BundleType.HISTORY, history.getType());
    assertTrue(ids(history, Patient.class).contains("Patient/" + id.getIdPart()), "type history lists the new patient");
    assertBundleUrlsAtGateway(history);
  }

  @Test
  void history_system_containsNewVersionsWithGatewayUrls() {
    IdType id = createPatient(newPatient(unique(), "SysHist", "Sam"));
    Date since = gw().read().resource(Patient.class).withId(id.getIdPart()).execute().getMeta().getLastUpdated();

    Bundle history = gw().history().onServer().returnBundle(Bundle.class).since(since).count(200).execute();

    assertEquals(Bundle.BundleType.HISTORY, history.getType());
    assertTrue(ids(history, Patient.class).contains("Patient/" + id.getIdPart()), "system history lists the new patient");
    assertBundleUrlsAtGateway(history);
  }

  // ---------------------------------------------------------------- search

  /** Creates {@code n} patients sharing {@code GROUP_SYSTEM|group}, given names G0..G(n-1), returns their ids. */
  List<String> createGroup(String group, String... givens) {
    List<String> ids = new ArrayList<>();
    for (String given : givens) {
      Patient p = newPatient(unique(), "Group", given);
      p.addIdentifier().setSystem(GROUP_SYSTEM).setValue(group);
      ids.add("Patient/" + createPatient(p).getIdPart());
    }
    return ids;
  }

  @Test
  void search_chainedParameter_findsObservationOfPatient() {
    String value = unique();
    IdType patient = createPatient(newPatient(value, "Chain", "Chloe"));
    IdType obs = createObservation(patient, "chain");

    Bundle result = gw().search().forResource(Observation.class)
        .where(new ReferenceClientParam("subject").hasChainedProperty("Patient", IDENTIFIER.exactly().systemAndCode(ID_SYSTEM, value)))
        .returnBundle(Bundle.class).execute();

    assertEquals(List.of("Observation/" + obs.getIdPart()), ids(result, Observation.class));
    assertBundleUrlsAtGateway(result);
  }

  @Test
  void search_include_returnsSubjectToo() {
    String value = unique();
    IdType patient = createPatient(newPatient(value, "Incl", "Ian"));
    createObservation(patient, "incl");

    Bundle result = gw().search().forResource(Observation.class)
        .where(new ReferenceClientParam("subject").hasId(patient.toUnqualifiedVersionless().getValue()))
        .include(Observation.INCLUDE_SUBJECT).returnBundle(Bundle.class).execute();

    assertEquals(1, ids(result, Observation.class).size());
    assertEquals(List.of("Patient/" + patient.getIdPart()), ids(result, Patient.class));
    assertBundleUrlsAtGateway(result);
  }

  @Test
  void search_revinclude_returnsReferringObservations() {
    String value = unique();
    IdType patient = createPatient(newPatient(value, "Rev", "Rita"));
    IdType obs = createObservation(patient, "rev");

    Bundle result = gw().search().forResource(Patient.class)
        .where(IDENTIFIER.exactly().systemAndCode(ID_SYSTEM, value))
        .revInclude(new Include("Observation:subject")).returnBundle(Bundle.class).execute();

    assertEquals(List.of("Patient/" + patient.getIdPart()), ids(result, Patient.class));
    assertEquals(List.of("Observation/" + obs.getIdPart()), ids(result, Observation.class));
    assertBundleUrlsAtGateway(result);
  }

  @Test
  void search_patientCompartment_sameAnswerAsEhr() {
    IdType patient = createPatient(newPatient(unique(), "Compartment", "Cam"));
    IdType obs = createObservation(patient, "compartment");
    String path = "/Patient/" + patient.getIdPart() + "/Observation";

    RawHttp.Response viaGateway = target().gatewayHttp().get(base() + path);
    RawHttp.Response viaEhr = target().ehrHttp().get(target().ehrBase() + path);

    // HAPI JPA 8.8 answers compartment searches with 400 (no such binding); whatever the EHR does, so does the gateway.
    assertEquals(viaEhr.status(), viaGateway.status(), viaGateway.text());
    if (viaGateway.status() == 200) {
      Bundle b = json().parseResource(Bundle.class, viaGateway.text());
      assertEquals(List.of("Observation/" + obs.getIdPart()), ids(b, Observation.class));
      assertBundleUrlsAtGateway(b);
    } else {
      assertEquals(normaliseBases(json().parseResource(OperationOutcome.class, viaEhr.text()).getIssueFirstRep().getDiagnostics()),
          normaliseBases(json().parseResource(OperationOutcome.class, viaGateway.text()).getIssueFirstRep().getDiagnostics()));
    }
  }

  @Test
  void search_sortByGiven_ordersAscendingAndDescending() {
    String group = unique();
    createGroup(group, "Carol", "Alice", "Bob");

    Bundle asc = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .sort().ascending(Patient.GIVEN).returnBundle(Bundle.class).execute();
    Bundle desc = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .sort().descending(Patient.GIVEN).returnBundle(Bundle.class).execute();

    assertEquals(List.of("Alice", "Bob", "Carol"), givens(asc));
    assertEquals(List.of("Carol", "Bob", "Alice"), givens(desc));
  }

  private static List<String> givens(Bundle b) {
    List<String> out = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : b.getEntry()) {
      out.add(((Patient) e.getResource()).getNameFirstRep().getGivenAsSingleString());
    }
    return out;
  }

  @Test
  void search_countWithPaging_nextAndPreviousLinksAtGatewayCoverAllResults() {
    String group = unique();
    List<String> created = createGroup(group, "P0", "P1", "P2", "P3", "P4");

    Bundle page1 = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .count(2).returnBundle(Bundle.class).execute();
    List<String> seen = new ArrayList<>(ids(page1, Patient.class));
    assertEquals(2, page1.getEntry().size());
    assertNotNull(page1.getLink(Bundle.LINK_NEXT), "first page has a next link");
    assertBundleUrlsAtGateway(page1);
    Bundle page2 = gw().loadPage().next(page1).execute();
    assertBundleUrlsAtGateway(page2);
    seen.addAll(ids(page2, Patient.class));
    Bundle page = page2;
    int guard = 0;
    while (page.getLink(Bundle.LINK_NEXT) != null && guard++ < 5) {
      page = gw().loadPage().next(page).execute();
      assertBundleUrlsAtGateway(page);
      seen.addAll(ids(page, Patient.class));
    }
    Bundle back = gw().loadPage().previous(page2).execute();

    assertEquals(new TreeSet<>(created), new TreeSet<>(seen));
    assertEquals(created.size(), seen.size(), "no patient seen twice");
    assertNotNull(page2.getLink(Bundle.LINK_PREV), "second page has a previous link");
    assertEquals(ids(page1, Patient.class), ids(back, Patient.class), "previous of page 2 is page 1");
    assertBundleUrlsAtGateway(back);
  }

  @Test
  void search_summaryCount_sameTotalAsEhr() {
    String group = unique();
    createGroup(group, "S0", "S1", "S2");

    Bundle viaGateway = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .summaryMode(SummaryEnum.COUNT).returnBundle(Bundle.class).execute();
    Bundle viaEhr = ehr().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .summaryMode(SummaryEnum.COUNT).returnBundle(Bundle.class).execute();

    assertEquals(3, viaGateway.getTotal());
    assertEquals(viaEhr.getTotal(), viaGateway.getTotal());
    assertTrue(viaGateway.getEntry().isEmpty());
  }

  @Test
  void search_summaryTrue_sameEntriesAsEhr() {
    String group = unique();
    createGroup(group, "T0", "T1");

    Bundle viaGateway = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .summaryMode(SummaryEnum.TRUE).sort().ascending("_id").returnBundle(Bundle.class).execute();
    Bundle viaEhr = ehr().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .summaryMode(SummaryEnum.TRUE).sort().ascending("_id").returnBundle(Bundle.class).execute();

    assertEquals(2, viaGateway.getEntry().size());
    assertEquals(entryResources(viaEhr), entryResources(viaGateway));
    assertTrue(viaGateway.getEntry().get(0).getResource().getMeta().getTag().stream()
        .anyMatch(t -> "SUBSETTED".equals(t.getCode())), "summary marks the resources SUBSETTED");
    assertBundleUrlsAtGateway(viaGateway);
  }

  @Test
  void search_elements_sameEntriesAsEhr() {
    String group = unique();
    createGroup(group, "E0", "E1");

    Bundle viaGateway = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .elementsSubset("name").sort().ascending("_id").returnBundle(Bundle.class).execute();
    Bundle viaEhr = ehr().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .elementsSubset("name").sort().ascending("_id").returnBundle(Bundle.class).execute();

    assertEquals(2, viaGateway.getEntry().size());
    assertEquals(entryResources(viaEhr), entryResources(viaGateway));
    Patient first = (Patient) viaGateway.getEntry().get(0).getResource();
    assertTrue(first.hasName());
    assertFalse(first.hasBirthDate(), "_elements=name leaves out birthDate");
  }

  @Test
  void search_postSearchViaClient_findsOnlyMatches() {
    String group = unique();
    List<String> created = createGroup(group, "Q0", "Q1");

    Bundle result = gw().search().forResource(Patient.class).where(IDENTIFIER.exactly().systemAndCode(GROUP_SYSTEM, group))
        .usingStyle(SearchStyleEnum.POST).returnBundle(Bundle.class).execute();

    assertEquals(new TreeSet<>(created), new TreeSet<>(ids(result, Patient.class)));
    assertBundleUrlsAtGateway(result);
  }

  @Test
  void search_postSearchFormBody_sameAsGetSearch() {
    String group = unique();
    List<String> created = createGroup(group, "F0", "F1");
    String form = "identifier=" + java.net.URLEncoder.encode(GROUP_SYSTEM + "|" + group, StandardCharsets.UTF_8);

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient/_search",
        "application/x-www-form-urlencoded", form.getBytes(StandardCharsets.UTF_8), "Accept", "application/fhir+json");
    RawHttp.Response direct = target().ehrHttp().send("POST", target().ehrBase() + "/Patient/_search",
        "application/x-www-form-urlencoded", form.getBytes(StandardCharsets.UTF_8), "Accept", "application/fhir+json");

    assertEquals(new TreeSet<>(created), new TreeSet<>(ids(json().parseResource(Bundle.class, direct.text()), Patient.class)),
        "the EHR itself answers the form-encoded POST _search with just the matches");
    assertEquals(200, r.status(), r.text());
    Bundle b = json().parseResource(Bundle.class, r.text());
    assertEquals(new TreeSet<>(created), new TreeSet<>(ids(b, Patient.class)));
    assertEquals(2, b.getTotal());
  }

  @Test
  void search_getRaw_sameEntriesAsEhr() {
    String group = unique();
    createGroup(group, "R0", "R1");
    String query = "/Patient?identifier=" + GROUP_SYSTEM + "%7C" + group + "&_sort=_id&_elements=name,gender";

    RawHttp.Response viaGateway = target().gatewayHttp().get(base() + query);
    RawHttp.Response viaEhr = target().ehrHttp().get(target().ehrBase() + query);

    assertEquals(viaEhr.status(), viaGateway.status());
    assertEquals(200, viaGateway.status());
    assertEquals(entryResources(json().parseResource(Bundle.class, viaEhr.text())),
        entryResources(json().parseResource(Bundle.class, viaGateway.text())));
  }

  // ---------------------------------------------------------------- transaction, batch

  @Test
  void transaction_patientAndObservation_createdWithResolvedReference() {
    String value = unique();
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    String patientUuid = "urn:uuid:" + unique();
    tx.addEntry().setFullUrl(patientUuid).setResource(newPatient(value, "Tx", "Tom"))
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.getCode().addCoding().setSystem("urn:fhir-ledger:conformance:code").setCode("tx");
    o.setSubject(new Reference(patientUuid));
    tx.addEntry().setFullUrl("urn:uuid:" + unique()).setResource(o)
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");

    Bundle response = gw().transaction().withBundle(tx).execute();

    assertEquals(Bundle.BundleType.TRANSACTIONRESPONSE, response.getType());
    assertEquals(2, response.getEntry().size());
    for (Bundle.BundleEntryComponent e : response.getEntry()) {
      assertTrue(e.getResponse().getStatus().startsWith("201"), e.getResponse().getStatus());
    }
    assertBundleUrlsAtGateway(response);
    IdType patientId = new IdType(response.getEntry().get(0).getResponse().getLocation());
    IdType obsId = new IdType(response.getEntry().get(1).getResponse().getLocation());
    Observation stored = gw().read().resource(Observation.class).withId(obsId.getIdPart()).execute();
    assertEquals("Patient/" + patientId.getIdPart(), stored.getSubject().getReferenceElement().toUnqualifiedVersionless().getValue());
  }

  @Test
  void transaction_conditionalCreateOfExisting_doesNotDuplicate() {
    String value = unique();
    IdType existing = createPatient(newPatient(value, "TxCond", "Tess"));
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    tx.addEntry().setFullUrl("urn:uuid:" + unique()).setResource(newPatient(value, "TxCond", "Tess"))
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient")
        .setIfNoneExist("identifier=" + ID_SYSTEM + "|" + value);

    Bundle response = gw().transaction().withBundle(tx).execute();

    assertTrue(response.getEntry().get(0).getResponse().getStatus().startsWith("200"),
        response.getEntry().get(0).getResponse().getStatus());
    assertEquals(existing.getIdPart(), new IdType(response.getEntry().get(0).getResponse().getLocation()).getIdPart());
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
  }

  @Test
  void batch_readAndCreate_eachEntryAnswered() {
    IdType existing = createPatient(newPatient(unique(), "Batch", "Bea"));
    String value = unique();
    Bundle batch = new Bundle().setType(Bundle.BundleType.BATCH);
    batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/" + existing.getIdPart());
    batch.addEntry().setResource(newPatient(value, "Batch", "Ben"))
        .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/does-not-exist-" + unique());

    Bundle response = gw().transaction().withBundle(batch).execute();

    assertEquals(Bundle.BundleType.BATCHRESPONSE, response.getType());
    assertEquals(3, response.getEntry().size());
    assertTrue(response.getEntry().get(0).getResponse().getStatus().startsWith("200"));
    assertEquals("Batch", ((Patient) response.getEntry().get(0).getResource()).getNameFirstRep().getFamily());
    assertTrue(response.getEntry().get(1).getResponse().getStatus().startsWith("201"));
    assertTrue(response.getEntry().get(2).getResponse().getStatus().startsWith("404"));
    assertBundleUrlsAtGateway(response);
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
  }

  // ---------------------------------------------------------------- operations

  @Test
  void everything_patient_returnsPatientAndObservationsAtGateway() {
    IdType patient = createPatient(newPatient(unique(), "Every", "Evan"));
    IdType obs = createObservation(patient, "everything");

    Bundle everything = gw().operation().onInstance(patient.toUnqualifiedVersionless()).named("$everything")
        .withNoParameters(Parameters.class).returnResourceType(Bundle.class).useHttpGet().execute();

    assertTrue(ids(everything, Patient.class).contains("Patient/" + patient.getIdPart()));
    assertTrue(ids(everything, Observation.class).contains("Observation/" + obs.getIdPart()));
    assertBundleUrlsAtGateway(everything);
  }

  @Test
  void validate_validPatient_operationOutcomeWithoutErrors() {
    Patient p = newPatient(unique(), "Valid", "Val");

    MethodOutcome outcome = gw().validate().resource(p).execute();

    OperationOutcome oo = assertInstanceOf(OperationOutcome.class, outcome.getOperationOutcome());
    assertTrue(oo.getIssue().stream().noneMatch(i -> i.getSeverity() == OperationOutcome.IssueSeverity.ERROR
        || i.getSeverity() == OperationOutcome.IssueSeverity.FATAL), () -> json().encodeResourceToString(oo));
  }

  @Test
  void validate_invalidPatient_sameOutcomeAsEhr() {
    String body = "{\"resourceType\":\"Patient\",\"gender\":\"banana\",\"birthDate\":\"1970-13-45\"}";

    RawHttp.Response viaGateway = target().gatewayHttp().send("POST", base() + "/Patient/$validate",
        "application/fhir+json", body.getBytes(StandardCharsets.UTF_8));
    RawHttp.Response viaEhr = target().ehrHttp().send("POST", target().ehrBase() + "/Patient/$validate",
        "application/fhir+json", body.getBytes(StandardCharsets.UTF_8));

    assertEquals(viaEhr.status(), viaGateway.status());
    OperationOutcome oo = json().parseResource(OperationOutcome.class, viaGateway.text());
    assertTrue(oo.getIssue().stream().anyMatch(i -> i.getSeverity() == OperationOutcome.IssueSeverity.ERROR),
        viaGateway.text());
  }

  @Test
  void meta_getAddAndDelete_tagsAsOnEhr() {
    IdType id = createPatient(newPatient(unique(), "Meta", "Max"));
    String tagCode = "conf-" + unique();

    Meta added = gw().meta().add().onResource(id.toUnqualifiedVersionless())
        .meta(new Meta().addTag("urn:fhir-ledger:conformance:tag", tagCode, "test tag")).execute();
    Meta got = gw().meta().get(Meta.class).fromResource(id.toUnqualifiedVersionless()).execute();
    Meta gotFromEhr = ehr().meta().get(Meta.class).fromResource(id.toUnqualifiedVersionless()).execute();
    Meta deleted = gw().meta().delete().onResource(id.toUnqualifiedVersionless())
        .meta(new Meta().addTag("urn:fhir-ledger:conformance:tag", tagCode, null)).execute();

    assertNotNull(added.getTag("urn:fhir-ledger:conformance:tag", tagCode));
    assertNotNull(got.getTag("urn:fhir-ledger:conformance:tag", tagCode));
    assertEquals(gotFromEhr.getTag().size(), got.getTag().size());
    assertNull(deleted.getTag("urn:fhir-ledger:conformance:tag", tagCode));
  }

  @Test
  void meta_system_listsTagsInUse() {
    IdType id = createPatient(newPatient(unique(), "SysMeta", "Sia"));
    String tagCode = "sys-" + unique();
    gw().meta().add().onResource(id.toUnqualifiedVersionless())
        .meta(new Meta().addTag("urn:fhir-ledger:conformance:tag", tagCode, null)).execute();

    Meta all = gw().meta().get(Meta.class).fromServer().execute();

    assertNotNull(all.getTag("urn:fhir-ledger:conformance:tag", tagCode));
  }

  // ---------------------------------------------------------------- metadata

  @Test
  void metadata_describesGatewayWithEhrResources() {
    CapabilityStatement viaGateway = gw().capabilities().ofType(CapabilityStatement.class).execute();
    CapabilityStatement viaEhr = ehr().capabilities().ofType(CapabilityStatement.class).execute();

    assertEquals("FHIR Ledger Gateway", viaGateway.getSoftware().getName());
    assertEquals(base(), viaGateway.getImplementation().getUrl());
    assertEquals(viaEhr.getFhirVersion(), viaGateway.getFhirVersion());
    assertEquals(resourceTypes(viaEhr), resourceTypes(viaGateway));
    assertTrue(resourceTypes(viaGateway).contains("Patient"));
  }

  @Test
  void metadata_xmlFormat_adjustedToo() {
    RawHttp.Response r = target().gatewayHttp().get(base() + "/metadata?_format=xml");

    assertEquals(200, r.status());
    assertTrue(r.contentType().startsWith("application/fhir+xml"), r.contentType());
    CapabilityStatement cs = xml().parseResource(CapabilityStatement.class, r.text());
    assertEquals("FHIR Ledger Gateway", cs.getSoftware().getName());
    assertEquals(base(), cs.getImplementation().getUrl());
  }

  private static Set<String> resourceTypes(CapabilityStatement cs) {
    Set<String> out = new HashSet<>();
    cs.getRest().forEach(rest -> rest.getResource().forEach(r -> out.add(r.getType())));
    return out;
  }

  // ---------------------------------------------------------------- formats, _pretty, Prefer

  @Test
  void read_formatXml_xmlSameAsEhr() {
    IdType id = createPatient(newPatient(unique(), "Xml", "Xena"));
    String path = "/Patient/" + id.getIdPart() + "?_format=xml";

    RawHttp.Response viaGateway = target().gatewayHttp().get(base() + path);
    RawHttp.Response viaEhr = target().ehrHttp().get(target().ehrBase() + path);

    assertEquals(200, viaGateway.status());
    assertTrue(viaGateway.contentType().startsWith("application/fhir+xml"), viaGateway.contentType());
    assertEquals(normaliseBases(viaEhr.text()), normaliseBases(viaGateway.text()));
    assertEquals("Xml", xml().parseResource(Patient.class, viaGateway.text()).getNameFirstRep().getFamily());
  }

  @Test
  void read_acceptXmlHeader_xml() {
    IdType id = createPatient(newPatient(unique(), "AcceptXml", "Axel"));

    RawHttp.Response r = target().gatewayHttp().get(base() + "/Patient/" + id.getIdPart(), "Accept", "application/fhir+xml");

    assertEquals(200, r.status());
    assertTrue(r.contentType().startsWith("application/fhir+xml"), r.contentType());
    assertTrue(r.text().startsWith("<Patient"), r.text());
  }

  @Test
  void createAndRead_xmlViaHapiClient_roundTrips() {
    IGenericClient xmlClient = target().newGatewayClient();
    xmlClient.setEncoding(ca.uhn.fhir.rest.api.EncodingEnum.XML);
    String value = unique();

    MethodOutcome created = xmlClient.create().resource(newPatient(value, "XmlClient", "Xavi")).execute();
    Patient read = xmlClient.read().resource(Patient.class).withId(created.getId().getIdPart()).execute();

    assertTrue(Boolean.TRUE.equals(created.getCreated()));
    assertEquals("XmlClient", read.getNameFirstRep().getFamily());
    assertEquals(value, read.getIdentifierFirstRep().getValue());
  }

  @Test
  void read_prettyTrueAndFalse_sameBytesAsEhr() {
    IdType id = createPatient(newPatient(unique(), "Pretty", "Pia"));
    String path = "/Patient/" + id.getIdPart();

    RawHttp.Response pretty = target().gatewayHttp().get(base() + path + "?_pretty=true");
    RawHttp.Response compact = target().gatewayHttp().get(base() + path + "?_pretty=false");
    RawHttp.Response prettyEhr = target().ehrHttp().get(target().ehrBase() + path + "?_pretty=true");

    assertTrue(pretty.text().contains("\n  \""), "pretty JSON is indented: " + pretty.text());
    assertFalse(compact.text().contains("\n"), "compact JSON has no line breaks: " + compact.text());
    assertEquals(normaliseBases(prettyEhr.text()), normaliseBases(pretty.text()));
  }

  @Test
  void create_preferReturnMinimal_201WithoutBody() {
    byte[] body = json().encodeResourceToString(newPatient(unique(), "Minimal", "Min")).getBytes(StandardCharsets.UTF_8);

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", body,
        "Prefer", "return=minimal");

    assertEquals(201, r.status());
    assertEquals(0, r.body().length, "return=minimal: no body, got " + r.text());
    assertTrue(r.header("Location").orElse("").startsWith(base() + "/Patient/"));
  }

  @Test
  void create_preferReturnRepresentation_201WithResource() {
    byte[] body = json().encodeResourceToString(newPatient(unique(), "Represent", "Rae")).getBytes(StandardCharsets.UTF_8);

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", body,
        "Prefer", "return=representation");

    assertEquals(201, r.status());
    Patient p = json().parseResource(Patient.class, r.text());
    assertEquals("Represent", p.getNameFirstRep().getFamily());
    assertEquals("1", p.getMeta().getVersionId());
  }

  @Test
  void create_preferReturnOperationOutcome_201WithOperationOutcome() {
    byte[] body = json().encodeResourceToString(newPatient(unique(), "Outcome", "Otto")).getBytes(StandardCharsets.UTF_8);

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", body,
        "Prefer", "return=OperationOutcome");

    assertEquals(201, r.status());
    json().parseResource(OperationOutcome.class, r.text());
  }

  // ---------------------------------------------------------------- gzip

  @Test
  void search_acceptGzipLargeBody_gzipResponse() {
    String group = unique();
    createGroup(group, "Z0", "Z1", "Z2", "Z3", "Z4", "Z5");
    String url = base() + "/Patient?identifier=" + GROUP_SYSTEM + "%7C" + group;

    RawHttp.Response r = target().gatewayHttp().get(url, "Accept-Encoding", "gzip");

    assertEquals(200, r.status());
    assertTrue(r.body().length > 1024, "body over 1 KB: " + r.body().length);
    assertEquals("gzip", r.header("Content-Encoding").orElse(null));
    assertEquals(0x1f, r.raw()[0] & 0xff);
    assertEquals(0x8b, r.raw()[1] & 0xff);
    assertEquals(6, json().parseResource(Bundle.class, r.text()).getEntry().size());
  }

  @Test
  void read_acceptGzipSmallBody_notCompressed() {
    IdType id = createPatient(newPatient(unique(), "Tiny", "Tim"));

    RawHttp.Response r = target().gatewayHttp().get(base() + "/Patient/" + id.getIdPart(), "Accept-Encoding", "gzip");

    assertEquals(200, r.status());
    assertTrue(r.body().length < 1024, "a small resource: " + r.body().length);
    assertTrue(r.header("Content-Encoding").isEmpty(), "bodies under 1 KB are sent plain");
  }

  @Test
  void search_noAcceptEncoding_plainResponse() {
    String group = unique();
    createGroup(group, "N0", "N1", "N2", "N3", "N4", "N5");

    RawHttp.Response r = target().gatewayHttp().get(base() + "/Patient?identifier=" + GROUP_SYSTEM + "%7C" + group);

    assertEquals(200, r.status());
    assertTrue(r.header("Content-Encoding").isEmpty(), "no gzip unless asked");
    assertArrayEquals(r.raw(), r.body());
  }

  @Test
  void create_gzipRequestBodyViaHapiInterceptor_created() {
    IGenericClient gzipClient = target().newGatewayClient();
    gzipClient.registerInterceptor(new GZipContentInterceptor());
    String value = unique();

    MethodOutcome outcome = gzipClient.create().resource(newPatient(value, "Gzip", "Gus")).execute();

    assertTrue(Boolean.TRUE.equals(outcome.getCreated()));
    assertEquals("Gzip", gw().read().resource(Patient.class).withId(outcome.getId().getIdPart()).execute()
        .getNameFirstRep().getFamily());
  }

  @Test
  void create_rawGzipRequestBody_created() throws IOException {
    String value = unique();
    byte[] plain = json().encodeResourceToString(newPatient(value, "RawGzip", "Greta")).getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(buf)) {
      gz.write(plain);
    }

    RawHttp.Response r = target().gatewayHttp().send("POST", base() + "/Patient", "application/fhir+json", buf.toByteArray(),
        "Content-Encoding", "gzip");

    assertEquals(201, r.status(), r.text());
    assertEquals(1, countByIdentifier(gw(), ID_SYSTEM, value));
  }

  // ---------------------------------------------------------------- URLs

  @Test
  void create_absoluteReferenceToOwnBase_sameAnswerAsEhrWithUrlsRewritten() {
    IdType patient = createPatient(newPatient(unique(), "AbsRef", "Abe"));
    String viaGatewayBody = json().encodeResourceToString(observationAbout(base() + "/Patient/" + patient.getIdPart()));
    String viaEhrBody = json().encodeResourceToString(
        observationAbout(target().ehrBase() + "/Patient/" + patient.getIdPart()));

    RawHttp.Response viaGateway = target().gatewayHttp().send("POST", base() + "/Observation", "application/fhir+json",
        viaGatewayBody.getBytes(StandardCharsets.UTF_8));
    RawHttp.Response viaEhr = target().ehrHttp().send("POST", target().ehrBase() + "/Observation",
        "application/fhir+json", viaEhrBody.getBytes(StandardCharsets.UTF_8));

    // The gateway hands the EHR the EHR's own base; whatever the EHR makes of it, the client sees the same
    // answer with the gateway's base (HAPI JPA refuses absolute references to itself unless configured to
    // treat its base as local: HAPI-0507).
    assertEquals(viaEhr.status(), viaGateway.status(), viaGateway.text());
    if (viaGateway.status() == 201) {
      Observation stored = gw().read().resource(Observation.class)
          .withId(new IdType(viaGateway.header("Location").orElseThrow()).getIdPart()).execute();
      String ref = stored.getSubject().getReference();
      assertTrue(ref.equals("Patient/" + patient.getIdPart()) || ref.startsWith(base() + "/"), ref);
    } else {
      OperationOutcome viaGatewayOo = json().parseResource(OperationOutcome.class, viaGateway.text());
      OperationOutcome viaEhrOo = json().parseResource(OperationOutcome.class, viaEhr.text());
      assertEquals(normaliseBases(viaEhrOo.getIssueFirstRep().getDiagnostics()),
          normaliseBases(viaGatewayOo.getIssueFirstRep().getDiagnostics()));
      assertTrue(viaGatewayOo.getIssueFirstRep().getDiagnostics().contains(base() + "/Patient/"),
          "the EHR's message names the gateway's URL: " + viaGateway.text());
    }
  }

  private static Observation observationAbout(String subject) {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.getCode().addCoding().setSystem("urn:fhir-ledger:conformance:code").setCode("absref");
    o.setSubject(new Reference(subject));
    return o;
  }
}
