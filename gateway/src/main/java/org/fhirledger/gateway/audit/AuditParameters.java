package org.fhirledger.gateway.audit;

import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;

/**
 * Reads the parameters of the audit endpoints. Every refusal is an {@link InvalidRequestException}
 * (400 with an OperationOutcome) whose message names the parameter and never echoes its value,
 * which may be PHI. Stateless.
 */
final class AuditParameters {

  static final int DEFAULT_COUNT = 50;
  static final int MAX_COUNT = 1000;
  /**
   * Restricts a search to the log as it was at that tree size, so that its pages stay the same
   * while the log grows; the gateway adds it to every search that lacks it, hence to its links.
   */
  static final String LEDGER_SIZE = "ledger-size";

  /** Search parameters the audit search understands, plus HAPI's formatting parameters it passes on. */
  private static final Set<String> SEARCH_PARAMETERS = Set.of(
      "patient", "agent", "entity", "date", "action", LEDGER_SIZE, "_count", "_offset",
      "_format", "_pretty", "_summary", "_elements", "_total");
  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final Pattern TYPE_AND_ID = Pattern.compile("([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\\-.]{1,64})(/_history/[A-Za-z0-9\\-.]{1,64})?");

  private AuditParameters() {}

  /** Refuses parameters the search does not understand, so that no filter is silently ignored. */
  static void requireKnown(Map<String, String[]> parameters) {
    for (String name : parameters.keySet()) {
      String base = name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
      if (!SEARCH_PARAMETERS.contains(base) || !base.equals(name)) {
        throw new InvalidRequestException("Search parameter '" + safeName(name) + "' is not supported on AuditEvent; "
            + "supported: patient, agent, entity, date, action, "
            + LEDGER_SIZE + ", _count, _offset");
      }
    }
  }

  /** The one value of {@code name}, or null when absent. */
  static String single(Map<String, String[]> parameters, String name) {
    String[] values = parameters.get(name);
    if (values == null || values.length == 0) {
      return null;
    }
    if (values.length > 1 || values[0].contains(",")) {
      throw new InvalidRequestException("Parameter '" + name + "' takes one value");
    }
    if (values[0].isBlank()) {
      throw new InvalidRequestException("Parameter '" + name + "' is empty");
    }
    return values[0];
  }

  /** A patient reference {@code Patient/<id>} from {@code Patient/<id>} or a bare id. */
  static String patientReference(String value, String name) {
    String id = value.startsWith("Patient/") ? value.substring("Patient/".length()) : value;
    if (!FHIR_ID.matcher(id).matches()) {
      throw new InvalidRequestException("Parameter '" + name + "' must be a Patient reference (Patient/<id>)");
    }
    return "Patient/" + id;
  }

  /** An entity reference {@code Type/id} (a version is ignored: the index is per resource). */
  static String entityReference(String value) {
    var m = TYPE_AND_ID.matcher(value);
    if (!m.matches()) {
      throw new InvalidRequestException("Parameter 'entity' must be a relative reference (Type/id)");
    }
    return m.group(1) + "/" + m.group(2);
  }

  static AuditEventAction action(String value) {
    if (value == null) {
      return null;
    }
    return switch (value) {
      case "C" -> AuditEventAction.C;
      case "R" -> AuditEventAction.R;
      case "U" -> AuditEventAction.U;
      case "D" -> AuditEventAction.D;
      case "E" -> AuditEventAction.E;
      default -> throw new InvalidRequestException(
          "Parameter 'action' must be one of C, R, U, D, E (http://hl7.org/fhir/audit-event-action)");
    };
  }

  /**
   * The instant range all {@code date} values allow (they are ANDed), as {from, to}, either null
   * when open.
   */
  static Instant[] dateRange(String[] values) {
    Instant from = null;
    Instant to = null;
    if (values == null) {
      return new Instant[] {null, null};
    }
    for (String value : values) {
      DateRangeParam range;
      try {
        range = new DateRangeParam(new DateParam(value));
        range.getLowerBoundAsInstant();
        range.getUpperBoundAsInstant();
      } catch (RuntimeException e) {
        throw new InvalidRequestException("Parameter 'date' must be a FHIR date or dateTime with an optional "
            + "prefix (eq, ne is not supported, gt, lt, ge, le), for example ge2026-01-01");
      }
      if (range.getLowerBound() != null && range.getLowerBound().getPrefix() == ParamPrefixEnum.NOT_EQUAL) {
        throw new InvalidRequestException("Parameter 'date' does not support the ne prefix");
      }
      Instant lower = instant(range.getLowerBoundAsInstant());
      Instant upper = instant(range.getUpperBoundAsInstant());
      if (lower != null && (from == null || lower.isAfter(from))) {
        from = lower;
      }
      if (upper != null && (to == null || upper.isBefore(to))) {
        to = upper;
      }
    }
    return new Instant[] {from, to};
  }

  /** The start of {@code value}'s precision (a FHIR date or dateTime), named {@code name} in errors. */
  static Instant lowerBound(String value, String name) {
    return bound(value, name, ParamPrefixEnum.GREATERTHAN_OR_EQUALS, true);
  }

  /** The end of {@code value}'s precision (a whole day for a date), named {@code name} in errors. */
  static Instant upperBound(String value, String name) {
    return bound(value, name, ParamPrefixEnum.LESSTHAN_OR_EQUALS, false);
  }

  private static Instant bound(String value, String name, ParamPrefixEnum prefix, boolean lower) {
    if (value == null) {
      return null;
    }
    try {
      DateRangeParam range = new DateRangeParam(new DateParam(prefix, value));
      return instant(lower ? range.getLowerBoundAsInstant() : range.getUpperBoundAsInstant());
    } catch (RuntimeException e) {
      throw new InvalidRequestException("Parameter '" + name + "' must be a FHIR date or dateTime, "
          + "for example 2026-01-01 or 2026-01-01T10:00:00Z");
    }
  }

  /** A non-negative integer parameter, {@code fallback} when absent, refused above {@code max}. */
  static int integer(Map<String, String[]> parameters, String name, int fallback, int max) {
    String value = single(parameters, name);
    if (value == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n < 0 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new InvalidRequestException("Parameter '" + name + "' must be an integer from 0 to " + max);
    }
  }

  /** A non-negative long parameter, or null when absent. */
  static Long longValue(Map<String, String[]> parameters, String name) {
    String value = single(parameters, name);
    if (value == null) {
      return null;
    }
    try {
      long n = Long.parseLong(value);
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new InvalidRequestException("Parameter '" + name + "' must be a non-negative integer");
    }
  }

  private static Instant instant(Date date) {
    return date == null ? null : date.toInstant();
  }

  private static String safeName(String name) {
    return name.length() <= 40 && name.matches("[A-Za-z0-9_:.\\-]+") ? name : "(unprintable)";
  }
}
