package org.fhirledger.gateway.auth.server;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.Filter;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

/** Which requests skip Spring Security's filter chain, decided on the container's normalised path. */
class ScopedSecurityFilterTest {

  private final AtomicInteger securityRuns = new AtomicInteger();
  private final Filter security = (request, response, chain) -> {
    securityRuns.incrementAndGet();
    chain.doFilter(request, response);
  };
  private final PassThroughSecurityConfiguration.ScopedFilter filter =
      new PassThroughSecurityConfiguration.ScopedFilter(security, PassThroughSecurityConfiguration.UNFILTERED_PREFIXES);

  @Test
  void fhirAndLedgerSkipSpringSecurity() throws Exception {
    assertThat(run(request("/fhir", "/Patient/1"))).isEqualTo(0);
    assertThat(run(request("/fhir", null))).isEqualTo(0);
    assertThat(run(request("/fhir", "/.well-known/smart-configuration"))).isEqualTo(0);
    assertThat(run(request("", "/ledger/checkpoint"))).isEqualTo(0);
  }

  @Test
  void authorizationServerAndEverythingElseStillPassThroughIt() throws Exception {
    assertThat(run(request("", "/oauth2/token"))).isEqualTo(1);
    assertThat(run(request("", "/.well-known/openid-configuration"))).isEqualTo(1);
    assertThat(run(request("", "/login"))).isEqualTo(1);
    assertThat(run(request("", "/smart/patient-picker"))).isEqualTo(1);
    assertThat(run(request("", "/userinfo"))).isEqualTo(1);
    assertThat(run(request("", "/fhirx"))).isEqualTo(1);
    assertThat(run(request("", "/ledgerx/checkpoint"))).isEqualTo(1);
    assertThat(run(request("", "/"))).isEqualTo(1);
  }

  @Test
  void rawUriDoesNotDecide() throws Exception {
    // The container maps "/fhir/../smart/patient-picker" to the picker: its servlet path says so.
    MockHttpServletRequest dotDot = request("", "/smart/patient-picker");
    dotDot.setRequestURI("/fhir/../smart/patient-picker");
    assertThat(run(dotDot)).isEqualTo(1);
  }

  @Test
  void firewallStillRejectsMaliciousFhirUrls() throws Exception {
    MockHttpServletRequest semicolon = request("/fhir", "/Patient/1");
    semicolon.setRequestURI("/fhir/Patient;x=1/1");
    MockHttpServletResponse response = new MockHttpServletResponse();
    MockFilterChain chain = new MockFilterChain();
    filter.doFilter(semicolon, response, chain);
    assertThat(response.getStatus()).isEqualTo(400);
    assertThat(chain.getRequest()).isNull();
    assertThat(securityRuns.get()).isEqualTo(0);
  }

  private static MockHttpServletRequest request(String servletPath, String pathInfo) {
    MockHttpServletRequest request = new MockHttpServletRequest("GET", servletPath + (pathInfo == null ? "" : pathInfo));
    request.setServletPath(servletPath);
    request.setPathInfo(pathInfo);
    return request;
  }

  private int run(MockHttpServletRequest request) throws Exception {
    securityRuns.set(0);
    MockHttpServletResponse response = new MockHttpServletResponse();
    MockFilterChain chain = new MockFilterChain();
    filter.doFilter(request, response, chain);
    assertThat(chain.getRequest()).as("the request went on").isNotNull();
    return securityRuns.get();
  }
}
