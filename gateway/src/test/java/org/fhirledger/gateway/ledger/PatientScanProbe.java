package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;

/**
 * Prints what finding the disclosed patients of one answer costs, HAPI parse against the streaming scan (one thread,
 * after warm-up): a 10-entry Patient searchset and a 10-entry Observation searchset like the benchmark's.
 * Not a test; run it with the test classpath: {@code java -cp ... org.fhirledger.gateway.ledger.PatientScanProbe}.
 */
public final class PatientScanProbe {
  private PatientScanProbe() {}

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    FhirContext fhir = FhirContext.forR4Cached();
    FhirContent content = new FhirContent(fhir);
    Bundle patients = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    Bundle observations = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    for (int i = 0; i < 10; i++) {
      Patient p = new Patient();
      p.setId("p" + i);
      p.getMeta().setVersionId("1");
      p.addName().setFamily("Synthetic" + (i % 3)).addGiven("Test");
      p.setGender(org.hl7.fhir.r4.model.Enumerations.AdministrativeGender.UNKNOWN);
      patients.addEntry().setFullUrl("http://gw.example/fhir/Patient/p" + i).setResource(p);
      Observation o = new Observation();
      o.setId("o" + i);
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.getCode().addCoding().setSystem("http://loinc.org").setCode("8867-4").setDisplay("Heart rate");
      o.setSubject(new Reference("Patient/p1"));
      o.setValue(new Quantity().setValue(70 + i).setUnit("/min"));
      observations.addEntry().setFullUrl("http://gw.example/fhir/Observation/o" + i).setResource(o);
    }
    for (Bundle b : new Bundle[] {patients, observations}) {
      byte[] json = fhir.newJsonParser().encodeResourceToString(b).getBytes(StandardCharsets.UTF_8);
      String type = b.getEntryFirstRep().getResource().fhirType();
      Set<String> parsed = content.parsedPatients(json, "application/fhir+json");
      Set<String> scanned = content.disclosedPatients(json, "application/fhir+json");
      if (!parsed.equals(scanned)) {
        throw new IllegalStateException(parsed + " != " + scanned);
      }
      for (int round = 0; round < 3; round++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          content.parsedPatients(json, "application/fhir+json");
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          content.disclosedPatients(json, "application/fhir+json");
        }
        long t2 = System.nanoTime();
        System.out.printf("%s searchset of 10 (%d bytes): HAPI parse %.1f µs, streaming scan %.1f µs%n", type,
            json.length, (t1 - t0) / 1e3 / n, (t2 - t1) / 1e3 / n);
      }
    }
  }
}
