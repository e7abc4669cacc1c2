package org.fhirledger.ledger;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.fhirledger.ledger.jdbc.SharedPostgresLedger;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * Child JVM of {@link SharedPostgresLedgerTest}: one gateway instance on the shared PostgreSQL ledger, appending
 * from many threads and printing {@code ACK index thread seq} for every acknowledged append, until it is killed.
 */
public final class SharedChild {
  private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

  private SharedChild() {}

  public static void main(String[] args) throws Exception {
    NoteSigner signer = NoteSigner.parse(Files.readString(Path.of(args[1])));
    int threads = Integer.parseInt(args[2]);
    Ledger ledger = SharedPostgresLedger.open(TestDatabase.dataSource(args[0]), signer,
        LedgerOptions.defaults().withMaxBatchSize(256).withWriterName("shared child"), Duration.ofMillis(100));
    print("READY");
    for (int t = 0; t < threads; t++) {
      int thread = t;
      Thread.ofPlatform().daemon(false).start(() -> {
        for (long seq = 0; ; seq++) {
          try {
            AppendResult r = ledger.append(SharedPostgresLedgerTest.entry("child", thread, seq));
            print("ACK " + r.index() + " " + thread + " " + seq);
          } catch (LedgerUnavailableException e) {
            print("FAIL " + e.getMessage().replace('\n', ' '));
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
