-- Refunds and disputes. Both belong to a payment and to its merchant; every row carries the merchant and
-- the mode so that each query is scoped to them, and the buyer so that the automatic refund policy can
-- judge a buyer's standing across every merchant of the installation.

CREATE TABLE refunds (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  payment_id text NOT NULL REFERENCES payments (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  -- The part of the platform fee given back to the merchant with this refund (pro rata, cumulative).
  fee_reversed bigint NOT NULL DEFAULT 0 CHECK (fee_reversed >= 0),
  reason text NOT NULL,
  description text,
  status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  -- Who asked: the merchant (its own decision) or the buyer (through the automatic policy).
  initiated_by text NOT NULL CHECK (initiated_by IN ('merchant', 'buyer')),
  -- Completed by the automatic policy without a human; counts against the buyer's standing.
  automatic boolean NOT NULL DEFAULT false,
  -- Why a buyer's request waits for the merchant, why a refund failed, why it was canceled.
  pending_reason text,
  failure_reason text,
  cancellation_reason text,
  risk_decision_id text,
  metadata jsonb,
  -- Every change bumps the version; a change is written only over the version it was decided from.
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (fee_reversed <= amount)
);
CREATE INDEX refunds_merchant ON refunds (merchant_id, livemode, seq);
CREATE INDEX refunds_payment ON refunds (payment_id, seq);
CREATE INDEX refunds_buyer_automatic ON refunds (buyer_id, created_at) WHERE automatic;

CREATE TABLE disputes (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  -- A payment is disputed once (as with card networks: a second claim is an appeal of the first).
  payment_id text NOT NULL UNIQUE REFERENCES payments (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  reason text NOT NULL,
  description text,
  status text NOT NULL CHECK (status IN ('needs_response', 'under_review', 'won', 'lost')),
  -- What the hold took from the merchant's balance when the dispute opened (at most `amount`).
  amount_held bigint NOT NULL DEFAULT 0 CHECK (amount_held >= 0),
  -- On a lost dispute, what the merchant paid beyond the hold, and what the platform advanced.
  amount_from_merchant bigint NOT NULL DEFAULT 0 CHECK (amount_from_merchant >= 0),
  amount_from_platform bigint NOT NULL DEFAULT 0 CHECK (amount_from_platform >= 0),
  evidence jsonb,
  evidence_submitted_at timestamptz,
  closed_at timestamptz,
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (amount_held <= amount),
  CHECK (amount_from_merchant + amount_from_platform <= amount)
);
CREATE INDEX disputes_merchant ON disputes (merchant_id, livemode, seq);
CREATE INDEX disputes_buyer ON disputes (buyer_id, status);
