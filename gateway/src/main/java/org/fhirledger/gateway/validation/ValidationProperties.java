package org.fhirledger.gateway.validation;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Validation on write ({@code gateway.validation.*}). Resource type keys are matched without regard to case
 * ({@code modes.Observation} and the environment's {@code GATEWAY_VALIDATION_MODES_OBSERVATION} are one key).
 *
 * @param defaultMode the mode of every resource type without its own
 * @param modes the mode per resource type, for example {@code Observation: reject}
 * @param profiles the profiles (canonical URLs) every resource of a type must conform to, besides FHIR R4 and the
 *     profiles it claims in {@code meta.profile}; a profile no loaded package defines is ignored, with a warning
 *     in the log at start-up
 * @param packageDir a directory of FHIR NPM packages ({@code *.tgz}, for example US Core) to load besides those
 *     on the classpath ({@code fhir-packages/*.tgz}, the gateway's own among them); none when empty
 */
@ConfigurationProperties("gateway.validation")
public record ValidationProperties(
    @DefaultValue("warn") ValidationMode defaultMode,
    Map<String, ValidationMode> modes,
    Map<String, List<String>> profiles,
    Path packageDir) {

  public ValidationProperties {
    modes = lowerCaseKeys(modes);
    profiles = lowerCaseKeys(profiles);
  }

  /** The mode for resources of {@code resourceType}. */
  public ValidationMode modeFor(String resourceType) {
    return modes.getOrDefault(resourceType.toLowerCase(Locale.ROOT), defaultMode);
  }

  /** The profiles configured for {@code resourceType}; empty when none. */
  public List<String> profilesFor(String resourceType) {
    return profiles.getOrDefault(resourceType.toLowerCase(Locale.ROOT), List.of());
  }

  /** Whether any resource type is validated at all. */
  public boolean enabled() {
    return defaultMode != ValidationMode.OFF || modes.values().stream().anyMatch(m -> m != ValidationMode.OFF);
  }

  private static <V> Map<String, V> lowerCaseKeys(Map<String, V> map) {
    Map<String, V> out = new TreeMap<>();
    if (map != null) {
      map.forEach((k, v) -> out.put(k.toLowerCase(Locale.ROOT), v instanceof List<?> l ? castList(l) : v));
    }
    return java.util.Collections.unmodifiableMap(out);
  }

  @SuppressWarnings("unchecked")
  private static <V> V castList(List<?> list) {
    return (V) list.stream().map(Object::toString).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
