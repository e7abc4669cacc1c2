package org.fhirledger.gateway.ledger;

/**
 * A parsed C2SP tlog-tiles path below {@code tile/}: {@code <L>/<N>[.p/<W>]} or
 * {@code entries/<N>[.p/<W>]}, where {@code <N>} is written in 3-digit elements, all but the last
 * prefixed with {@code x}. Strict: anything else (leading zeroes in L or W, a short element, W out
 * of 1..255) is rejected, so every tile has exactly one path.
 *
 * @param entries whether this is an entry bundle
 * @param level the tile level (0 for entry bundles)
 * @param index the tile index
 * @param width 256 for a full tile, else the partial width
 */
record TilePath(boolean entries, int level, long index, int width) {

  static TilePath parse(String path) {
    int slash = path.indexOf('/');
    if (slash < 0) {
      throw bad("missing tile index");
    }
    String head = path.substring(0, slash);
    String rest = path.substring(slash + 1);
    boolean entries = head.equals("entries");
    int level = entries ? 0 : smallNumber(head, 63, "level");

    int width = 256;
    int partial = rest.indexOf(".p/");
    if (partial >= 0) {
      width = smallNumber(rest.substring(partial + 3), 255, "width");
      if (width == 0) {
        throw bad("width must be 1..255");
      }
      rest = rest.substring(0, partial);
    }
    String[] elements = rest.split("/", -1);
    long index = 0;
    for (int i = 0; i < elements.length; i++) {
      String e = elements[i];
      boolean last = i == elements.length - 1;
      if (last == e.startsWith("x")) {
        throw bad("every index element but the last starts with x");
      }
      String digits = last ? e : e.substring(1);
      if (digits.length() != 3 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw bad("index elements are exactly 3 digits");
      }
      if (index > (Long.MAX_VALUE - 999) / 1000) {
        throw bad("index too large");
      }
      index = index * 1000 + Integer.parseInt(digits);
    }
    return new TilePath(entries, level, index, width);
  }

  private static int smallNumber(String s, int max, String what) {
    if (s.isEmpty() || s.length() > 3 || !s.chars().allMatch(c -> c >= '0' && c <= '9')
        || (s.length() > 1 && s.charAt(0) == '0')) {
      throw bad(what + " must be a decimal number without leading zeroes");
    }
    int v = Integer.parseInt(s);
    if (v > max) {
      throw bad(what + " must be at most " + max);
    }
    return v;
  }

  private static IllegalArgumentException bad(String why) {
    return new IllegalArgumentException("Not a tlog-tiles path: " + why);
  }
}
