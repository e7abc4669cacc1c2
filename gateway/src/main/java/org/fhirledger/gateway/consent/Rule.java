package org.fhirledger.gateway.consent;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.IdType;

/**
 * One compiled {@code Consent.provision}: its type and conditions in a form that is cheap to test, and its nested
 * exceptions. Immutable.
 *
 * <p>Each condition answers YES, NO or UNKNOWN (the gateway cannot tell: an actor given as a Group, a class from an
 * unknown code system, data without a clinically relevant time). {@link CompiledConsent} resolves UNKNOWN so that the
 * result is never more permissive than under either reading.
 */
final class Rule {

  static final String ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
  static final String RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
  static final String CORE_SD = "http://hl7.org/fhir/StructureDefinition/";
  static final String CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
  /** Confidentiality codes, lowest first (v3 Confidentiality is a high-water-mark scale). */
  private static final List<String> CONFIDENTIALITY_ORDER = List.of("U", "L", "M", "N", "R", "V");
  private static final int NORMAL = CONFIDENTIALITY_ORDER.indexOf("N");
  private static final Set<String> ACTOR_TYPES =
      Set.of("Patient", "Practitioner", "PractitionerRole", "Organization", "RelatedPerson");

  enum Match {
    YES, NO, UNKNOWN;

    Match and(Match other) {
      if (this == NO || other == NO) {
        return NO;
      }
      return this == UNKNOWN || other == UNKNOWN ? UNKNOWN : YES;
    }
  }

  final boolean permit;
  // Request-level conditions
  private final boolean hasActor;
  private final Set<String> actorRefs = new HashSet<>();
  private final Set<String> clientIds = new HashSet<>();
  private boolean actorUnknown;
  private final boolean hasAction;
  private final EnumSet<ConsentAction> actions = EnumSet.noneOf(ConsentAction.class);
  private boolean actionUnknown;
  private final boolean hasPurpose;
  private final Set<String> purposes = new HashSet<>();
  private boolean purposeUnknown;
  private final Interval period;
  // Resource-level conditions
  private final Interval dataPeriod;
  private final boolean hasClass;
  private final Set<String> classTypes = new HashSet<>();
  private final Set<String> classProfiles = new HashSet<>();
  private boolean classUnknown;
  private final boolean hasCode;
  private final Set<String> codes = new HashSet<>();
  private final boolean hasLabel;
  private final Set<String> labels = new HashSet<>();
  private int maxConfidentiality = -1;

  final List<Rule> children;
  /** True when this rule itself tests the resource (class, code, label, data period). */
  final boolean resourceConditions;
  /** True when this rule or a nested one tests the resource. */
  final boolean resourceConditionsInTree;
  /** True when every rule in this tree has the same type as this one. */
  final boolean uniformType;

  Rule(Consent.ProvisionComponent p, boolean permit) {
    this.permit = permit;
    hasActor = p.hasActor();
    for (Consent.provisionActorComponent actor : p.getActor()) {
      addActor(actor);
    }
    hasAction = p.hasAction();
    for (CodeableConcept cc : p.getAction()) {
      for (Coding c : cc.getCoding()) {
        var action = (c.getSystem() == null || ConsentAction.SYSTEM.equals(c.getSystem()))
            ? ConsentAction.ofCode(c.getCode()) : java.util.Optional.<ConsentAction>empty();
        action.ifPresentOrElse(actions::add, () -> actionUnknown = true);
      }
      if (!cc.hasCoding()) {
        actionUnknown = true;
      }
    }
    hasPurpose = p.hasPurpose();
    for (Coding c : p.getPurpose()) {
      if ((c.getSystem() == null || ACT_REASON.equals(c.getSystem())) && c.getCode() != null) {
        purposes.add(c.getCode());
      } else {
        purposeUnknown = true;
      }
    }
    period = p.hasPeriod() ? Interval.of(p.getPeriod()) : Interval.ALL;
    dataPeriod = p.hasDataPeriod() ? Interval.of(p.getDataPeriod()) : null;
    hasClass = p.hasClass_();
    for (Coding c : p.getClass_()) {
      addClass(c);
    }
    hasCode = p.hasCode();
    for (CodeableConcept cc : p.getCode()) {
      for (Coding c : cc.getCoding()) {
        if (c.getCode() != null) {
          codes.add(key(c.getSystem(), c.getCode()));
        }
      }
    }
    hasLabel = p.hasSecurityLabel();
    for (Coding c : p.getSecurityLabel()) {
      if (CONFIDENTIALITY.equals(c.getSystem()) && CONFIDENTIALITY_ORDER.contains(c.getCode())) {
        maxConfidentiality = Math.max(maxConfidentiality, CONFIDENTIALITY_ORDER.indexOf(c.getCode()));
      } else if (c.getCode() != null) {
        labels.add(key(c.getSystem(), c.getCode()));
      }
    }
    List<Rule> nested = new ArrayList<>();
    for (Consent.ProvisionComponent child : p.getProvision()) {
      // A nested provision without a type is an exception to its parent: the opposite type.
      boolean childPermit = child.hasType() ? child.getType() == Consent.ConsentProvisionType.PERMIT : !permit;
      nested.add(new Rule(child, childPermit));
    }
    children = List.copyOf(nested);
    resourceConditions = dataPeriod != null || hasClass || hasCode || hasLabel;
    resourceConditionsInTree = resourceConditions || children.stream().anyMatch(r -> r.resourceConditionsInTree);
    uniformType = children.stream().allMatch(r -> r.uniformType && r.permit == permit);
  }

