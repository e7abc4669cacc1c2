package org.fhirledger.ledger;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * Child JVM of {@link CrashTestBase}: appends from many threads forever and prints {@code ACK index thread seq} for
 * every append that returned, one write per line, so that the parent knows exactly what was acknowledged when it
 * kills this process with SIGKILL.
 */
public final class CrashChild {
  private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

  private CrashChild() {}

  static byte[] entry(int trial, int thread, long seq) {
    String head = "crash trial " + trial + " thread " + thread + " seq " + seq + " ";
    return (head + "p".repeat(Math.max(0, 300 - head.length()))).getBytes(StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    NoteSigner signer = NoteSigner.parse(Files.readString(Path.of(args[1])));
    int trial = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    Ledger ledger = Ledgers.open(JdbcLedgerStorage.open(TestDatabase.dataSource(url), Clock.systemUTC()), signer,
        LedgerOptions.defaults().withMaxBatchSize(256).withWriterName("crash child trial " + trial));
    print("READY " + ledger.latestCheckpoint().size());
    for (int t = 0; t < threads; t++) {
      int thread = t;
      Thread.ofPlatform().daemon(false).start(() -> {
        for (long seq = 0; ; seq++) {
          try {
            AppendResult r = ledger.append(entry(trial, thread, seq));
            print("ACK " + r.index() + " " + thread + " " + seq);
          } catch (LedgerUnavailableException e) {
            print("FAIL " + e.getMessage().replace('\n', ' '));
            return;
          } catch (InterruptedException e) {
            return;
          }
        }
      });
    }
  }

  private static void print(String line) {
    byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
    synchronized (OUT) {
      try {
        OUT.write(b);
      } catch (IOException e) {
        Runtime.getRuntime().halt(3);
      }
    }
  }
}
