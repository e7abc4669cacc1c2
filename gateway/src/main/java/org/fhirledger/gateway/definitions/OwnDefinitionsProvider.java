package org.fhirledger.gateway.definitions;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.RequiredParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.UriParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.StructureDefinition;

/**
 * Serves the gateway's own StructureDefinitions (those under {@link GatewayProfiles#BASE}) as conformance resources:
 * {@code GET StructureDefinition/<id>} and {@code GET StructureDefinition?url=<canonical>}. Every other
 * StructureDefinition request goes to the EHR as before ({@link #serves} decides). Each answer is recorded on the
 * ledger like any read. Immutable and thread-safe.
 */
public final class OwnDefinitionsProvider implements IResourceProvider {

  /** Parameters a url search may carry besides {@code url} and still be answered here. */
  private static final Set<String> FORMAT_PARAMETERS = Set.of(Constants.PARAM_FORMAT, Constants.PARAM_PRETTY);

  private final Map<String, StructureDefinition> byId = new LinkedHashMap<>();
  private final Map<String, StructureDefinition> byUrl = new LinkedHashMap<>();
  private final InteractionRecorder recorder;

  public OwnDefinitionsProvider(FhirContext fhirContext, InteractionRecorder recorder) {
    this.recorder = Objects.requireNonNull(recorder, "recorder");
    for (StructureDefinition definition : GatewayProfiles.structureDefinitions(fhirContext)) {
      byId.put(definition.getIdElement().getIdPart(), definition);
      byUrl.put(definition.getUrl(), definition);
    }
  }

  @Override
  public Class<StructureDefinition> getResourceType() {
    return StructureDefinition.class;
  }

  /** Whether {@code request} is a read or url search of one of the gateway's own definitions. */
  public boolean serves(RequestDetails request) {
    if (!"StructureDefinition".equals(request.getResourceName()) || request.getRequestType() != RequestTypeEnum.GET
        || request.getOperation() != null) {
      return false;
    }
    if (request.getId() != null && request.getId().hasIdPart()) {
      return !request.getId().hasVersionIdPart() && byId.containsKey(request.getId().getIdPart());
    }
    Map<String, String[]> parameters = request.getParameters();
    String[] url = parameters.get("url");
    return url != null && url.length == 1 && byUrl.containsKey(url[0])
        && parameters.keySet().stream().allMatch(p -> p.equals("url") || FORMAT_PARAMETERS.contains(p));
  }

  /** {@code GET StructureDefinition/<id>}. */
  @Read
  public StructureDefinition read(@IdParam IdType id, RequestDetails request) {
    StructureDefinition definition = byId.get(id.getIdPart());
    if (definition == null) {
      throw new ResourceNotFoundException("Not one of the gateway's own StructureDefinitions");
    }
    record(request, RestOperationTypeEnum.READ, definition);
    return definition.copy();
  }

  /** {@code GET StructureDefinition?url=<canonical>}. */
  @Search
  public List<StructureDefinition> byUrl(@RequiredParam(name = StructureDefinition.SP_URL) UriParam url,
      RequestDetails request) {
    StructureDefinition definition = byUrl.get(url.getValue());
    List<StructureDefinition> found = definition == null ? List.of() : List.of(definition.copy());
    Bundle recorded = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    found.forEach(d -> recorded.addEntry().setResource(d));
    record(request, RestOperationTypeEnum.SEARCH_TYPE, recorded);
    return found;
  }

  private void record(RequestDetails request, RestOperationTypeEnum operation, IBaseResource returned) {
    long index = recorder.recordServed(request, operation, returned, Set.of());
    request.getResponse().addHeader(InteractionRecorder.HEADER, Long.toString(index));
  }
}
