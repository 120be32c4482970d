-- The ledger commits its batches one at a time across every process (a transaction-scoped advisory
-- lock), and writes an account's balances back only once in a while: the transfers are the record, the
-- balances in ledger_accounts are a checkpoint of them (docs/ledger.md, "How a batch commits").
--
-- The balance columns are renamed checkpoint_*: the row is no longer the balance, and anything that
-- still reads or writes it as one (a process of an earlier release during an upgrade, a query written
-- by hand) fails instead of being silently wrong. balance_seq: the checkpoint is the effect of exactly
-- the transfers with seq <= balance_seq. Existing rows were kept current by every batch, so they stand
-- at the last seq.
ALTER TABLE ledger_accounts RENAME COLUMN debits_pending TO checkpoint_debits_pending;
ALTER TABLE ledger_accounts RENAME COLUMN debits_posted TO checkpoint_debits_posted;
ALTER TABLE ledger_accounts RENAME COLUMN credits_pending TO checkpoint_credits_pending;
ALTER TABLE ledger_accounts RENAME COLUMN credits_posted TO checkpoint_credits_posted;
ALTER TABLE ledger_accounts ADD COLUMN balance_seq bigint NOT NULL DEFAULT 0;
UPDATE ledger_accounts SET balance_seq = (SELECT coalesce(max(seq), 0) FROM ledger_transfers);

-- The last batch committed: a random token that each batch that writes replaces (so a process knows
-- whether anyone else committed since its own last batch), and the highest seq committed. Seqs are
-- in commit order only because every insert into ledger_transfers happens under the ledger lock and
-- the identity sequence hands out values one at a time (its CACHE must stay 1: with a cache, a later
-- commit could get a lower seq than a checkpoint already written, and drop out of the balance).
CREATE TABLE ledger_head (
  id integer PRIMARY KEY CHECK (id = 1),
  token uuid NOT NULL,
  seq bigint NOT NULL
);
INSERT INTO ledger_head (id, token, seq)
SELECT 1, '00000000-0000-4000-8000-000000000000', coalesce(max(seq), 0) FROM ledger_transfers;

-- Every account with its balances as they stand: the checkpoint plus the transfers after it (at most a
-- few dozen per account: the ledger writes an account back once it has that many). What every read
-- of a balance uses. The two CASE expressions are the ledger's own rules (balanceEffectsSql in
-- src/ledger/store.ts): a hold moves pending, a post moves the hold's amount out of pending and its
-- own amount into posted, a void or an expiry moves the hold's amount out of pending.
CREATE VIEW ledger_balances AS
SELECT a.id, a.asset, a.kind, a.flags, a.overdraft_limit,
  a.checkpoint_debits_pending + d.pending AS debits_pending,
  a.checkpoint_debits_posted + d.posted AS debits_posted,
  a.checkpoint_credits_pending + c.pending AS credits_pending,
  a.checkpoint_credits_posted + c.posted AS credits_posted,
  a.metadata, a.created_at, a.balance_seq, d.transfers + c.transfers AS unflushed
FROM ledger_accounts a
CROSS JOIN LATERAL (
  SELECT coalesce(sum(CASE t.kind WHEN 1 THEN t.amount WHEN 0 THEN 0 ELSE -t.pending_amount END), 0)::int8 AS pending,
    coalesce(sum(CASE WHEN t.kind IN (0, 2) THEN t.amount ELSE 0 END), 0)::int8 AS posted,
    count(*)::int4 AS transfers
  FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.seq > a.balance_seq
) d
CROSS JOIN LATERAL (
  SELECT coalesce(sum(CASE t.kind WHEN 1 THEN t.amount WHEN 0 THEN 0 ELSE -t.pending_amount END), 0)::int8 AS pending,
    coalesce(sum(CASE WHEN t.kind IN (0, 2) THEN t.amount ELSE 0 END), 0)::int8 AS posted,
    count(*)::int4 AS transfers
  FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.seq > a.balance_seq
) c;

-- Reading an account's transfers after its checkpoint must use the (account, seq) indexes. A ledger where
-- one account takes part in most transfers (a settlement account funding every wallet) makes the
-- sampled statistics say an account column has one value, and the planner then scans the whole table
-- for every account. Accounts are many: tell the planner so (each account is, on average, on one side
-- of 1 in 20 of the transfers; the override applies from the next ANALYZE, run here).
ALTER TABLE ledger_transfers ALTER COLUMN debit_account_id SET (n_distinct = -0.05);
ALTER TABLE ledger_transfers ALTER COLUMN credit_account_id SET (n_distinct = -0.05);
ANALYZE ledger_transfers;
