-- Gateway instances sharing one ledger (PostgreSQL): per instance (its entries' origin), the reconciliation
-- watermark: every INTENT of that instance below it has its OUTCOME on the ledger. A row exists for every instance
-- that ever started, so a survivor can find the instances that died with unreconciled intents.
CREATE TABLE ledger_reconcile_watermark (
  origin      VARCHAR(255) NOT NULL PRIMARY KEY,
  watermark   BIGINT       NOT NULL,
  updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
