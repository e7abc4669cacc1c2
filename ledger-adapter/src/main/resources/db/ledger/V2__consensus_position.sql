-- Where a replicated log (ledger-replication, Raft) stands in its consensus log: the term and index of the last
-- consensus entry applied. Written in the same transaction as the batch it belongs to, so a member that restarts
-- knows exactly which consensus entries its log already holds. -1 means "not replicated" / nothing applied.
ALTER TABLE ledger_state ADD COLUMN consensus_term BIGINT DEFAULT -1 NOT NULL;
ALTER TABLE ledger_state ADD COLUMN consensus_index BIGINT DEFAULT -1 NOT NULL;
