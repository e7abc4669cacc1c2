package org.fhirledger.gateway.ledger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The reconciliation watermark (see {@link PendingIntents}), kept durably in one small text file beside the ledger
 * database: {@code reconcile-watermark} holding {@code <origin> <index>}.
 *
 * <p>Why a file and not a table: it is written from a timer and on shutdown, never on the request path, and a lost
 * or stale write is harmless (the next start scans a little more of the log), so it needs no transaction, only an
 * atomic replace: written to a temporary file, forced to disk, then renamed over the old one. A torn or missing
 * file reads as "no watermark", which means scanning from index 0. The origin binds the file to its log, so a file
 * copied beside another log is ignored. Not thread-safe; the caller serialises writes.
 */
final class WatermarkFile implements WatermarkStore {

  static final String NAME = "reconcile-watermark";
  private static final Pattern LINE = Pattern.compile("(\\S+) (\\d{1,18})\\n?");

  private final Path file;
  private final String origin;

  WatermarkFile(Path ledgerDir, String origin) {
    this.file = Objects.requireNonNull(ledgerDir, "ledgerDir").resolve(NAME);
    this.origin = Objects.requireNonNull(origin, "origin");
    if (origin.isEmpty() || origin.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("origin must be non-empty without whitespace");
    }
  }

  /** The stored watermark; empty when there is none, it is unreadable, or it belongs to another log. */
  @Override
  public OptionalLong read() {
    try {
      if (!Files.exists(file)) {
        return OptionalLong.empty();
      }
      Matcher m = LINE.matcher(Files.readString(file, StandardCharsets.UTF_8));
      if (!m.matches() || !m.group(1).equals(origin)) {
        return OptionalLong.empty();
      }
      return OptionalLong.of(Long.parseLong(m.group(2)));
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
  }

  /** Replaces the stored watermark atomically and durably. */
  @Override
  public void write(long watermark) throws IOException {
    if (watermark < 0) {
      throw new IllegalArgumentException("watermark must be >= 0");
    }
    Path tmp = file.resolveSibling(NAME + ".tmp");
    byte[] text = (origin + " " + watermark + "\n").getBytes(StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(text);
      while (buffer.hasRemaining()) {
        ch.write(buffer);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
