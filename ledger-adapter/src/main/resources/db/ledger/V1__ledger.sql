-- One migration set for H2 (2.x) and PostgreSQL: only types and statements both accept.

-- The single row that sequences writers: every batch transaction updates it with a compare-and-set on
-- (writer_epoch, tree_size), so a writer that was taken over, or whose view of the tree is stale, commits nothing.
CREATE TABLE ledger_state (
  id            INTEGER      NOT NULL PRIMARY KEY,
  writer_epoch  BIGINT       NOT NULL,
  writer_owner  VARCHAR(255),
  writer_since  TIMESTAMP WITH TIME ZONE,
  tree_size     BIGINT       NOT NULL,
  CONSTRAINT ledger_state_single_row CHECK (id = 1)
);
INSERT INTO ledger_state (id, writer_epoch, writer_owner, writer_since, tree_size) VALUES (1, 0, NULL, NULL, 0);

-- Entries, one row per committed batch: data is the batch's entries in C2SP entry-bundle encoding
-- (big-endian uint16 length-prefixed), entries [first_idx, first_idx + entry_count).
CREATE TABLE ledger_entries (
  first_idx    BIGINT  NOT NULL PRIMARY KEY,
  entry_count  INTEGER NOT NULL,
  data         BYTEA   NOT NULL
);

-- C2SP tlog-tiles hash tiles: width 256 is a full tile, 1..255 a partial tile for a checkpointed size.
CREATE TABLE ledger_tile (
  tile_level  INTEGER NOT NULL,
  tile_index  BIGINT  NOT NULL,
  width       INTEGER NOT NULL,
  hashes      BYTEA   NOT NULL,
  PRIMARY KEY (tile_level, tile_index, width)
);

-- Every signed checkpoint, as the exact signed note text.
CREATE TABLE ledger_checkpoint (
  tree_size  BIGINT        NOT NULL PRIMARY KEY,
  note       VARCHAR(4000) NOT NULL
);

-- Off-ledger per-patient pseudonym secrets. Deleting a row makes that patient's ledger entries unlinkable.
CREATE TABLE ledger_patient_secret (
  patient_ref  VARCHAR(512) NOT NULL PRIMARY KEY,
  secret       BYTEA        NOT NULL,
  created_at   TIMESTAMP WITH TIME ZONE NOT NULL
);
