package org.fhirledger.gateway.consent;

import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who wants to do what with one patient's data, and why: the input of {@link ConsentService#decide}.
 *
 * <p>Phase 2 builds it from the SMART {@code Caller}: {@code clientId} from the token's client, {@code actors} from
 * {@code fhirUser} (plus the Organization or PractitionerRole the gateway knows the user acts for), the purposes from
 * the token's purpose of use. A resource in several patients' compartments needs one request per patient, and is
 * allowed only if every decision allows it.
 *
 * @param patient the data subject, {@code Patient/<id>}, non-null
 * @param clientId the OAuth client (application) id, or null when unknown; matches Consent actors given as an
 *     identifier with system {@link #CLIENT_ID_SYSTEM}
 * @param actors the acting user and who they act for, as relative references {@code Practitioner/<id>},
 *     {@code PractitionerRole/<id>}, {@code Organization/<id>}, {@code RelatedPerson/<id>}, {@code Patient/<id>};
 *     non-null, may be empty
 * @param action what the actor does, non-null
 * @param purposes purpose of use codes (v3 PurposeOfUse, for example {@code TREAT}, {@code ETREAT}); non-null, may be
 *     empty
 * @param affiliationsUnknown the user's PractitionerRoles and Organizations could not be looked up: provisions whose
 *     actor is a PractitionerRole or Organization the request does not already name are unknown to this request (a
 *     deny among them applies, a permit does not)
 */
public record ConsentRequest(String patient, String clientId, Set<String> actors, ConsentAction action,
    Set<String> purposes, boolean affiliationsUnknown) {

  /** A request whose actors are complete (nothing failed to be looked up). */
  public ConsentRequest(String patient, String clientId, Set<String> actors, ConsentAction action,
      Set<String> purposes) {
    this(patient, clientId, actors, action, purposes, false);
  }

  /**
   * Identifier system for an OAuth client id in {@code Consent.provision.actor.reference.identifier}: an actor
   * {@code {"identifier": {"system": CLIENT_ID_SYSTEM, "value": "<client id>"}}} names a client application.
   */
  public static final String CLIENT_ID_SYSTEM = "https://fhirledger.org/fhir/sid/oauth-client-id";

  private static final Pattern REFERENCE =
      Pattern.compile("(Patient|Practitioner|PractitionerRole|Organization|RelatedPerson)/[A-Za-z0-9\\-.]{1,64}");

  public ConsentRequest {
    Objects.requireNonNull(patient, "patient");
    if (!patient.startsWith("Patient/") || !REFERENCE.matcher(patient).matches()) {
      throw new IllegalArgumentException("patient must be a reference Patient/<id>");
    }
    actors = Set.copyOf(Objects.requireNonNull(actors, "actors"));
    for (String a : actors) {
      if (!REFERENCE.matcher(a).matches()) {
        throw new IllegalArgumentException("actor must be a relative reference to a Patient, Practitioner, "
            + "PractitionerRole, Organization or RelatedPerson");
      }
    }
    Objects.requireNonNull(action, "action");
    purposes = Set.copyOf(Objects.requireNonNull(purposes, "purposes"));
  }

  /** True when the data subject is among the actors: a patient acting on their own record. */
  public boolean bySubject() {
    return actors.contains(patient);
  }
}
