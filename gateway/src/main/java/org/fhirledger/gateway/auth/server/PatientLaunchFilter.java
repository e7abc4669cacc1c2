package org.fhirledger.gateway.auth.server;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Standalone launch with {@code launch/patient}: sends a logged-in user from the authorization
 * endpoint to the patient picker first, and when they come back with a patient chosen, hands the
 * choice to Spring Authorization Server as an extra authorization request parameter, which it
 * keeps with the authorization (and {@link SmartTokenClaims} puts into the token). The choice lives
 * in the user's session, is bound to the exact authorization request it was made for and is used
 * once. A user who is a patient ({@code fhirUser} = {@code Patient/<id>}) is not shown the picker:
 * their own record is the context. A client cannot set the parameter itself: such a request is refused.
 *
 * <p>Sits in the authorization server's filter chain before its authorization endpoint. Thread-safe.
 */
final class PatientLaunchFilter extends OncePerRequestFilter {

  /** Internal authorization request parameter that carries the chosen patient's id. */
  static final String PATIENT_PARAMETER = "smart_launch_patient";
  static final String PICKER_PATH = "/smart/patient-picker";
  static final String SESSION_KEY = PatientLaunchFilter.class.getName() + ".pending";
  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

  /**
   * An authorization request waiting for a patient.
   *
   * @param authorizeQuery the authorization request's query string, as sent
   * @param offered the patient ids the picker offered, by position
   * @param patientId the id picked, or null
   */
  record PendingLaunch(String authorizeQuery, List<String> offered, String patientId) implements Serializable {
    PendingLaunch {
      Objects.requireNonNull(authorizeQuery, "authorizeQuery");
      offered = List.copyOf(offered);
    }
  }

  private final SmartClientRegistry registry;

  PatientLaunchFilter(SmartClientRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    return !"/oauth2/authorize".equals(request.getRequestURI().substring(request.getContextPath().length()));
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (request.getParameter(PATIENT_PARAMETER) != null) {
      response.sendError(HttpServletResponse.SC_BAD_REQUEST, PATIENT_PARAMETER + " is not a client parameter");
      return;
    }
    if (!asksForPatient(request) || !loggedIn()) {
      chain.doFilter(request, response);
      return;
    }
    if (!"GET".equals(request.getMethod())) {
      response.sendError(HttpServletResponse.SC_BAD_REQUEST, "launch/patient authorization requests must use GET");
      return;
    }
    Optional<String> ownRecord = patientUsersOwnRecord();
    if (ownRecord.isPresent()) {
      // A patient launching an app gets their own record; there is nobody else to pick.
      chain.doFilter(new WithPatient(request, ownRecord.get()), response);
      return;
    }
    String query = request.getQueryString();
    HttpSession session = request.getSession();
    if (session.getAttribute(SESSION_KEY) instanceof PendingLaunch pending
        && pending.authorizeQuery().equals(query) && pending.patientId() != null) {
      session.removeAttribute(SESSION_KEY);
      chain.doFilter(new WithPatient(request, pending.patientId()), response);
      return;
    }
    session.setAttribute(SESSION_KEY, new PendingLaunch(query, List.of(), null));
    response.sendRedirect(request.getContextPath() + PICKER_PATH);
  }

  /**
   * True for an authorization request that asks for {@code launch/patient} from a client allowed
   * it; anything else goes to Spring Authorization Server untouched (which refuses what is invalid).
   */
  private boolean asksForPatient(HttpServletRequest request) {
    String scope = request.getParameter("scope");
    String clientId = request.getParameter("client_id");
    if (scope == null || clientId == null || !Arrays.asList(scope.split(" ")).contains(SmartTokenClaims.LAUNCH_PATIENT)) {
      return false;
    }
    return registry.client(clientId).map(c -> c.scopes().contains(SmartTokenClaims.LAUNCH_PATIENT)).orElse(false);
  }

  /** The patient id of a logged-in user whose {@code fhirUser} is a Patient. */
  private Optional<String> patientUsersOwnRecord() {
    String name = SecurityContextHolder.getContext().getAuthentication().getName();
    return registry.user(name).map(SmartUser::fhirUser)
        .filter(u -> u.startsWith("Patient/"))
        .map(u -> u.substring("Patient/".length()))
        .filter(id -> FHIR_ID.matcher(id).matches());
  }

  private static boolean loggedIn() {
    Authentication auth = SecurityContextHolder.getContext().getAuthentication();
    return auth != null && auth.isAuthenticated() && !(auth instanceof AnonymousAuthenticationToken);
  }

  /** The authorization request with the chosen patient added as a query parameter. */
  private static final class WithPatient extends HttpServletRequestWrapper {
    private final String patientId;
    private final Map<String, String[]> parameters;

    WithPatient(HttpServletRequest request, String patientId) {
      super(request);
      this.patientId = patientId;
      Map<String, String[]> p = new LinkedHashMap<>(request.getParameterMap());
      p.put(PATIENT_PARAMETER, new String[] {patientId});
      this.parameters = Collections.unmodifiableMap(p);
    }

    @Override
    public String getQueryString() {
      String q = super.getQueryString();
      // Patient ids are FHIR ids ([A-Za-z0-9.-]), so they need no encoding.
      return (q == null || q.isEmpty() ? "" : q + "&") + PATIENT_PARAMETER + "=" + patientId;
    }

    @Override
    public String getParameter(String name) {
      String[] values = parameters.get(name);
      return values == null || values.length == 0 ? null : values[0];
    }

    @Override
    public Map<String, String[]> getParameterMap() {
      return parameters;
    }

    @Override
    public Enumeration<String> getParameterNames() {
      return Collections.enumeration(parameters.keySet());
    }

    @Override
    public String[] getParameterValues(String name) {
      String[] values = parameters.get(name);
      return values == null ? null : values.clone();
    }
  }
}
