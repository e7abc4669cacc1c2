package org.fhirledger.gateway.auth.server;

import java.util.Collection;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a scope a client is allowed covers a scope it asks for, the SMART way: {@code system/*.rs}
 * covers {@code system/Observation.rs} and {@code system/Patient.r}; v1 {@code read} is v2 {@code rs},
 * {@code write} is {@code cud}, {@code *} is {@code cruds}. A granular allowed scope (with a query)
 * covers only the same query. Scopes that are not SMART resource scopes ({@code openid},
 * {@code launch/patient}, ...) must match exactly. Stateless and thread-safe.
 */
final class SmartScopes {

  private static final Pattern RESOURCE_SCOPE =
      Pattern.compile("(patient|user|system)/([A-Za-z]+|\\*)\\.(read|write|\\*|c?r?u?d?s?)(\\?.+)?");

  private record Parsed(String context, String type, String permissions, String query) {}

  private SmartScopes() {}

  /** True if some scope of {@code allowed} covers {@code requested}. */
  static boolean covered(Collection<String> allowed, String requested) {
    return allowed.stream().anyMatch(a -> covers(a, requested));
  }

  static boolean covers(String allowed, String requested) {
    if (allowed.equals(requested)) {
      return true;
    }
    Optional<Parsed> a = parse(allowed);
    Optional<Parsed> r = parse(requested);
    if (a.isEmpty() || r.isEmpty()) {
      return false;
    }
    Parsed al = a.get();
    Parsed rq = r.get();
    boolean sameQuery = al.query() == null || al.query().equals(rq.query());
    return al.context().equals(rq.context())
        && (al.type().equals("*") || al.type().equals(rq.type()))
        && rq.permissions().chars().allMatch(ch -> al.permissions().indexOf(ch) >= 0)
        && sameQuery;
  }

  private static Optional<Parsed> parse(String scope) {
    Matcher m = RESOURCE_SCOPE.matcher(scope);
    if (!m.matches() || m.group(3).isEmpty()) {
      return Optional.empty();
    }
    String permissions = switch (m.group(3)) {
      case "read" -> "rs";
      case "write" -> "cud";
      case "*" -> "cruds";
      default -> m.group(3);
    };
    return Optional.of(new Parsed(m.group(1), m.group(2), permissions, m.group(4)));
  }
}
