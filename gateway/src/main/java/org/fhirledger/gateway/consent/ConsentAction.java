package org.fhirledger.gateway.consent;

import java.util.Locale;
import java.util.Optional;

/**
 * What an actor does with a patient's data, as the codes of {@code http://terminology.hl7.org/CodeSystem/consentaction}
 * that {@code Consent.provision.action} names.
 *
 * <p>How the gateway maps FHIR REST interactions onto them ({@link #forInteraction}): read, vread, search, history and
 * read-only operations such as {@code $everything} are {@code access}; create is {@code collect} (new data about the
 * patient enters the record); update, patch and delete are {@code correct} (R4's code system has no "delete": removing
 * or replacing recorded data is a correction of the record). {@code use} and {@code disclose} are never derived from
 * an interaction: they match only requests that name them explicitly (for example a future bulk export).
 */
public enum ConsentAction {
  ACCESS("access"),
  COLLECT("collect"),
  USE("use"),
  DISCLOSE("disclose"),
  CORRECT("correct");

  /** The code system of {@code Consent.provision.action}. */
  public static final String SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction";

  private final String code;

  ConsentAction(String code) {
    this.code = code;
  }

  public String code() {
    return code;
  }

  /** The action for a code of {@link #SYSTEM}, or empty for any other code. */
  public static Optional<ConsentAction> ofCode(String code) {
    for (ConsentAction a : values()) {
      if (a.code.equals(code)) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  /**
   * The action of a FHIR REST interaction, named as in the FHIR spec's restful-interaction codes ({@code read},
   * {@code vread}, {@code search-type}, {@code search}, {@code history-instance}, {@code create}, {@code update},
   * {@code patch}, {@code delete}, {@code operation}) .
   *
   * @throws IllegalArgumentException for an interaction with no mapping (for example {@code transaction}: its
   *     entries are decided one by one)
   */
  public static ConsentAction forInteraction(String interaction) {
    return switch (interaction.toLowerCase(Locale.ROOT)) {
      case "read", "vread", "search", "search-type", "search-system", "history", "history-instance",
          "history-type", "history-system", "operation" -> ACCESS;
      case "create" -> COLLECT;
      case "update", "patch", "delete" -> CORRECT;
      default -> throw new IllegalArgumentException("no consent action for interaction " + interaction
          + "; decide the entries of a batch or transaction one by one");
    };
  }
}
