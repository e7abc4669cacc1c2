package org.fhirledger.gateway.ledger;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who may erase a patient's pseudonym secret, until SMART authentication exists: nobody, unless the deployment
 * enabled it ({@code gateway.admin.erasure-enabled}), and then only a caller on the gateway's own host (a loopback
 * address) that did not come through a proxy (no {@code Forwarded} / {@code X-Forwarded-For}). A reverse proxy on
 * the same host makes every caller look local, which is why the proxy headers are refused too and why the switch
 * is off by default. SMART {@code system/} admin scopes replace the loopback rule once the gateway authenticates
 * callers. Immutable and thread-safe.
 *
 * @param enabled whether the deployment enabled erasure at all
 */
record ErasureAccess(boolean enabled) {

  private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f.%\\[\\]]*:[0-9A-Fa-f:.%\\[\\]]*");

  /**
   * Why the caller may not erase, or empty if it may. The reason is safe to show to the caller (no PHI).
   *
   * @param remoteAddress the TCP peer's IP address as the servlet container reports it
   * @param proxied whether the request carries {@code Forwarded} or {@code X-Forwarded-For}
   */
  Optional<String> refusal(String remoteAddress, boolean proxied) {
    if (!enabled) {
      return Optional.of("Pseudonym erasure is not enabled on this gateway (gateway.admin.erasure-enabled).");
    }
    if (proxied || !isLoopback(remoteAddress)) {
      return Optional.of("Pseudonym erasure is accepted only from the gateway's own host, not through a proxy.");
    }
    return Optional.empty();
  }

  private static boolean isLoopback(String address) {
    if (address == null || !IP_LITERAL.matcher(address).matches()) {
      return false; // never resolve names: only an IP literal from the socket counts
    }
    try {
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
