package org.fhirledger.ledger.tiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import java.util.List;
import org.fhirledger.ledger.LedgerVerificationException;
import org.junit.jupiter.api.Test;

class TilesTest {
  @Test
  void tilePath_specExamples_matchTlogTiles() {
    assertEquals("x001/x234/067", Tiles.indexPath(1234067));
    assertEquals("tile/0/x001/x234/067", Tiles.tilePath(0, 1234067, 256));
    assertEquals("tile/1/005.p/17", Tiles.tilePath(1, 5, 17));
    assertEquals("tile/entries/000.p/3", Tiles.entriesPath(0, 3));
    assertEquals("tile/entries/x001/000", Tiles.entriesPath(1000, 256));
    assertEquals("000", Tiles.indexPath(0));
  }

  @Test
  void widthAt_treeOf70000_matchesTheSpecExample() {
    // 273 full level-0 tiles, one partial of 112, one full level-1 tile, a partial of 17, a level-2 partial of 1
    assertEquals(256, Tiles.widthAt(0, 272, 70_000));
    assertEquals(112, Tiles.widthAt(0, 273, 70_000));
    assertEquals(0, Tiles.widthAt(0, 274, 70_000));
    assertEquals(256, Tiles.widthAt(1, 0, 70_000));
    assertEquals(17, Tiles.widthAt(1, 1, 70_000));
    assertEquals(1, Tiles.widthAt(2, 0, 70_000));
    assertEquals(2, Tiles.topLevel(70_000));
    assertEquals(1, Tiles.widthAt(1, 0, 256));
    assertEquals(0, Tiles.widthAt(0, 1, 256));
  }

  @Test
  void entryBundle_encode_isBigEndianUint16LengthPrefixed() throws Exception {
    byte[] b = EntryBundles.encode(List.of("a".getBytes(), "bc".getBytes(), new byte[0], new byte[300]));
    assertEquals("000161" + "00026263" + "0000" + "012c", HexFormat.of().formatHex(b, 0, 11));
    assertEquals(11 + 300, b.length);
    assertEquals(4, EntryBundles.decode(b, 4, "x").size());
  }

  @Test
  void entryBundle_decodeWithWrongCount_namesTheBundle() {
    byte[] b = EntryBundles.encode(List.of("a".getBytes()));
    LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
        () -> EntryBundles.decode(b, 2, "tile/entries/000.p/2"));
    assertEquals("tile/entries/000.p/2: holds 1 entries, expected 2", e.getMessage());
  }
}
