package org.fhirledger.gateway.ledger;

import java.io.IOException;
import java.util.OptionalLong;

/**
 * Where one gateway instance's reconciliation watermark (see {@link PendingIntents}) is kept between runs: a file
 * beside a local ledger ({@link WatermarkFile}), or a row in a shared PostgreSQL ledger's database ({@link
 * JdbcWatermarkStore}). A lost or stale write is harmless (the next reconciliation scans a little more of the log).
 * Implementations need not be thread-safe; the caller serialises writes.
 */
interface WatermarkStore {

  /** The stored watermark; empty when there is none or it cannot be read (which means: scan from index 0). */
  OptionalLong read();

  /** Replaces the stored watermark durably. */
  void write(long watermark) throws IOException;
}
