package org.fhirledger.ledger.tiles;

/**
 * C2SP tlog-tiles geometry and paths: tiles of 256 hashes at each level, {@code tile/<L>/<N>[.p/<W>]} and
 * {@code tile/entries/<N>[.p/<W>]}, with {@code N} in zero-padded 3-digit path elements, all but the last
 * prefixed with {@code x} (1234067 is {@code x001/x234/067}).
 *
 * <p>Stateless and thread-safe.
 */
public final class Tiles {
  /** Hashes per full tile, and entries per full entry bundle. */
  public static final int WIDTH = 256;
  /** Tree levels spanned by one tile level. */
  public static final int HEIGHT = 8;

  private Tiles() {}

  /** Path of hash tile {@code (level, index)} of {@code width} hashes (256 = full), relative to the log prefix. */
  public static String tilePath(int level, long index, int width) {
    if (level < 0 || level > 63) {
      throw new IllegalArgumentException("tile level must be 0..63, was " + level);
    }
    return "tile/" + level + "/" + indexPath(index) + widthSuffix(width);
  }

  /** Path of entry bundle {@code index} of {@code width} entries (256 = full), relative to the log prefix. */
  public static String entriesPath(long index, int width) {
    return "tile/entries/" + indexPath(index) + widthSuffix(width);
  }

  /** {@code N} encoded as zero-padded 3-digit elements, all but the last prefixed with {@code x}. */
  public static String indexPath(long index) {
    if (index < 0) {
      throw new IllegalArgumentException("tile index must be >= 0, was " + index);
    }
    StringBuilder sb = new StringBuilder();
    String last = String.format("%03d", index % 1000);
    long rest = index / 1000;
    while (rest > 0) {
      sb.insert(0, String.format("/x%03d", rest % 1000));
      rest /= 1000;
    }
    if (!sb.isEmpty()) {
      sb.deleteCharAt(0);
      sb.append('/');
    }
    return sb.append(last).toString();
  }

  private static String widthSuffix(int width) {
    if (width < 1 || width > WIDTH) {
      throw new IllegalArgumentException("tile width must be 1..256, was " + width);
    }
    return width == WIDTH ? "" : ".p/" + width;
  }

  /** Number of hashes at tile level {@code level} (tree level 8 * level) for a tree of {@code size} leaves. */
  public static long hashesAtLevel(int level, long size) {
    return HEIGHT * level >= 64 ? 0 : size >>> (HEIGHT * level);
  }

  /**
   * Width of tile {@code (level, index)} in the tree of {@code size}: 256 if full, 1..255 if partial, 0 if the tile
   * does not exist at that size.
   */
  public static int widthAt(int level, long index, long size) {
    long count = hashesAtLevel(level, size) - index * WIDTH;
    if (count <= 0) {
      return 0;
    }
    return (int) Math.min(WIDTH, count);
  }

  /** The highest tile level that has at least one hash for {@code size}, or -1 for the empty tree. */
  public static int topLevel(long size) {
    int level = -1;
    while (hashesAtLevel(level + 1, size) > 0) {
      level++;
    }
    return level;
  }
}
