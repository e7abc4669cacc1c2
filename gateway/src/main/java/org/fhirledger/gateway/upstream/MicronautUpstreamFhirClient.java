package org.fhirledger.gateway.upstream;

import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.BlockingHttpClient;
import io.micronaut.http.client.DefaultHttpClientConfiguration;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.exceptions.ContentLengthExceededException;
import io.micronaut.http.client.exceptions.HttpClientException;
import io.micronaut.http.client.exceptions.ReadTimeoutException;
import java.net.MalformedURLException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link UpstreamFhirClient} on the Micronaut HTTP client (Netty): one pooled client for the life
 * of the gateway, no redirects followed, error statuses returned rather than thrown, bodies
 * decompressed. Retries idempotent reads on connection failures only (a timeout is not retried:
 * the EHR may still be working on it, and the caller's own deadline is what matters).
 */
public final class MicronautUpstreamFhirClient implements UpstreamFhirClient {

  private static final Logger log = LoggerFactory.getLogger(MicronautUpstreamFhirClient.class);
  private static final Argument<byte[]> BYTES = Argument.of(byte[].class);

  private final URI baseUrl;
  private final String basePath;
  private final UpstreamSettings settings;
  private final HttpClient client;
  private final BlockingHttpClient blocking;

  public MicronautUpstreamFhirClient(URI baseUrl, UpstreamSettings settings) {
    this.baseUrl = stripTrailingSlash(Objects.requireNonNull(baseUrl, "baseUrl"));
    this.settings = Objects.requireNonNull(settings, "settings");
    String path = this.baseUrl.getRawPath();
    this.basePath = path == null ? "" : path;

    DefaultHttpClientConfiguration config = new DefaultHttpClientConfiguration();
    config.setConnectTimeout(settings.connectTimeout());
    config.setReadTimeout(settings.readTimeout());
    config.setFollowRedirects(false);
    config.setExceptionOnErrorStatus(false);
    config.setMaxContentLength(settings.maxContentLength());
    config.setNumOfThreads(Math.max(2, Runtime.getRuntime().availableProcessors()));
    config.getConnectionPoolConfiguration().setEnabled(true);
    config.getConnectionPoolConfiguration().setMaxConcurrentHttp1Connections(settings.maxConnections());
    config.getConnectionPoolConfiguration().setMaxPendingAcquires(10_000);
    try {
      // The client gets only the EHR's origin; every request carries the full path, so the EHR's
      // base path is applied exactly once whatever the client's own path handling does.
      URI origin = new URI(this.baseUrl.getScheme(), null, this.baseUrl.getHost(), this.baseUrl.getPort(), null, null, null);
      this.client = HttpClient.create(origin.toURL(), config);
    } catch (MalformedURLException | java.net.URISyntaxException e) {
      throw new IllegalArgumentException("Not a usable EHR base URL: " + baseUrl, e);
    }
    this.blocking = client.toBlocking();
  }

  @Override
  public URI baseUrl() {
    return baseUrl;
  }

  @Override
  public UpstreamResponse exchange(UpstreamRequest request) {
    int attempts = request.idempotentRead() ? settings.maxRetries() + 1 : 1;
    for (int attempt = 1; ; attempt++) {
      try {
        return send(request);
      } catch (ReadTimeoutException e) {
        throw new UpstreamTimeoutException(
            "The EHR did not answer within " + settings.readTimeout().toMillis() + " ms", e);
      } catch (ContentLengthExceededException e) {
        throw new UpstreamUnavailableException(
            "The EHR's response is larger than the gateway accepts (" + settings.maxContentLength() + " bytes)", e);
      } catch (HttpClientException e) {
        if (attempt >= attempts) {
          throw new UpstreamUnavailableException("The EHR could not be reached: " + rootMessage(e), e);
        }
        log.debug("Retrying idempotent {} after a connection failure (attempt {} of {})",
            request.method(), attempt, attempts);
      }
    }
  }

  private UpstreamResponse send(UpstreamRequest request) {
    MutableHttpRequest<byte[]> out =
        HttpRequest.create(HttpMethod.parse(request.method()), basePath + UriText.encodeIllegal(request.pathAndQuery()));
    request.headers().forEach((name, values) -> values.forEach(v -> out.header(name, v)));
    byte[] body = request.bodyUnsafe();
    if (body.length > 0) {
      boolean form = request.headers().getOrDefault("content-type", List.of()).stream()
          .anyMatch(ct -> ct.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded"));
      // Micronaut would encode a form body from a bean; an already-encoded form must go as text.
      out.body(form ? new String(body, java.nio.charset.StandardCharsets.UTF_8) : body);
    }
    HttpResponse<byte[]> in = blocking.exchange(out, BYTES, BYTES);
    Map<String, List<String>> headers = new LinkedHashMap<>();
    in.getHeaders().forEach((name, values) -> headers.put(name, new ArrayList<>(values)));
    byte[] responseBody = in.getBody(byte[].class).orElse(new byte[0]);
    return new UpstreamResponse(in.code(), headers, responseBody);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  private static URI stripTrailingSlash(URI uri) {
    String s = uri.toString();
    return s.endsWith("/") ? URI.create(s.substring(0, s.length() - 1)) : uri;
  }

  @Override
  public void close() {
    client.close();
  }
}
