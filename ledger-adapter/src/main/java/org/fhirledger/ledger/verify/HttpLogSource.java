package org.fhirledger.ledger.verify;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.tiles.Tiles;

/**
 * Reads a log over HTTP from a C2SP tlog-tiles prefix ({@code <prefix>/checkpoint}, {@code <prefix>/tile/...}), with
 * the JDK's HTTP client. Thread-safe.
 */
public final class HttpLogSource implements LogSource {
  private final URI prefix;
  private final HttpClient client;
  private final Duration timeout;

  /** @param prefix the log's URL prefix, for example {@code https://gateway.example/ledger/} */
  public HttpLogSource(URI prefix, HttpClient client, Duration timeout) {
    String p = Objects.requireNonNull(prefix, "prefix").toString();
    this.prefix = URI.create(p.endsWith("/") ? p : p + "/");
    this.client = Objects.requireNonNull(client, "client");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  @Override
  public String checkpoint() throws LedgerUnavailableException {
    return new String(get("checkpoint"), StandardCharsets.UTF_8);
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return get(Tiles.tilePath(level, index, width));
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return get(Tiles.entriesPath(index, width));
  }

  private byte[] get(String path) throws LedgerUnavailableException {
    URI uri = prefix.resolve(path);
    HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    try {
      HttpResponse<byte[]> resp = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
      if (resp.statusCode() != 200) {
        throw new LedgerUnavailableException("GET " + uri + " answered " + resp.statusCode());
      }
      return resp.body();
    } catch (IOException e) {
      throw new LedgerUnavailableException("GET " + uri + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LedgerUnavailableException("GET " + uri + " interrupted", e);
    }
  }
}
