-- The merchant API: merchants and their keys, buyers and customers, payments, risk decisions, the
-- event outbox and idempotency records. Test and live objects live side by side, told apart by
-- `livemode`; every merchant-owned row carries its merchant so that each query is scoped to it.

CREATE TABLE merchants (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL,
  -- The platform fee: basis points of the amount plus a fixed part per currency in minor units.
  fee_bps integer NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
  fee_fixed jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored as SHA-256 digests of their secret (the secret has 192 random bits, so a plain
-- digest cannot be reversed); the secret is shown once, at creation.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text REFERENCES merchants (id),
  kind text NOT NULL CHECK (kind IN ('secret', 'publishable', 'operator')),
  livemode boolean NOT NULL,
  scope text NOT NULL CHECK (scope IN ('write', 'read')),
  secret_digest bytea NOT NULL UNIQUE,
  last4 text NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  CHECK ((kind = 'operator') = (merchant_id IS NULL))
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id, seq);

-- A buyer is a person with one wallet usable at every merchant of the installation; a customer is a
-- merchant's record of a buyer.
CREATE TABLE buyers (
  id text PRIMARY KEY,
  livemode boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  buyer_id text NOT NULL REFERENCES buyers (id),
  email text,
  name text,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_merchant ON customers (merchant_id, livemode, seq);

CREATE TABLE payments (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  customer_id text NOT NULL REFERENCES customers (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  description text,
  line_items jsonb NOT NULL,
  capture_method text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  status text NOT NULL CHECK (status IN ('requires_confirmation', 'requires_action', 'processing',
    'requires_capture', 'succeeded', 'canceled', 'failed')),
  amount_captured bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
  amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  fee_amount bigint NOT NULL DEFAULT 0 CHECK (fee_amount >= 0),
  capture_before timestamptz,
  risk_decision_id text,
  last_error jsonb,
  cancellation_reason text,
  metadata jsonb,
  -- Every change bumps the version; a change is written only over the version it was decided from.
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (amount_captured <= amount),
  CHECK (amount_refunded <= amount_captured)
);
CREATE INDEX payments_merchant ON payments (merchant_id, livemode, seq);
CREATE INDEX payments_customer ON payments (customer_id, seq);
CREATE INDEX payments_capture_due ON payments (capture_before) WHERE status = 'requires_capture';

-- Every decision of the risk hook, with its reasons, whatever it decided.
CREATE TABLE risk_decisions (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text REFERENCES merchants (id),
  livemode boolean NOT NULL,
  subject_type text NOT NULL,
  subject_id text NOT NULL,
  action text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('allow', 'challenge', 'review', 'block')),
  score double precision,
  reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_decisions_subject ON risk_decisions (subject_id);

-- The outbox: events are written in the same transaction as the change they announce; the webhook
-- worker delivers them. The id is derived from what happened, so a retried change writes no second event.
CREATE TABLE events (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_merchant ON events (merchant_id, livemode, seq);
CREATE INDEX events_seq ON events (seq);

-- One row per Idempotency-Key and caller: reserved while the request runs (with a lease, so a crashed
-- process's key can be taken over), then the first response, replayed for 24 hours.
CREATE TABLE idempotency_keys (
  owner text NOT NULL,
  key text NOT NULL,
  request_digest text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'done')),
  response_status integer,
  response_body jsonb,
  locked_until timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
