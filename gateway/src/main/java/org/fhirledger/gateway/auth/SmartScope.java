package org.fhirledger.gateway.auth;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One SMART on FHIR resource scope, in its v2 meaning: who it is for ({@code patient}, {@code user},
 * {@code system}), which resource type ({@code *} for all), which permissions ({@code c r u d s}) and,
 * for a granular scope, the search parameters every resource it grants must match.
 *
 * <p>SMART v1 forms are mapped as SMART App Launch 2.x says (scopes-and-launch-context, "Scopes for
 * requesting FHIR resources"): {@code .read} = {@code .rs}, {@code .write} = {@code .cud},
 * {@code .*} = {@code .cruds}. Immutable.
 *
 * @param context whose data the scope is about
 * @param resourceType a FHIR resource type name, or {@code *}
 * @param permissions what the scope allows, never empty
 * @param query for a granular scope the parameters (name to values, values already URL-decoded) a
 *     granted resource must match, each name ANDed, comma-separated values ORed; empty otherwise
 */
public record SmartScope(Context context, String resourceType, Set<Permission> permissions,
    Map<String, List<String>> query) {

  /** Whose data a scope is about. */
  public enum Context {
    /** The patient in the token's launch context, and nobody else. */
    PATIENT,
    /** Whatever the user (the token's {@code fhirUser}) may see. */
    USER,
    /** A backend system, no user. */
    SYSTEM
  }

  /** SMART v2 permissions, in the order the spec requires them. */
  public enum Permission {
    CREATE('c'), READ('r'), UPDATE('u'), DELETE('d'), SEARCH('s');

    final char letter;

    Permission(char letter) {
      this.letter = letter;
    }
  }

  private static final Pattern SCOPE =
      Pattern.compile("(patient|user|system)/([A-Za-z]+|\\*)\\.([a-z*]+)(\\?(.*))?");

  public SmartScope {
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(resourceType, "resourceType");
    if (permissions.isEmpty()) {
      throw new IllegalArgumentException("a scope grants at least one permission");
    }
    permissions = Collections.unmodifiableSet(EnumSet.copyOf(permissions));
    Map<String, List<String>> copy = new LinkedHashMap<>();
    query.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    query = Collections.unmodifiableMap(copy);
  }

  /**
   * Parses one scope token. Empty for anything that is not a resource scope ({@code openid},
   * {@code launch/patient}, ...) and for malformed ones (permissions out of order or repeated, a
   * v1 suffix with a query), which then grant nothing.
   */
  public static Optional<SmartScope> parse(String scope) {
    Matcher m = SCOPE.matcher(scope);
    if (!m.matches()) {
      return Optional.empty();
    }
    Context context = Context.valueOf(m.group(1).toUpperCase(Locale.ROOT));
    String perms = m.group(3);
    String query = m.group(5);
    EnumSet<Permission> permissions;
    switch (perms) {
      case "read" -> permissions = EnumSet.of(Permission.READ, Permission.SEARCH);
      case "write" -> permissions = EnumSet.of(Permission.CREATE, Permission.UPDATE, Permission.DELETE);
      case "*" -> permissions = EnumSet.allOf(Permission.class);
      default -> {
        Optional<EnumSet<Permission>> v2 = v2Permissions(perms);
        if (v2.isEmpty()) {
          return Optional.empty();
        }
        permissions = v2.get();
      }
    }
    boolean v1 = perms.equals("read") || perms.equals("write") || perms.equals("*");
    if (query != null && (v1 || query.isEmpty())) {
      return Optional.empty();
    }
    Map<String, List<String>> params = query == null ? Map.of() : parseQuery(query);
    if (params == null) {
      return Optional.empty();
    }
    return Optional.of(new SmartScope(context, m.group(2), permissions, params));
  }

  /** Parses the space-separated {@code scope} claim; tokens that are not resource scopes are skipped. */
  public static List<SmartScope> parseAll(String scopes) {
    List<SmartScope> out = new ArrayList<>();
    if (scopes != null) {
      for (String s : scopes.trim().split("\\s+")) {
        parse(s).ifPresent(out::add);
      }
    }
    return List.copyOf(out);
  }

  private static Optional<EnumSet<Permission>> v2Permissions(String letters) {
    EnumSet<Permission> out = EnumSet.noneOf(Permission.class);
    int last = -1;
    for (char c : letters.toCharArray()) {
      Permission p = null;
      for (Permission candidate : Permission.values()) {
        if (candidate.letter == c) {
          p = candidate;
        }
      }
      if (p == null || p.ordinal() <= last) {
        return Optional.empty();
      }
      out.add(p);
      last = p.ordinal();
    }
    return out.isEmpty() ? Optional.empty() : Optional.of(out);
  }

  private static Map<String, List<String>> parseQuery(String query) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || eq == pair.length() - 1) {
        return null;
      }
      String name = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return out;
  }

  /** Whether this scope is about {@code type} (its own type or {@code *}). */
  public boolean covers(String type) {
    return resourceType.equals("*") || resourceType.equals(type);
  }

  public boolean allows(Permission permission) {
    return permissions.contains(permission);
  }

  public boolean isGranular() {
    return !query.isEmpty();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(context.name().toLowerCase(Locale.ROOT)).append('/').append(resourceType)
        .append('.');
    permissions.forEach(p -> sb.append(p.letter));
    if (!query.isEmpty()) {
      sb.append('?');
      List<String> parts = new ArrayList<>();
      query.forEach((k, vs) -> vs.forEach(v -> parts.add(k + "=" + v)));
      sb.append(String.join("&", parts));
    }
    return sb.toString();
  }
}
