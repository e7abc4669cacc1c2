package org.fhirledger.gateway.auth.server;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Objects;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.web.servlet.DelegatingFilterProxyRegistrationBean;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.security.web.context.AbstractSecurityWebApplicationInitializer;
import org.springframework.security.web.DefaultSecurityFilterChain;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.HttpStatusRequestRejectedHandler;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.security.web.firewall.StrictHttpFirewall;
import org.springframework.security.web.util.matcher.AnyRequestMatcher;
import org.springframework.web.context.WebApplicationContext;
import org.springframework.web.filter.DelegatingFilterProxy;

/**
 * Keeps Spring Security (on the classpath for the authorization server) away from {@code /fhir} and
 * {@code /ledger}, and out of every other path that no filter chain claims.
 *
 * <ul>
 *   <li>Spring Security's filter ({@code springSecurityFilterChain}) is not invoked for
 *       {@code /fhir} and {@code /ledger}: those paths are protected by the gateway's own SMART
 *       interceptor (or are public, like the log API), and Spring Security's request and response
 *       wrappers and chain matching only cost CPU there. Its URL firewall still checks them, as
 *       before, with the same 400 for a rejected URL.</li>
 *   <li>Every other path still passes through it; a path no other chain claims goes through this
 *       pass-through chain and reaches its servlet as if Spring Security were absent (no login, no
 *       CSRF, no added headers). Without a chain of our own, Spring Boot would install its default
 *       one, which requires a login for everything. This chain comes last; chains that protect
 *       specific paths are ordered before it.</li>
 * </ul>
 */
@Configuration(proxyBeanMethods = false)
class PassThroughSecurityConfiguration {

  /** Path prefixes Spring Security never sees (relative to the context path). */
  static final String[] UNFILTERED_PREFIXES = {"/fhir", "/ledger"};

  private static final String BOOT_REGISTRATION = "securityFilterChainRegistration";

  @Bean
  @Order(Ordered.LOWEST_PRECEDENCE)
  SecurityFilterChain passThroughFilterChain() {
    return new DefaultSecurityFilterChain(AnyRequestMatcher.INSTANCE);
  }

  /** Switches off Spring Boot's registration of Spring Security's filter on {@code /*}: {@link #scopedSecurityFilter} replaces it. */
  @Bean
  static BeanPostProcessor disableUnscopedSecurityFilter() {
    return new BeanPostProcessor() {
      @Override
      public Object postProcessBeforeInitialization(Object bean, String beanName) {
        if (bean instanceof DelegatingFilterProxyRegistrationBean registration && BOOT_REGISTRATION.equals(beanName)) {
          registration.setEnabled(false);
        }
        return bean;
      }
    };
  }

  /** Spring Security's filter, at Spring Boot's order and dispatcher types, skipping {@link #UNFILTERED_PREFIXES}. */
  @Bean
  FilterRegistrationBean<ScopedFilter> scopedSecurityFilter(WebApplicationContext context,
      org.springframework.boot.autoconfigure.security.SecurityProperties properties) {
    DelegatingFilterProxy security = new DelegatingFilterProxy(
        AbstractSecurityWebApplicationInitializer.DEFAULT_FILTER_NAME, context);
    FilterRegistrationBean<ScopedFilter> registration =
        new FilterRegistrationBean<>(new ScopedFilter(security, UNFILTERED_PREFIXES));
    registration.setName("scopedSpringSecurityFilterChain");
    registration.setOrder(properties.getFilter().getOrder());
    EnumSet<DispatcherType> dispatcherTypes = EnumSet.noneOf(DispatcherType.class);
    properties.getFilter().getDispatcherTypes()
        .forEach(t -> dispatcherTypes.add(DispatcherType.valueOf(t.name())));
    registration.setDispatcherTypes(dispatcherTypes);
    registration.addUrlPatterns("/*");
    return registration;
  }

  /** Runs {@code delegate} unless the request's path (without the context path) is under one of the prefixes. */
  static final class ScopedFilter implements Filter {
    private final Filter delegate;
    private final String[] skippedPrefixes;
    private final HttpFirewall firewall = new StrictHttpFirewall();
    private final RequestRejectedHandler rejected = new HttpStatusRequestRejectedHandler();

    ScopedFilter(Filter delegate, String[] skippedPrefixes) {
      this.delegate = Objects.requireNonNull(delegate, "delegate");
      this.skippedPrefixes = skippedPrefixes.clone();
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
        throws IOException, ServletException {
      if (request instanceof HttpServletRequest http && response instanceof HttpServletResponse httpResponse
          && skipped(http)) {
        try {
          // The one part of Spring Security that applied to these paths: its URL firewall (no ';', encoded
          // '/', '.', '%' or '\\', non-printable characters, ...), with the same 400 as before.
          firewall.getFirewalledRequest(http);
        } catch (RequestRejectedException e) {
          rejected.handle(http, httpResponse, e);
          return;
        }
        chain.doFilter(request, response);
      } else {
        delegate.doFilter(request, response, chain);
      }
    }

    /**
     * Decided on the servlet path and path info, which the container has decoded and normalised (so
     * {@code /fhir/../smart/x} is {@code /smart/x} here and is filtered), not on the raw request URI.
     */
    boolean skipped(HttpServletRequest request) {
      String servletPath = request.getServletPath();
      String pathInfo = request.getPathInfo();
      String path = pathInfo == null ? servletPath : servletPath + pathInfo;
      for (String prefix : skippedPrefixes) {
        if (path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/')) {
          return true;
        }
      }
      return false;
    }
  }
}
