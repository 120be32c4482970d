-- Webhooks: a merchant's endpoints, one delivery per (event, endpoint) and a log of every attempt.
-- The worker fans events of the outbox out to matching endpoints, then claims due deliveries with
-- FOR UPDATE SKIP LOCKED and a lease, so several processes on one database share the work and each
-- delivery is attempted by one of them at a time.

CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  url text NOT NULL CHECK (length(url) <= 2048),
  description text,
  -- Event types this endpoint receives; '*' means all of them.
  enabled_events text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 100),
  status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason text CHECK (disabled_reason IN ('requested', 'failing')),
  -- The signing secret must be usable to sign, so it is stored sealed (AES-256-GCM under the
  -- installation's WEBHOOK_SECRET_ENCRYPTION_KEY, bound to the endpoint id), never as plain text.
  -- Both are cleared when the endpoint is deleted.
  secret_sealed text,
  -- After a rotation the previous secret keeps signing alongside the new one until it expires.
  previous_secret_sealed text,
  previous_secret_expires_at timestamptz,
  -- Health: when the first failed attempt since the last success happened, and how many deliveries in
  -- a row used up all their attempts. Both are reset by any successful attempt.
  failing_since timestamptz,
  exhausted_deliveries_in_row integer NOT NULL DEFAULT 0,
  disabled_at timestamptz,
  deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL)),
  CHECK (deleted_at IS NOT NULL OR secret_sealed IS NOT NULL)
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, livemode, seq);

CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  merchant_id text NOT NULL,
  livemode boolean NOT NULL,
  event_type text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Automatic attempts allowed; a manual retry of a finished delivery allows one more.
  attempts_max integer NOT NULL CHECK (attempts_max >= 1),
  -- When the delivery is due; while an attempt runs, the end of its lease (a crashed worker's
  -- delivery becomes due again then). Null once the delivery is finished.
  next_attempt_at timestamptz,
  -- Set while an attempt runs (its lease), so the API can tell in flight from waiting.
  locked_until timestamptz,
  last_attempt_at timestamptz,
  response_status integer,
  response_body text,
  latency_ms integer,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending';

CREATE TABLE webhook_delivery_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  response_status integer,
  response_body text,
  latency_ms integer NOT NULL,
  error text,
  PRIMARY KEY (delivery_id, attempt)
);

-- How far the worker has fanned events out, without writing to the events: each event records the
-- transaction that wrote it, and the cursor advances over (xid, seq) only below the oldest transaction
-- still running, so an event committed late by a transaction that started early is never skipped.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_xid ON events (xid, seq);
CREATE TABLE webhook_fan_out_cursor (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  xid xid8 NOT NULL,
  seq bigint NOT NULL
);
INSERT INTO webhook_fan_out_cursor (xid, seq) VALUES ('0', 0);
