-- Payouts: a merchant's balance paid out in aggregate to its bank account, on a schedule or on demand.
-- A payout's money is held in the ledger from its creation (merchant → payout_clearing) until the bank
-- settles it (the hold is posted) or rejects it (the hold is voided).

-- One row per merchant and mode, created by the first POST /v1/payout_settings. The bank account number
-- is kept whole because the bank rail needs it; responses show its last four characters only.
CREATE TABLE payout_settings (
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  account_number text,
  account_type text CHECK (account_type IN ('iban', 'account_number')),
  account_holder_name text,
  schedule text NOT NULL DEFAULT 'daily' CHECK (schedule IN ('daily', 'weekly', 'manual')),
  -- 0 is Sunday, as in PostgreSQL's extract(dow) and JavaScript's getUTCDay().
  weekly_anchor integer NOT NULL DEFAULT 1 CHECK (weekly_anchor BETWEEN 0 AND 6),
  -- Per currency, in minor units; a currency absent here uses the installation's default minimum.
  minimum_amounts jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The scheduled run this merchant is due for next (UTC midnight); NULL when the schedule is manual
  -- or there is no bank account yet.
  next_run_at timestamptz,
  -- A scheduler claims a due row for a short lease, so that several processes share the work.
  claimed_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, livemode),
  CHECK ((account_number IS NULL) = (account_type IS NULL))
);
CREATE INDEX payout_settings_due ON payout_settings (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE payouts (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'in_transit', 'paid', 'failed')),
  -- Scheduled payouts name the run they belong to (its UTC date); on-demand payouts have none.
  automatic boolean NOT NULL,
  period text,
  description text,
  -- Where the money goes, as it was when the payout was created (later settings do not redirect it).
  account_number text NOT NULL,
  account_type text NOT NULL CHECK (account_type IN ('iban', 'account_number')),
  account_holder_name text NOT NULL,
  bank_reference text,
  bank_reason_code text,
  failure_code text,
  failure_message text,
  risk_decision_id text,
  metadata jsonb,
  -- Work of the dispatcher: when to submit or poll next, how many submissions were tried, and a lease
  -- so that one process at a time talks to the bank about a payout.
  next_attempt_at timestamptz,
  submit_attempts integer NOT NULL DEFAULT 0 CHECK (submit_attempts >= 0),
  locked_until timestamptz,
  paid_at timestamptz,
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'failed') = (failure_code IS NOT NULL)),
  CHECK (automatic = (period IS NOT NULL))
);
CREATE INDEX payouts_merchant ON payouts (merchant_id, livemode, seq);
-- A scheduled run pays each merchant, mode and currency at most once.
CREATE UNIQUE INDEX payouts_period ON payouts (merchant_id, livemode, currency, period) WHERE period IS NOT NULL;
CREATE INDEX payouts_due ON payouts (next_attempt_at) WHERE status IN ('pending', 'in_transit');
