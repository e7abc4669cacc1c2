package org.fhirledger.gateway.consent;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.gateway.auth.Caller;
import org.fhirledger.ledger.entry.LinkKey;

/**
 * The gateway's own paging links for listings filtered by Consent. A link names a position in the EHR's listing (the
 * EHR page to fetch, relative to the EHR's base, and how many of its counted entries were already returned) and the
 * page size, and carries an HMAC-SHA256 tag over that position and the caller it was issued to (client id, user,
 * patient in context). A link is therefore usable only as issued and only by that caller: altered, forged or
 * replayed by another caller, it is refused (400) before anything is forwarded. The EHR's own paging links never
 * reach the client. The position is not secret (it is the caller's own search); the caller's identity is not in the
 * link, only in its tag. Thread-safe.
 */
final class PagingLinks {

  /** The HAPI paging parameter, so that a link classifies as a page request everywhere in the gateway. */
  static final String PARAMETER = "_getpages";
  private static final String VERSION = "c1";

  private final LinkKey key;

  PagingLinks(LinkKey key) {
    this.key = Objects.requireNonNull(key, "key");
  }

  /**
   * Where a listing resumes.
   *
   * @param upstream the EHR page to fetch next: path and query relative to the EHR's base, starting with {@code /}
   * @param skip how many counted entries of that page were already returned
   * @param count the page size the caller asked for (at least 1)
   */
  record Position(String upstream, int skip, int count) {
    Position {
      Objects.requireNonNull(upstream, "upstream");
      if (!upstream.startsWith("/") || upstream.startsWith("//")) {
        throw new IllegalArgumentException("a position is a path under the EHR's base");
      }
      if (skip < 0 || count < 1) {
        throw new IllegalArgumentException("skip >= 0 and count >= 1");
      }
    }
  }

  /** The link to {@code position} for the caller of {@code request}, under the gateway's base {@code gatewayBase}. */
  String link(RequestDetails request, String gatewayBase, Position position) {
    byte[] payload = (VERSION + "\n" + position.skip() + "\n" + position.count() + "\n" + position.upstream())
        .getBytes(StandardCharsets.UTF_8);
    byte[] tag = key.tag(payload, caller(request));
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String value = b64.encodeToString(payload) + "." + b64.encodeToString(tag);
    String base = gatewayBase.endsWith("/") ? gatewayBase.substring(0, gatewayBase.length() - 1) : gatewayBase;
    return base + "?" + PARAMETER + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /**
   * The position a page request names, checked against its tag and the caller.
   *
   * @return empty when the request carries no paging parameter
   * @throws InvalidRequestException (400) for a link this gateway did not issue to this caller, or altered
   */
  Optional<Position> position(RequestDetails request) {
    String[] values = request.getParameters().get(PARAMETER);
    if (values == null || values.length == 0) {
      return Optional.empty();
    }
    if (values.length != 1) {
      throw refused();
    }
    String value = values[0];
    int dot = value.indexOf('.');
    if (dot <= 0 || dot != value.lastIndexOf('.')) {
      throw refused();
    }
    try {
      Base64.Decoder b64 = Base64.getUrlDecoder();
      byte[] payload = b64.decode(value.substring(0, dot));
      byte[] tag = b64.decode(value.substring(dot + 1));
      key.verify(tag, payload, caller(request));
      String[] fields = new String(payload, StandardCharsets.UTF_8).split("\n", 4);
      if (fields.length != 4 || !VERSION.equals(fields[0])) {
        throw refused();
      }
      return Optional.of(new Position(fields[3], Integer.parseInt(fields[1]), Integer.parseInt(fields[2])));
    } catch (LinkKey.InvalidTagException | IllegalArgumentException e) {
      throw refused();
    }
  }

  private static byte[] caller(RequestDetails request) {
    Optional<Caller> caller = Caller.of(request);
    String binding = caller.map(c -> String.join("\n", "client=" + nullToEmpty(c.clientId()),
        "user=" + nullToEmpty(c.fhirUser()), "patient=" + nullToEmpty(c.patient()))).orElse("anonymous");
    return binding.getBytes(StandardCharsets.UTF_8);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static InvalidRequestException refused() {
    return new InvalidRequestException("This paging link was not issued by this gateway to this caller, or it was "
        + "altered; nothing was forwarded. Run the search again and follow the links it returns.");
  }
}
