-- The latest checkpoint of this log with the witnesses' cosignatures collected for it (C2SP tlog-cosignature), so
-- that a restarted gateway, or another instance on a shared ledger, serves it at once. Only ever moves forward.
CREATE TABLE ledger_cosigned_checkpoint (
  log_origin  VARCHAR(255)   NOT NULL PRIMARY KEY,
  tree_size   BIGINT         NOT NULL,
  note        VARCHAR(16000) NOT NULL,
  updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
