package org.fhirledger.gateway.upstream;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The EHR's answer to one interaction, as it came.
 *
 * @param status the HTTP status code
 * @param headers response headers, names in lower case; never null
 * @param body the response body (already decompressed), or an empty array
 */
public record UpstreamResponse(int status, Map<String, List<String>> headers, byte[] body) {

  public UpstreamResponse {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("HTTP status out of range: " + status);
    }
    TreeMap<String, List<String>> copy = new TreeMap<>();
    Objects.requireNonNull(headers, "headers")
        .forEach((k, v) -> copy.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
    headers = Collections.unmodifiableMap(copy);
    body = body == null ? new byte[0] : body;
  }

  /** The first value of a header, if present. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  /**
   * The body. Not copied: responses are large and handed from the client to the one request that
   * asked for them; callers must not modify it.
   */
  @Override
  public byte[] body() {
    return body;
  }
}
