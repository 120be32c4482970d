-- The ledger: assets, accounts with their running balances, and append-only transfers.

CREATE TABLE ledger_assets (
  code text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
  kind text NOT NULL CHECK (kind IN ('currency', 'points', 'other')),
  exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 18),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO ledger_assets (code, kind, exponent) VALUES
  ('USD', 'currency', 2), ('EUR', 'currency', 2), ('GBP', 'currency', 2),
  ('JPY', 'currency', 0), ('KRW', 'currency', 0), ('BHD', 'currency', 3);

-- Balances are the only values updated in place; they are a cache of the transfers that
-- `micropay ledger verify` recomputes. The CHECK constraints repeat the ledger's limit rules so that
-- even a bug in the application cannot commit a limited account past its limit.
-- fillfactor leaves room in each page so that balance updates stay heap-only (no index writes).
CREATE TABLE ledger_accounts (
  id uuid PRIMARY KEY,
  asset text NOT NULL REFERENCES ledger_assets (code),
  kind text NOT NULL,
  flags integer NOT NULL DEFAULT 0 CHECK (flags BETWEEN 0 AND 2),
  overdraft_limit bigint NOT NULL DEFAULT 0 CHECK (overdraft_limit >= 0),
  debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Written so that no intermediate sum can pass the bigint range: each side's own total is at most
  -- 2^63 - 1 (the ledger refuses more), and subtracting the other side only brings it down.
  CONSTRAINT debits_must_not_exceed_credits CHECK (
    flags <> 1 OR (debits_pending + debits_posted) - credits_posted <= overdraft_limit),
  CONSTRAINT credits_must_not_exceed_debits CHECK (
    flags <> 2 OR (credits_pending + credits_posted) - debits_posted <= overdraft_limit)
) WITH (fillfactor = 50);

-- kind: 0 posted, 1 pending (a hold), 2 post_pending, 3 void_pending, 4 expire_pending.
-- A resolution (2, 3, 4) names its hold in pending_id; the unique index makes a hold resolvable once.
CREATE TABLE ledger_transfers (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  debit_account_id uuid NOT NULL,
  credit_account_id uuid NOT NULL,
  asset text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  kind smallint NOT NULL CHECK (kind BETWEEN 0 AND 4),
  pending_id uuid,
  pending_amount bigint CHECK (pending_amount > 0),
  timeout_seconds integer NOT NULL DEFAULT 0 CHECK (timeout_seconds >= 0),
  expires_at timestamptz,
  code integer NOT NULL CHECK (code BETWEEN 1 AND 65535),
  metadata jsonb,
  created_at timestamptz NOT NULL,
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((kind IN (2, 3, 4)) = (pending_id IS NOT NULL AND pending_amount IS NOT NULL)),
  CHECK (kind <> 2 OR amount <= pending_amount),
  CHECK (kind NOT IN (3, 4) OR amount = pending_amount)
);

CREATE UNIQUE INDEX ledger_transfers_pending_id ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_debit_account ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit_account ON ledger_transfers (credit_account_id, seq);

-- Holds that are still open and have a timeout: what the expiry worker scans. A row is written with
-- the hold and removed in the same database transaction as its resolution; the transfers themselves
-- never change.
CREATE TABLE ledger_open_holds (
  pending_id uuid PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX ledger_open_holds_expires_at ON ledger_open_holds (expires_at);
