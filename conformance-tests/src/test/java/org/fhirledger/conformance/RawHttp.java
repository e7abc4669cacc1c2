package org.fhirledger.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A plain {@link java.net.http.HttpClient} for requests that need exact bytes and headers; every
 * response goes through the {@link LeakGuard} (gzip bodies are checked after decompression).
 */
public final class RawHttp {

  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  private final LeakGuard guard;
  private final String bearer;

  /**
   * @param guard checks every response; null only for requests sent straight to the EHR. A client with a guard talks to
   *     a gateway and sends the suite's access token ({@link TestIssuer#suiteToken()}) unless a request has its own
   *     Authorization header
   */
  public RawHttp(LeakGuard guard) {
    this(guard, guard == null ? null : TestIssuer.suiteToken());
  }

  /** @param bearer the access token to send, or null for none */
  public RawHttp(LeakGuard guard, String bearer) {
    this.guard = guard;
    this.bearer = bearer;
  }

  /** The response: status, headers, the body as sent ({@code raw}) and decompressed ({@code body}). */
  public record Response(int status, HttpHeaders headers, byte[] raw, byte[] body) {
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public Optional<String> header(String name) {
      return headers.firstValue(name);
    }

    public String contentType() {
      return headers.firstValue("Content-Type").orElse("");
    }
  }

  public static HttpRequest.Builder request(String url) {
    return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
  }

  public Response send(HttpRequest request) {
    if (bearer != null && request.headers().firstValue("Authorization").isEmpty()) {
      HttpRequest.Builder b = HttpRequest.newBuilder(request, (name, value) -> true);
      b.header("Authorization", "Bearer " + bearer);
      request = b.build();
    }
    HttpResponse<byte[]> r;
    try {
      r = CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    String where = r.statusCode() + " response to " + request.method() + " " + request.uri();
    byte[] raw = r.body() == null ? new byte[0] : r.body();
    boolean gzip = r.headers().firstValue("Content-Encoding").map(v -> v.equalsIgnoreCase("gzip")).orElse(false);
    byte[] body = gzip ? LeakGuard.maybeGunzip(raw) : raw;
    if (guard != null) {
      for (Map.Entry<String, List<String>> h : r.headers().map().entrySet()) {
        guard.check("header " + h.getKey() + " of " + where, String.join(", ", h.getValue()));
      }
      guard.checkBody("body of " + where, body);
    }
    return new Response(r.statusCode(), r.headers(), raw, body);
  }

  public Response get(String url, String... headers) {
    HttpRequest.Builder b = request(url).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build());
  }

  public Response send(String method, String url, String contentType, byte[] body, String... headers) {
    HttpRequest.Builder b = request(url)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build());
  }
}
