package org.fhirledger.gateway.consent;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Patient consent settings ({@code gateway.consent.*}).
 *
 * @param enabled enforce patient Consent on every interaction (index, {@link ConsentService}, {@link ConsentEnforcer});
 *     off by default
 * @param defaultPolicy what applies where no Consent does: {@code opt-in} (deny) or {@code opt-out} (permit)
 * @param breakGlassAllowed whether purpose of use {@code ETREAT} overrides Consents (always flagged)
 * @param pageSize {@code _count} of each page when the index is rebuilt from the EHR
 * @param retryInterval how often a failed rebuild or Consent read-back is retried (decisions deny meanwhile)
 * @param denyAsNotFound answer a denied direct read 404 (as if the resource did not exist) instead of 403
 * @param maxPageFetches most EHR pages fetched to fill one page of a listing that Consent filtering left short
 * @param affiliationLookup look up a Practitioner user's PractitionerRoles and their Organizations in the EHR, so
 *     that provisions naming them apply
 * @param affiliationTtl how long a look-up is cached (a failed one is not)
 * @param pagingKeyFile the HMAC key of the gateway's paging links (created if absent, owner-only); by default
 *     {@code <data-dir>/consent/paging-link.key}. Instances behind one load balancer must share one copy, or a link
 *     issued by one is refused by the others
 */
@ConfigurationProperties("gateway.consent")
public record ConsentProperties(
    @DefaultValue("false") boolean enabled,
    @DefaultValue("opt-in") String defaultPolicy,
    @DefaultValue("false") boolean breakGlassAllowed,
    @DefaultValue("500") int pageSize,
    @DefaultValue("10s") Duration retryInterval,
    @DefaultValue("false") boolean denyAsNotFound,
    @DefaultValue("10") int maxPageFetches,
    @DefaultValue("true") boolean affiliationLookup,
    @DefaultValue("60s") Duration affiliationTtl,
    java.nio.file.Path pagingKeyFile) {

  public ConsentProperties {
    if (!"opt-in".equals(defaultPolicy) && !"opt-out".equals(defaultPolicy)) {
      throw new IllegalArgumentException("gateway.consent.default-policy must be opt-in or opt-out, was "
          + defaultPolicy);
    }
    if (affiliationTtl.isNegative()) {
      throw new IllegalArgumentException("gateway.consent.affiliation-ttl must not be negative");
    }
    if (maxPageFetches < 1) {
      throw new IllegalArgumentException("gateway.consent.max-page-fetches must be at least 1, was " + maxPageFetches);
    }
    if (retryInterval.isNegative() || retryInterval.isZero()) {
      throw new IllegalArgumentException("gateway.consent.retry-interval must be positive");
    }
  }

  ConsentPolicy policy() {
    return new ConsentPolicy("opt-out".equals(defaultPolicy)
        ? ConsentPolicy.DefaultPolicy.OPT_OUT : ConsentPolicy.DefaultPolicy.OPT_IN, breakGlassAllowed);
  }
}
