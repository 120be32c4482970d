-- Loyalty points (docs/loyalty.md). Points are the ledger asset PTS (0 decimals); balances live only in
-- ledger accounts. A merchant's earn rules are a row per merchant and mode, replaced by PUT with a
-- version; every point earned is also recorded as a lot (insert only) so that expiry can run FIFO by
-- earn time through correcting transfers, never by editing a balance.

INSERT INTO ledger_assets (code, kind, exponent) VALUES ('PTS', 'points', 0) ON CONFLICT (code) DO NOTHING;

CREATE TABLE loyalty_programs (
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  per_amount bigint NOT NULL CHECK (per_amount > 0),
  currency text NOT NULL,
  points bigint NOT NULL CHECK (points > 0),
  -- Category -> multiplier in hundredths (2 = 200).
  bonus_categories jsonb NOT NULL DEFAULT '{}'::jsonb,
  expiry_days integer CHECK (expiry_days IS NULL OR expiry_days BETWEEN 1 AND 3650),
  enabled boolean NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, livemode)
);

-- One row per earn transfer (its id): the lot that expiry consumes first-in first-out.
CREATE TABLE loyalty_earnings (
  transfer_id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  merchant_id text NOT NULL,
  livemode boolean NOT NULL,
  buyer_id text NOT NULL,
  payment_id text NOT NULL,
  points bigint NOT NULL CHECK (points > 0),
  earned_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE INDEX loyalty_earnings_expiry ON loyalty_earnings (expires_at, account_id) WHERE expires_at IS NOT NULL;
CREATE INDEX loyalty_earnings_account ON loyalty_earnings (account_id, expires_at);

-- One row per refund that clawed points back (written with the refund): what the refund should have
-- taken back, and what the buyer still held; the difference is the shortfall.
CREATE TABLE loyalty_clawbacks (
  refund_id text PRIMARY KEY,
  payment_id text NOT NULL,
  account_id uuid NOT NULL,
  wanted bigint NOT NULL CHECK (wanted > 0),
  clawed bigint NOT NULL CHECK (clawed >= 0 AND clawed <= wanted),
  created_at timestamptz NOT NULL DEFAULT now()
);
