package org.fhirledger.gateway.upstream;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * One interaction to send to the EHR.
 *
 * @param method HTTP method in upper case (GET, POST, PUT, PATCH, DELETE)
 * @param pathAndQuery the part after the EHR's base URL, starting with {@code /} (for example
 *     {@code /Patient/1/_history/2} or {@code /Observation?code=1234-5}); the query is passed as it
 *     came, still URL-encoded
 * @param headers request headers to forward, names in lower case; never null
 * @param body the request body, or an empty array
 */
public record UpstreamRequest(
    String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {

  private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

  public UpstreamRequest {
    Objects.requireNonNull(method, "method");
    if (!METHODS.contains(method)) {
      throw new IllegalArgumentException("Unsupported HTTP method: " + method);
    }
    Objects.requireNonNull(pathAndQuery, "pathAndQuery");
    if (!pathAndQuery.startsWith("/")) {
      throw new IllegalArgumentException("pathAndQuery must start with '/'");
    }
    TreeMap<String, List<String>> copy = new TreeMap<>();
    Objects.requireNonNull(headers, "headers")
        .forEach((k, v) -> copy.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
    headers = java.util.Collections.unmodifiableMap(copy);
    body = body == null ? new byte[0] : body.clone();
  }

  /** True for the methods the gateway may retry: reads that change nothing. */
  public boolean idempotentRead() {
    return method.equals("GET") || method.equals("HEAD");
  }

  @Override
  public byte[] body() {
    return body.clone();
  }

  /** The body without a defensive copy, for the client that writes it out. */
  byte[] bodyUnsafe() {
    return body;
  }
}
