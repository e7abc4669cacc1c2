package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WatermarkFileTest {

  @TempDir Path dir;

  @Test
  void read_afterWrite_returnsTheWatermark() throws Exception {
    WatermarkFile file = new WatermarkFile(dir, "a.test/ledger");
    file.write(4097);

    assertEquals(OptionalLong.of(4097), file.read());
  }

  @Test
  void read_noFile_empty() {
    assertEquals(OptionalLong.empty(), new WatermarkFile(dir, "a.test/ledger").read());
  }

  @Test
  void read_fileOfAnotherLog_empty() throws Exception {
    new WatermarkFile(dir, "other.test/ledger").write(7);

    assertEquals(OptionalLong.empty(), new WatermarkFile(dir, "a.test/ledger").read());
  }

  @Test
  void read_tornFile_empty() throws Exception {
    Files.writeString(dir.resolve(WatermarkFile.NAME), "a.test/ledger 12x");

    assertEquals(OptionalLong.empty(), new WatermarkFile(dir, "a.test/ledger").read());
  }
}
