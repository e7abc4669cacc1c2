package org.fhirledger.gateway.consent;

import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.IdType;

/**
 * One Consent version, compiled for fast decisions. Immutable and thread-safe.
 *
 * <p>Evaluation follows FHIR R4's Consent rules: the root provision's type is the base rule for whatever its
 * conditions cover; nested provisions are exceptions, and the most specific provision that matches decides. Where
 * several sibling provisions match, deny wins. A provision whose conditions the gateway cannot evaluate
 * ({@link Rule.Match#UNKNOWN}) yields the more restrictive of "it applies" and "it does not apply".
 */
final class CompiledConsent {

  static final String SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope";
  static final String PRIVACY = "patient-privacy";
  static final String ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

  /** Ordered from most to least restrictive: SILENT (no say) is never more permissive than PERMIT. */
  enum Result { DENY, SILENT, PERMIT }

  final ConsentVersion version;
  /** {@code Patient/<id>}, or null when the Consent names no usable patient. */
  final String patient;
  final Consent.ConsentState status;
  final boolean privacyScope;
  final List<Coding> category;
  final Date dateTime;
  final Rule root;

  private CompiledConsent(ConsentVersion version, String patient, Consent.ConsentState status, boolean privacyScope,
      List<Coding> category, Date dateTime, Rule root) {
    this.version = version;
    this.patient = patient;
    this.status = status;
    this.privacyScope = privacyScope;
    this.category = category;
    this.dateTime = dateTime;
    this.root = root;
  }

  /**
   * Compiles {@code consent}.
   *
   * @throws IllegalArgumentException if it has no logical id
   */
  static CompiledConsent compile(Consent consent) {
    IdType id = consent.getIdElement();
    if (id == null || !id.hasIdPart()) {
      throw new IllegalArgumentException("a Consent without an id cannot be indexed");
    }
    String version = id.hasVersionIdPart() ? id.getVersionIdPart() : consent.getMeta().getVersionId();
    String patient = null;
    if (consent.getPatient().hasReference()) {
      IdType p = new IdType(consent.getPatient().getReference());
      if (!p.isAbsolute() && "Patient".equals(p.getResourceType()) && p.hasIdPart()) {
        patient = "Patient/" + p.getIdPart();
      }
    }
    boolean privacy = consent.getScope().getCoding().stream()
        .anyMatch(c -> PRIVACY.equals(c.getCode()) && (c.getSystem() == null || SCOPE_SYSTEM.equals(c.getSystem())));
    List<Coding> category = new ArrayList<>();
    for (CodeableConcept cc : consent.getCategory()) {
      category.addAll(cc.getCoding());
    }
    Consent.ProvisionComponent provision = consent.hasProvision() ? consent.getProvision()
        : new Consent.ProvisionComponent();
    boolean rootPermit = provision.hasType() ? provision.getType() == Consent.ConsentProvisionType.PERMIT
        : permitByPolicyRule(consent.getPolicyRule());
    return new CompiledConsent(new ConsentVersion(id.getIdPart(), version), patient, consent.getStatus(), privacy,
        List.copyOf(category), consent.getDateTime(), new Rule(provision, rootPermit));
  }

  /**
   * The base rule when the root provision has no type: {@code OPTIN}/{@code OPTINR} permit, anything else (including
   * {@code OPTOUT}, {@code OPTOUTE} and no policy rule) denies.
   */
  private static boolean permitByPolicyRule(CodeableConcept policyRule) {
    return policyRule.getCoding().stream()
        .anyMatch(c -> (c.getSystem() == null || ACT_CODE.equals(c.getSystem()))
            && ("OPTIN".equals(c.getCode()) || "OPTINR".equals(c.getCode())));
  }

  /** True when this Consent takes part in decisions: scope patient-privacy, status active, a patient. */
  boolean applies() {
    return privacyScope && status == Consent.ConsentState.ACTIVE && patient != null;
  }

  /**
   * This Consent's provisions with the request's conditions evaluated, or null when the root does not match the
   * request (the Consent has no say).
   */
  Bound bind(ConsentRequest request, Set<String> purposes, long now) {
    return Bound.of(root, request, purposes, now);
  }

  /** A rule with its request-level match decided; children that cannot match are dropped. */
  static final class Bound {
    final Rule rule;
    final Rule.Match request;
    final List<Bound> children;
    /** Non-null when the result is the same for every resource. */
    final Result constant;

    private Bound(Rule rule, Rule.Match request, List<Bound> children) {
      this.rule = rule;
      this.request = request;
      this.children = children;
      if (!anyResourceConditions(this)) {
        constant = eval(null);
      } else if (!rule.resourceConditions && request == Rule.Match.YES && uniform(this, rule.permit)) {
        constant = rule.permit ? Result.PERMIT : Result.DENY;
      } else {
        constant = null;
      }
    }

    static Bound of(Rule rule, ConsentRequest request, Set<String> purposes, long now) {
      Rule.Match m = rule.requestMatch(request, purposes, now);
      if (m == Rule.Match.NO) {
        return null;
      }
      List<Bound> kids = List.of();
      if (!rule.children.isEmpty()) {
        kids = new ArrayList<>(rule.children.size());
        for (Rule child : rule.children) {
          Bound b = of(child, request, purposes, now);
          if (b != null) {
            kids.add(b);
          }
        }
      }
      return new Bound(rule, m, kids);
    }

    private static boolean anyResourceConditions(Bound b) {
      if (b.rule.resourceConditions) {
        return true;
      }
      for (Bound c : b.children) {
        if (anyResourceConditions(c)) {
          return true;
        }
      }
      return false;
    }

    private static boolean uniform(Bound b, boolean permit) {
      if (b.rule.permit != permit) {
        return false;
      }
      for (Bound c : b.children) {
        if (!uniform(c, permit)) {
          return false;
        }
      }
      return true;
    }

    /** The result for one resource ({@code facts} may be null only when no rule in this tree tests the resource). */
    Result eval(ResourceFacts facts) {
      Rule.Match m = request;
      if (rule.resourceConditions) {
        m = m.and(rule.resourceMatch(facts));
      }
      if (m == Rule.Match.NO) {
        return Result.SILENT;
      }
      Result applied = null;
      for (Bound child : children) {
        Result r = child.eval(facts);
        if (r == Result.DENY) {
          applied = Result.DENY;
          break;
        }
        if (r == Result.PERMIT) {
          applied = Result.PERMIT;
        }
      }
      if (applied == null) {
        applied = rule.permit ? Result.PERMIT : Result.DENY;
      }
      if (m == Rule.Match.YES) {
        return applied;
      }
      return applied == Result.DENY ? Result.DENY : Result.SILENT;
    }
  }
}
