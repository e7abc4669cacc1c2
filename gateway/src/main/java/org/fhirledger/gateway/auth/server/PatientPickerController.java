package org.fhirledger.gateway.auth.server;

import ca.uhn.fhir.context.FhirContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.fhirledger.gateway.auth.server.PatientLaunchFilter.PendingLaunch;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.Patient;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.util.HtmlUtils;

/**
 * The patient picker of standalone launch ({@code launch/patient}): a plain server-rendered page
 * that lists patients read from the EHR (names only; optionally filtered by name), and takes the
 * logged-in user's choice back to the authorization request that asked for it. Reached only from
 * {@link PatientLaunchFilter}, behind the login form. Patient ids never appear in the page: the
 * form posts a position in the list kept in the session. Names are never logged. Thread-safe.
 */
@Controller
@ConditionalOnProperty(name = "gateway.auth-server.enabled", havingValue = "true", matchIfMissing = true)
class PatientPickerController {

  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final MediaType HTML = MediaType.parseMediaType("text/html; charset=utf-8");

  private final UpstreamFhirClient upstream;
  private final FhirContext fhirContext;
  private final int pageSize;

  PatientPickerController(UpstreamFhirClient upstream, FhirContext fhirContext, AuthServerProperties properties) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.pageSize = properties.pickerPageSize();
  }

  @GetMapping(PatientLaunchFilter.PICKER_PATH)
  ResponseEntity<String> show(HttpServletRequest request, @RequestParam(name = "name", required = false) String name) {
    HttpSession session = request.getSession(false);
    if (session == null || !(session.getAttribute(PatientLaunchFilter.SESSION_KEY) instanceof PendingLaunch pending)) {
      return page(HttpStatus.BAD_REQUEST, "<p>No app is waiting for a patient. Start again from the app.</p>");
    }
    List<String> ids = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    String query = "/Patient?_count=" + pageSize + "&_elements=name"
        + (name == null || name.isBlank() ? "" : "&name=" + URLEncoder.encode(name, StandardCharsets.UTF_8));
    UpstreamResponse response;
    try {
      response = upstream.exchange(new UpstreamRequest("GET", query, Map.of("accept", List.of("application/fhir+json")), null));
    } catch (RuntimeException e) {
      return page(HttpStatus.BAD_GATEWAY, "<p>The EHR could not be reached. Try again later.</p>");
    }
    if (response.status() != 200) {
      return page(HttpStatus.BAD_GATEWAY, "<p>The EHR did not list patients (HTTP " + response.status() + "). Try again later.</p>");
    }
    Bundle bundle = fhirContext.newJsonParser().parseResource(Bundle.class, new String(response.body(), StandardCharsets.UTF_8));
    for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
      if (entry.getResource() instanceof Patient patient && FHIR_ID.matcher(patient.getIdPart()).matches()) {
        ids.add(patient.getIdPart());
        labels.add(displayName(patient));
      }
    }
    session.setAttribute(PatientLaunchFilter.SESSION_KEY, new PendingLaunch(pending.authorizeQuery(), ids, null));
    CsrfToken csrf = (CsrfToken) request.getAttribute(CsrfToken.class.getName());
    StringBuilder html = new StringBuilder();
    html.append("<form method=\"get\"><label>Name <input name=\"name\" value=\"")
        .append(HtmlUtils.htmlEscape(name == null ? "" : name)).append("\"></label> <button>Search</button></form>\n");
    if (ids.isEmpty()) {
      html.append("<p>No patients found.</p>");
    } else {
      html.append("<form method=\"post\">\n");
      for (int i = 0; i < ids.size(); i++) {
        html.append("<p><label><input type=\"radio\" name=\"choice\" value=\"").append(i).append("\"")
            .append(i == 0 ? " required" : "").append("> ").append(HtmlUtils.htmlEscape(labels.get(i))).append("</label></p>\n");
      }
      if (csrf != null) {
        html.append("<input type=\"hidden\" name=\"").append(csrf.getParameterName()).append("\" value=\"")
            .append(HtmlUtils.htmlEscape(csrf.getToken())).append("\">\n");
      }
      html.append("<button type=\"submit\">Continue</button>\n</form>");
    }
    return page(HttpStatus.OK, html.toString());
  }

  @PostMapping(PatientLaunchFilter.PICKER_PATH)
  ResponseEntity<String> choose(HttpServletRequest request, @RequestParam(name = "choice", required = false) String choice) {
    HttpSession session = request.getSession(false);
    if (session == null || !(session.getAttribute(PatientLaunchFilter.SESSION_KEY) instanceof PendingLaunch pending)) {
      return page(HttpStatus.BAD_REQUEST, "<p>No app is waiting for a patient. Start again from the app.</p>");
    }
    int index;
    try {
      index = Integer.parseInt(Objects.requireNonNullElse(choice, ""));
    } catch (NumberFormatException e) {
      index = -1;
    }
    if (index < 0 || index >= pending.offered().size()) {
      return page(HttpStatus.BAD_REQUEST, "<p>Choose one of the patients listed. <a href=\""
          + request.getContextPath() + PatientLaunchFilter.PICKER_PATH + "\">Back to the list</a></p>");
    }
    session.setAttribute(PatientLaunchFilter.SESSION_KEY,
        new PendingLaunch(pending.authorizeQuery(), List.of(), pending.offered().get(index)));
    return ResponseEntity.status(HttpStatus.FOUND)
        .header(HttpHeaders.LOCATION, request.getContextPath() + "/oauth2/authorize?" + pending.authorizeQuery())
        .build();
  }

  private static String displayName(Patient patient) {
    for (HumanName n : patient.getName()) {
      String family = n.getFamily() == null ? "" : n.getFamily();
      String text = n.hasText() ? n.getText() : (n.getGivenAsSingleString() + " " + family).trim();
      if (!text.isBlank()) {
        return text;
      }
    }
    return "(no name)";
  }

  private static ResponseEntity<String> page(HttpStatus status, String body) {
    return ResponseEntity.status(status).contentType(HTML).cacheControl(CacheControl.noStore())
        .body("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Choose a patient</title></head><body>\n"
            + "<h1>Choose a patient</h1>\n" + body + "\n</body></html>\n");
  }
}
