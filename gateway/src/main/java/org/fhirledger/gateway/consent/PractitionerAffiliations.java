package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.PractitionerRole;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whom a Practitioner acts for: their active PractitionerRoles and those roles' Organizations, looked up in the EHR
 * ({@code GET PractitionerRole?practitioner=Practitioner/<id>}) so that a Consent provision naming an Organization or
 * PractitionerRole applies to a user whose token names only the Practitioner. Answers are cached for a short time; a
 * failed look-up is not cached and reported as empty, and the caller then decides as if the affiliations were unknown
 * (fail closed: a permit to an Organization does not apply, a deny does). Thread-safe.
 */
final class PractitionerAffiliations {

  private static final Logger log = LoggerFactory.getLogger(PractitionerAffiliations.class);
  private static final Pattern PRACTITIONER = Pattern.compile("Practitioner/[A-Za-z0-9\\-.]{1,64}");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final int PAGE = 100;
  private static final int MAX_CACHED = 10_000;

  private final UpstreamFhirClient upstream;
  private final FhirContext fhir;
  private final Clock clock;
  private final Duration ttl;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(Set<String> references, Instant until) {}

  PractitionerAffiliations(UpstreamFhirClient upstream, FhirContext fhir, Clock clock, Duration ttl) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.fhir = Objects.requireNonNull(fhir, "fhir");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (ttl.isNegative()) {
      throw new IllegalArgumentException("ttl must not be negative");
    }
    this.ttl = ttl;
  }

  /**
   * The {@code PractitionerRole/<id>} and {@code Organization/<id>} references the practitioner acts for (active roles
   * whose period covers now).
   *
   * @param practitioner {@code Practitioner/<id>}
   * @return the references (possibly none), or empty when the EHR could not be asked or answered unusably
   */
  Optional<Set<String>> of(String practitioner) {
    if (!PRACTITIONER.matcher(practitioner).matches()) {
      return Optional.of(Set.of());
    }
    Instant now = clock.instant();
    Cached cached = cache.get(practitioner);
    if (cached != null && now.isBefore(cached.until())) {
      return Optional.of(cached.references());
    }
    Optional<Set<String>> looked = lookUp(practitioner, now);
    looked.ifPresent(refs -> {
      if (cache.size() >= MAX_CACHED) {
        cache.values().removeIf(c -> !now.isBefore(c.until()));
        if (cache.size() >= MAX_CACHED) {
          cache.clear();
        }
      }
      cache.put(practitioner, new Cached(refs, now.plus(ttl)));
    });
    return looked;
  }

  private Optional<Set<String>> lookUp(String practitioner, Instant now) {
    UpstreamResponse answer;
    try {
      answer = upstream.exchange(new UpstreamRequest("GET", "/PractitionerRole?practitioner="
          + URLEncoder.encode(practitioner, StandardCharsets.UTF_8) + "&_count=" + PAGE,
          Map.of("accept", List.of("application/fhir+json")), new byte[0]));
    } catch (RuntimeException e) {
      log.warn("PractitionerRole look-up failed ({}); deciding as if the user's affiliations were unknown",
          e.getClass().getSimpleName());
      return Optional.empty();
    }
    if (answer.status() != 200) {
      log.warn("PractitionerRole look-up answered {}; deciding as if the user's affiliations were unknown",
          answer.status());
      return Optional.empty();
    }
    Bundle bundle;
    try {
      bundle = fhir.newJsonParser().parseResource(Bundle.class, new String(answer.body(), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      log.warn("PractitionerRole look-up answer could not be parsed; deciding as if the affiliations were unknown");
      return Optional.empty();
    }
    if (bundle.getLink(Bundle.LINK_NEXT) != null) {
      log.warn("A practitioner holds more than {} roles; deciding as if the user's affiliations were unknown", PAGE);
      return Optional.empty();
    }
    Set<String> out = new LinkedHashSet<>();
    Date at = Date.from(now);
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (!(e.getResource() instanceof PractitionerRole role) || role.hasActive() && !role.getActive()) {
        continue;
      }
      if (role.hasPeriod() && (role.getPeriod().hasStart() && role.getPeriod().getStart().after(at)
          || role.getPeriod().hasEnd() && !role.getPeriod().getEnd().after(at))) {
        continue;
      }
      String roleId = role.getIdElement().getIdPart();
      if (roleId != null && ID.matcher(roleId).matches()) {
        out.add("PractitionerRole/" + roleId);
      }
      if (role.hasOrganization() && role.getOrganization().hasReference()) {
        var org = role.getOrganization().getReferenceElement();
        if (!org.isAbsolute() && "Organization".equals(org.getResourceType()) && org.hasIdPart()
            && ID.matcher(org.getIdPart()).matches()) {
          out.add("Organization/" + org.getIdPart());
        }
      }
    }
    return Optional.of(Set.copyOf(out));
  }
}
