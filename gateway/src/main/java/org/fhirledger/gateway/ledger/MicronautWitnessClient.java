package org.fhirledger.gateway.ledger;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.client.BlockingHttpClient;
import io.micronaut.http.client.DefaultHttpClientConfiguration;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.exceptions.HttpClientException;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.fhirledger.ledger.witness.CosignatureVerifier;
import org.fhirledger.ledger.witness.Witness;
import org.fhirledger.ledger.witness.WitnessClient;

/**
 * Calls another gateway's witness ({@code POST <submission prefix>/add-checkpoint}) over the Micronaut HTTP client,
 * with a keep-alive pool of a few connections. Thread-safe.
 */
final class MicronautWitnessClient implements WitnessClient, AutoCloseable {
  private final CosignatureVerifier key;
  private final String path;
  private final HttpClient client;
  private final BlockingHttpClient blocking;

  MicronautWitnessClient(URI submissionPrefix, CosignatureVerifier key) {
    this.key = key;
    String p = submissionPrefix.getRawPath() == null ? "" : submissionPrefix.getRawPath();
    this.path = (p.endsWith("/") ? p : p + "/") + "add-checkpoint";
    DefaultHttpClientConfiguration config = new DefaultHttpClientConfiguration();
    config.setConnectTimeout(Duration.ofSeconds(5));
    config.setReadTimeout(Duration.ofSeconds(10));
    config.setFollowRedirects(false);
    config.setExceptionOnErrorStatus(false);
    config.getConnectionPoolConfiguration().setEnabled(true);
    config.getConnectionPoolConfiguration().setMaxConcurrentHttp1Connections(4);
    try {
      URI origin = new URI(submissionPrefix.getScheme(), null, submissionPrefix.getHost(), submissionPrefix.getPort(),
          null, null, null);
      this.client = HttpClient.create(origin.toURL(), config);
    } catch (MalformedURLException | java.net.URISyntaxException e) {
      throw new IllegalArgumentException("not a usable witness URL: " + submissionPrefix, e);
    }
    this.blocking = client.toBlocking();
  }

  @Override
  public CosignatureVerifier key() {
    return key;
  }

  @Override
  public Witness.Response addCheckpoint(String body) throws IOException {
    try {
      HttpResponse<byte[]> r = blocking.exchange(HttpRequest.POST(path, body.getBytes(StandardCharsets.UTF_8))
          .contentType(MediaType.TEXT_PLAIN_TYPE), io.micronaut.core.type.Argument.of(byte[].class),
          io.micronaut.core.type.Argument.of(byte[].class));
      String text = new String(r.getBody(byte[].class).orElse(new byte[0]), StandardCharsets.UTF_8);
      return new Witness.Response(r.code(), text, r.getHeaders().get("Content-Type"));
    } catch (HttpClientException e) {
      throw new IOException("witness " + key.name() + " could not be reached: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
