package org.fhirledger.gateway.server;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Swaps the EHR's base URL for the gateway's in everything that leaves the gateway, and the
 * gateway's for the EHR's in request bodies that go to the EHR, so clients never see the EHR's
 * address and the EHR recognises references to itself.
 *
 * <p>Only whole base URLs are replaced: an occurrence counts when it is followed by a URL boundary
 * ({@code / ? # " ' < & whitespace}, or the end), so {@code http://ehr/fhir2} or an identifier
 * system that merely shares the host is left alone. Only textual content types are rewritten;
 * binary payloads pass untouched. Immutable and thread-safe.
 */
final class BaseUrlRewriter {

  private final String upstreamBase;
  private final byte[] upstreamBaseBytes;

  BaseUrlRewriter(URI upstreamBase) {
    String s = upstreamBase.toString();
    this.upstreamBase = s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    this.upstreamBaseBytes = this.upstreamBase.getBytes(StandardCharsets.UTF_8);
  }

  String upstreamBase() {
    return upstreamBase;
  }

  /** Rewrites a header value (Location, Content-Location, Link) from the EHR's base to the gateway's. */
  String toGateway(String headerValue, String gatewayBase) {
    if (headerValue == null || !headerValue.contains(upstreamBase)) {
      return headerValue;
    }
    byte[] out = replace(headerValue.getBytes(StandardCharsets.UTF_8), upstreamBaseBytes,
        trim(gatewayBase).getBytes(StandardCharsets.UTF_8));
    return new String(out, StandardCharsets.UTF_8);
  }

  /** Rewrites a response body from the EHR's base to the gateway's, if its content type is textual. */
  byte[] toGateway(byte[] body, String contentType, String gatewayBase) {
    if (!isText(contentType)) {
      return body;
    }
    return replace(body, upstreamBaseBytes, trim(gatewayBase).getBytes(StandardCharsets.UTF_8));
  }

  /** Rewrites a request body from the gateway's base to the EHR's, if its content type is textual. */
  byte[] toUpstream(byte[] body, String contentType, String gatewayBase) {
    if (body.length == 0 || !isText(contentType)) {
      return body;
    }
    return replace(body, trim(gatewayBase).getBytes(StandardCharsets.UTF_8), upstreamBaseBytes);
  }

  static boolean isText(String contentType) {
    if (contentType == null) {
      return false;
    }
    String ct = contentType.toLowerCase(Locale.ROOT);
    return ct.contains("json") || ct.contains("xml") || ct.startsWith("text/") || ct.contains("html")
        || ct.startsWith("application/x-www-form-urlencoded");
  }

  private static String trim(String base) {
    return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
  }

  /** Replaces whole-URL occurrences of {@code from}; returns {@code src} itself when there are none. */
  static byte[] replace(byte[] src, byte[] from, byte[] to) {
    int first = indexOf(src, from, 0);
    if (first < 0) {
      return src;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(src.length + 64);
    int copied = 0;
    for (int i = first; i >= 0; i = indexOf(src, from, i)) {
      int end = i + from.length;
      if (end == src.length || isBoundary(src[end])) {
        out.write(src, copied, i - copied);
        out.write(to, 0, to.length);
        copied = end;
      }
      i = end;
      if (i >= src.length) {
        break;
      }
    }
    out.write(src, copied, src.length - copied);
    return out.toByteArray();
  }

  private static boolean isBoundary(byte b) {
    return switch (b) {
      case '/', '?', '#', '"', '\'', '<', '&', ' ', '\t', '\r', '\n', ',', ';', '>', ')', ']' -> true;
      default -> false;
    };
  }

  private static int indexOf(byte[] src, byte[] pattern, int from) {
    byte firstByte = pattern[0];
    int max = src.length - pattern.length;
    outer:
    for (int i = from; i <= max; i++) {
      if (src[i] != firstByte) {
        continue;
      }
      for (int j = 1; j < pattern.length; j++) {
        if (src[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
