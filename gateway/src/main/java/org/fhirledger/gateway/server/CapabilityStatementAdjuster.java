package org.fhirledger.gateway.server;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.Enumerations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the EHR's CapabilityStatement into the gateway's: the same resources, interactions, search
 * parameters and operations (the gateway forwards them all), but the software and implementation
 * describe the gateway and its base URL. Thread-safe.
 */
public final class CapabilityStatementAdjuster {

  private static final Logger log = LoggerFactory.getLogger(CapabilityStatementAdjuster.class);

  private final FhirContext fhirContext;
  private final String softwareName;
  private final String softwareVersion;
  private final List<CapabilityStatementContributor> contributors;

  public CapabilityStatementAdjuster(FhirContext fhirContext, String softwareName, String softwareVersion) {
    this(fhirContext, softwareName, softwareVersion, List.of());
  }

  /** @param contributors further adjustments, applied in order after the gateway's own */
  public CapabilityStatementAdjuster(FhirContext fhirContext, String softwareName, String softwareVersion,
      List<CapabilityStatementContributor> contributors) {
    this.contributors = List.copyOf(contributors);
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.softwareName = Objects.requireNonNull(softwareName, "softwareName");
    this.softwareVersion = Objects.requireNonNull(softwareVersion, "softwareVersion");
  }

  /**
   * Returns the adjusted CapabilityStatement in the encoding it came in, or the body unchanged when
   * it is not a JSON or XML CapabilityStatement (the URL rewriting that follows still applies).
   */
  byte[] adjust(byte[] body, String contentType, String gatewayBase, RequestDetails request) {
    EncodingEnum encoding = contentType == null ? null : EncodingEnum.forContentType(contentType);
    if (encoding == null || encoding == EncodingEnum.RDF || encoding == EncodingEnum.NDJSON) {
      return body;
    }
    IParser parser = encoding.newParser(fhirContext);
    CapabilityStatement cs;
    try {
      cs = parser.parseResource(CapabilityStatement.class, new String(body, StandardCharsets.UTF_8));
    } catch (DataFormatException | ClassCastException e) {
      log.warn("The EHR's CapabilityStatement could not be parsed; passing it on unadjusted");
      return body;
    }
    String upstreamSoftware = cs.getSoftware().hasName()
        ? cs.getSoftware().getName() + (cs.getSoftware().hasVersion() ? " " + cs.getSoftware().getVersion() : "")
        : "an EHR";
    cs.getSoftware().setName(softwareName).setVersion(softwareVersion).setReleaseDateElement(null);
    cs.getImplementation()
        .setUrl(gatewayBase)
        .setDescription("FHIR ledger gateway: every interaction is recorded on a "
            + "tamper-evident ledger, then forwarded to " + upstreamSoftware);
    describeAuditTrail(cs);
    contributors.forEach(c -> c.contribute(cs, gatewayBase));
    boolean pretty = "true".equals(request.getParameters().get(Constants.PARAM_PRETTY) == null
        ? null : request.getParameters().get(Constants.PARAM_PRETTY)[0]);
    return parser.setPrettyPrint(pretty).encodeResourceToString(cs).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * AuditEvent is the gateway's own: searched and read from the ledger, never written, never
   * forwarded to the EHR. Replace whatever the EHR says about it.
   */
  private static void describeAuditTrail(CapabilityStatement cs) {
    for (CapabilityStatement.CapabilityStatementRestComponent rest : cs.getRest()) {
      rest.getResource().removeIf(r -> "AuditEvent".equals(r.getType()));
      CapabilityStatement.CapabilityStatementRestResourceComponent audit = rest.addResource()
          .setType("AuditEvent")
          .setProfile(GatewayProfiles.LEDGER_AUDIT_EVENT)
          .setDocumentation("Served by the gateway from its ledger (IHE BALP style); read-only.");
      audit.addInteraction().setCode(CapabilityStatement.TypeRestfulInteraction.READ);
      audit.addInteraction().setCode(CapabilityStatement.TypeRestfulInteraction.SEARCHTYPE);
      audit.addSearchParam().setName("patient").setType(Enumerations.SearchParamType.REFERENCE);
      audit.addSearchParam().setName("agent").setType(Enumerations.SearchParamType.REFERENCE);
      audit.addSearchParam().setName("entity").setType(Enumerations.SearchParamType.REFERENCE);
      audit.addSearchParam().setName("date").setType(Enumerations.SearchParamType.DATE);
      audit.addSearchParam().setName("action").setType(Enumerations.SearchParamType.TOKEN);
    }
  }
}