  private void addActor(Consent.provisionActorComponent actor) {
    var ref = actor.getReference();
    if (ref.hasReference()) {
      IdType id = new IdType(ref.getReference());
      if (!id.isAbsolute() && id.hasResourceType() && id.hasIdPart() && ACTOR_TYPES.contains(id.getResourceType())) {
        actorRefs.add(id.getResourceType() + "/" + id.getIdPart());
        return;
      }
    } else if (ref.hasIdentifier() && ConsentRequest.CLIENT_ID_SYSTEM.equals(ref.getIdentifier().getSystem())
        && ref.getIdentifier().getValue() != null) {
      clientIds.add(ref.getIdentifier().getValue());
      return;
    }
    // Group, CareTeam, Device, absolute or unresolvable references: the gateway cannot tell who is meant.
    actorUnknown = true;
  }

  private void addClass(Coding c) {
    String code = c.getCode();
    if (code == null) {
      classUnknown = true;
    } else if (code.startsWith(CORE_SD)) {
      classTypes.add(ResourceFacts.stripVersion(code.substring(CORE_SD.length())));
    } else if (code.startsWith("http:") || code.startsWith("https:") || code.startsWith("urn:")) {
      classProfiles.add(ResourceFacts.stripVersion(code));
    } else if (c.getSystem() == null || RESOURCE_TYPES.equals(c.getSystem())) {
      classTypes.add(code);
    } else {
      classUnknown = true;
    }
  }

  static String key(String system, String code) {
    return (system == null ? "" : system) + "|" + code;
  }

  /** Whether this rule's request-level conditions (actor, action, purpose, period) hold. */
  Match requestMatch(ConsentRequest request, Set<String> purposesWithParents, long now) {
    Match m = period.contains(now) ? Match.YES : Match.NO;
    if (hasActor) {
      m = m.and(actorMatch(request));
    }
    if (hasAction) {
      m = m.and(actions.contains(request.action()) ? Match.YES : actionUnknown ? Match.UNKNOWN : Match.NO);
    }
    if (hasPurpose) {
      boolean any = false;
      for (String p : purposesWithParents) {
        if (purposes.contains(p)) {
          any = true;
          break;
        }
      }
      m = m.and(any ? Match.YES : purposeUnknown ? Match.UNKNOWN : Match.NO);
    }
    return m;
  }

  private Match actorMatch(ConsentRequest request) {
    if (request.clientId() != null && clientIds.contains(request.clientId())) {
      return Match.YES;
    }
    for (String a : request.actors()) {
      if (actorRefs.contains(a)) {
        return Match.YES;
      }
    }
    if (request.affiliationsUnknown()) {
      for (String ref : actorRefs) {
        if (ref.startsWith("PractitionerRole/") || ref.startsWith("Organization/")) {
          return Match.UNKNOWN; // the user may hold this role or work for this organization: the look-up failed
        }
      }
    }
    return actorUnknown ? Match.UNKNOWN : Match.NO;
  }

  /** Whether this rule's resource-level conditions (data period, class, code, security label) hold. */
  Match resourceMatch(ResourceFacts r) {
    if (!resourceConditions) {
      return Match.YES;
    }
    Match m = Match.YES;
    if (dataPeriod != null) {
      if (r.dataTime == null) {
        m = Match.UNKNOWN;
      } else if (dataPeriod.contains(r.dataTime)) {
        m = Match.YES;
      } else {
        // Partly inside: a deny must cover it, a permit must not.
        m = dataPeriod.overlaps(r.dataTime) ? Match.UNKNOWN : Match.NO;
      }
    }
    if (hasClass && m != Match.NO) {
      m = m.and(classMatch(r));
    }
    if (hasCode && m != Match.NO) {
      m = m.and(codeMatch(r));
    }
    if (hasLabel && m != Match.NO) {
      m = m.and(labelMatch(r));
    }
    return m;
  }

  private Match classMatch(ResourceFacts r) {
    if (classTypes.contains(r.type)) {
      return Match.YES;
    }
    for (String p : r.profiles) {
      if (classProfiles.contains(p)) {
        return Match.YES;
      }
    }
    return classUnknown ? Match.UNKNOWN : Match.NO;
  }

  private Match codeMatch(ResourceFacts r) {
    for (Coding c : r.codes) {
      if (c.getCode() != null && (codes.contains(key(c.getSystem(), c.getCode())) || codes.contains(key(null, c.getCode())))) {
        return Match.YES;
      }
    }
    return Match.NO;
  }

  private Match labelMatch(ResourceFacts r) {
    int confidentiality = -1;
    for (Coding c : r.securityLabels) {
      if (CONFIDENTIALITY.equals(c.getSystem()) && CONFIDENTIALITY_ORDER.contains(c.getCode())) {
        confidentiality = Math.max(confidentiality, CONFIDENTIALITY_ORDER.indexOf(c.getCode()));
      } else if (c.getCode() != null
          && (labels.contains(key(c.getSystem(), c.getCode())) || labels.contains(key(null, c.getCode())))) {
        return Match.YES;
      }
    }
    if (maxConfidentiality >= 0) {
      int level = confidentiality < 0 ? NORMAL : confidentiality; // unlabelled data is normal (N)
      if (level <= maxConfidentiality) {
        return Match.YES;
      }
    }
    return Match.NO;
  }
}
