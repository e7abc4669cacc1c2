package org.fhirledger.profiles.validation;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.lang.reflect.Field;
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
import org.hl7.fhir.validation.codesystem.CodingsObserver;
import org.hl7.fhir.validation.instance.InstanceValidator;

/**
 * The core instance validator with the settings HAPI's {@link FhirInstanceValidator} gives it, kept per thread.
 *
 * <p>Why: HAPI builds a new {@code InstanceValidator} for every validation, and the constructor reads the OID
 * registry from a compressed CSV in the validator's jar every time; on this project's machines that was most of the
 * cost of validating a lab Observation. Reusing one per thread removes it. Thread-safe (one validator per thread;
 * the worker context and its caches are shared, as in HAPI).
 *
 * <p>A core validator is written to be used once: its {@code CodingsObserver} (org.hl7.fhir.validation 6.7.9, HAPI
 * 8.8.0) adds every coding it sees to a list, with the node stack it was seen at, and never empties it (the list is
 * only read for the IPS SNOMED CT checks, which are off here). Reused, the validator kept every resource it had
 * validated reachable through that list, about 130 kB a validation: the heap filled, the garbage collector ran
 * ever more often, a lab Observation went from 2 ms to 69 ms in 50 s and the JVM would in the end have run out of
 * memory. So after every validation the list is emptied, which leaves the validator as a new one would be. The
 * list is private to the library: it is found by reflection when the validator is built, and a library version
 * without it fails there, loudly, rather than leaking.
 */
final class ReusableInstanceValidator {

  private static final Field CODING_OBSERVER = field(InstanceValidator.class, "codingObserver");
  private static final Field OBSERVED_CODINGS = field(CodingsObserver.class, "list");

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
    InstanceValidator validator = perThread.get();
    try {
      validator.validate(null, messages, new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
          Manager.FhirFormat.JSON, definitions);
    } finally {
      observedCodings(validator).clear();
    }
    // As HAPI's wrapper does: a missing binding source is not the instance's fault.
    messages.removeIf(m -> I18nConstants.TERMINOLOGY_TX_BINDING_NOSOURCE.equals(m.getMessageId()));
    return messages;
  }

  /** This thread's core validator (for tests that look at the state it keeps between validations). */
  InstanceValidator forThisThread() {
    return perThread.get();
  }

  /** How many codings this thread's validator holds from earlier validations: 0 between validations. */
  int retainedCodings() {
    return observedCodings(perThread.get()).size();
  }

  /** The list the validator's coding observer adds every coding it sees to (never emptied by the library). */
  private static List<?> observedCodings(InstanceValidator validator) {
    try {
      return (List<?>) OBSERVED_CODINGS.get(CODING_OBSERVER.get(validator));
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot reach the core validator's observed codings", e);
    }
  }

  private static Field field(Class<?> owner, String name) {
    try {
      Field f = owner.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (NoSuchFieldException | RuntimeException e) {
      throw new IllegalStateException("this version of org.hl7.fhir.validation has no " + owner.getSimpleName() + "."
          + name + ": check whether a reused InstanceValidator still keeps state across validations (see "
          + "ReusableInstanceValidator) before upgrading", e);
    }
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
