package org.fhirledger.conformance;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Fails a test when anything the gateway sends back reveals the EHR's address. Every client in the
 * suite (HAPI generic clients through {@link NoLeakInterceptor}, raw clients through {@link RawHttp})
 * passes each response header and body through {@link #check}. A violation throws at once and is also
 * remembered, so that a violation swallowed by a client library still fails the test in
 * {@link #assertNoViolations()}.
 */
public final class LeakGuard {

  private final List<String> forbidden;
  private final List<String> violations = new ArrayList<>();

  /** Guards against {@code host:port} of {@code ehrBase}, also spelled with {@code localhost}/{@code 127.0.0.1}. */
  public LeakGuard(URI ehrBase) {
    String host = ehrBase.getHost().toLowerCase(Locale.ROOT);
    int port = ehrBase.getPort();
    List<String> f = new ArrayList<>();
    f.add(host + ":" + port);
    if (host.equals("127.0.0.1") || host.equals("localhost")) {
      f.add("127.0.0.1:" + port);
      f.add("localhost:" + port);
      f.add("[::1]:" + port);
    }
    // Also as it appears percent-encoded inside another URL's query (e.g. a paging link parameter).
    for (String plain : List.copyOf(f)) {
      f.add(plain.replace(":", "%3a").replace("[", "%5b").replace("]", "%5d"));
    }
    this.forbidden = List.copyOf(f.stream().distinct().toList());
  }

  public List<String> forbidden() {
    return forbidden;
  }

  /** Checks one header value or body text; {@code where} says which, for the failure message. */
  public void check(String where, String text) {
    if (text == null) {
      return;
    }
    String lower = text.toLowerCase(Locale.ROOT);
    for (String f : forbidden) {
      int at = lower.indexOf(f);
      // host:4711 must not match host:47110
      while (at >= 0 && at + f.length() < lower.length() && Character.isDigit(lower.charAt(at + f.length()))) {
        at = lower.indexOf(f, at + 1);
      }
      if (at >= 0) {
        String excerpt = text.substring(Math.max(0, at - 80), Math.min(text.length(), at + f.length() + 80));
        String message = "EHR address " + f + " leaked in " + where + ": ..." + excerpt + "...";
        synchronized (violations) {
          violations.add(message);
        }
        throw new AssertionError(message);
      }
    }
  }

  /** Checks a body, gunzipping it first when it is gzip-compressed. */
  public void checkBody(String where, byte[] body) {
    if (body == null || body.length == 0) {
      return;
    }
    check(where, new String(maybeGunzip(body), StandardCharsets.UTF_8));
  }

  /** Fails if any response since the last call leaked the EHR's address; clears the record. */
  public void assertNoViolations() {
    List<String> copy;
    synchronized (violations) {
      copy = List.copyOf(violations);
      violations.clear();
    }
    if (!copy.isEmpty()) {
      throw new AssertionError("EHR address leaked in " + copy.size() + " response(s): " + copy);
    }
  }

  static byte[] maybeGunzip(byte[] body) {
    if (body.length < 2 || (body[0] & 0xff) != 0x1f || (body[1] & 0xff) != 0x8b) {
      return body;
    }
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("body looked gzip-compressed but is not", e);
    }
  }
}
