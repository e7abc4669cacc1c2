package org.fhirledger.profiles.validation;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r5.context.IWorkerContext;
import org.hl7.fhir.r5.elementmodel.Manager;
import org.hl7.fhir.r5.model.StructureDefinition;
import org.hl7.fhir.r5.utils.validation.ValidatorSession;
import org.hl7.fhir.r5.utils.validation.constants.BestPracticeWarningLevel;
import org.hl7.fhir.r5.utils.validation.constants.IdStatus;
import org.hl7.fhir.r5.utils.xver.XVerExtensionManagerFactory;
import org.hl7.fhir.utilities.i18n.I18nConstants;
import org.hl7.fhir.utilities.validation.ValidationMessage;
import org.hl7.fhir.validation.ValidatorSettings;
import org.hl7.fhir.validation.instance.InstanceValidator;

/**
 * The core instance validator with the settings HAPI's {@link FhirInstanceValidator} gives it, kept per thread.
 *
 * <p>Why: HAPI builds a new {@code InstanceValidator} for every validation, and the constructor reads the OID
 * registry from a compressed CSV in the validator's jar every time; on this project's machines that was most of the
 * cost of validating a lab Observation. Reusing one per thread removes it. Thread-safe (one validator per thread;
 * the worker context and its caches are shared, as in HAPI).
 */
final class ReusableInstanceValidator {

  private final IWorkerContext worker;
  private final ThreadLocal<InstanceValidator> perThread;

  ReusableInstanceValidator(FhirInstanceValidator configured) {
    this.worker = java.util.Objects.requireNonNull(configured.getWorkerContext(),
        "the FhirInstanceValidator has not created its worker context yet: validate once through it first");
    this.perThread = ThreadLocal.withInitial(() -> {
      InstanceValidator v = build(worker);
      v.setFetcher(configured.getValidatorResourceFetcher());
      v.setPolicyAdvisor(configured.getValidatorPolicyAdvisor());
      return v;
    });
  }

  /** Validates JSON text against FHIR R4, its meta.profile claims and {@code profiles} (all known to the worker). */
  List<ValidationMessage> validateJson(String json, Collection<String> profiles) {
    Set<String> urls = new LinkedHashSet<>(profiles);
    JsonElement parsed = JsonParser.parseString(json);
    if (parsed.isJsonObject()) {
      JsonObject meta = parsed.getAsJsonObject().getAsJsonObject("meta");
      JsonElement claimed = meta == null ? null : meta.get("profile");
      if (claimed instanceof JsonArray array) {
        array.forEach(e -> {
          if (e.isJsonPrimitive()) {
            urls.add(e.getAsString());
          }
        });
      }
    }
    List<StructureDefinition> definitions = new ArrayList<>();
    for (String url : urls) {
      StructureDefinition definition = worker.fetchResource(StructureDefinition.class, url);
      if (definition != null) {
        definitions.add(definition);
      }
    }
    List<ValidationMessage> messages = new ArrayList<>();
    perThread.get().validate(null, messages, new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
        Manager.FhirFormat.JSON, definitions);
    // As HAPI's wrapper does: a missing binding source is not the instance's fault.
    messages.removeIf(m -> I18nConstants.TERMINOLOGY_TX_BINDING_NOSOURCE.equals(m.getMessageId()));
    return messages;
  }

  private static InstanceValidator build(IWorkerContext worker) {
    InstanceValidator v = new InstanceValidator(worker, new FhirInstanceValidator.NullEvaluationContext(),
        XVerExtensionManagerFactory.createExtensionManager(worker), new ValidatorSession(), new ValidatorSettings());
    v.setAssumeValidRestReferences(true);
    v.setBestPracticeWarningLevel(BestPracticeWarningLevel.Ignore);
    v.setAnyExtensionsAllowed(true);
    v.setResourceIdRule(IdStatus.OPTIONAL);
    v.setNoTerminologyChecks(false);
    v.setErrorForUnknownProfiles(false);
    v.setUnknownCodeSystemsCauseErrors(true);
    v.setAllowXsiLocation(true);
    return v;
  }
}
