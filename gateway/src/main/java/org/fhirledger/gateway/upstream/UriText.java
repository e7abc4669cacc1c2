package org.fhirledger.gateway.upstream;

/** Percent-encodes characters that may arrive raw in a request line but are illegal in a URI. */
final class UriText {
  private static final String HEX = "0123456789ABCDEF";

  private UriText() {}

  /**
   * Returns {@code pathAndQuery} with every character that RFC 3986 does not allow in a path or
   * query (for example {@code |}, spaces, non-ASCII) percent-encoded as UTF-8; existing escapes are
   * left as they are.
   */
  static String encodeIllegal(String pathAndQuery) {
    StringBuilder sb = null;
    byte[] bytes = pathAndQuery.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      int b = bytes[i] & 0xff;
      if (allowed(b)) {
        if (sb != null) {
          sb.append((char) b);
        }
      } else {
        if (sb == null) {
          sb = new StringBuilder(bytes.length + 16);
          for (int j = 0; j < i; j++) {
            sb.append((char) (bytes[j] & 0xff));
          }
        }
        sb.append('%').append(HEX.charAt(b >> 4)).append(HEX.charAt(b & 0xf));
      }
    }
    return sb == null ? pathAndQuery : sb.toString();
  }

  private static boolean allowed(int b) {
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')) {
      return true;
    }
    return "-._~!$&'()*+,;=:@/?%".indexOf(b) >= 0;
  }
}
