-- The staff audit log (docs/api/staff.md, "Audit log"): one row per change a staff user made through
-- the API (every non-GET request with a staff session, refused and failed ones included) and per
-- sign-in. Append-only; rows older than the retention period are deleted by the maintenance worker.
CREATE TABLE staff_audit_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  -- The merchant whose staff acted; null: the operator's staff.
  merchant_id text REFERENCES merchants (id),
  livemode boolean NOT NULL,
  user_id text NOT NULL REFERENCES staff_users (id),
  email text NOT NULL,
  role text NOT NULL,
  -- The route as `METHOD /pattern` (ids as :id) and the path called (without its query).
  action text NOT NULL,
  path text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
  status_code integer NOT NULL,
  error_code text,
  request_id text NOT NULL,
  ip_address text,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- A team's log newest first (the operator's team is merchant_id IS NULL), and one person's.
CREATE INDEX staff_audit_events_team ON staff_audit_events (merchant_id, seq);
CREATE INDEX staff_audit_events_user ON staff_audit_events (user_id, seq);
CREATE INDEX staff_audit_events_time ON staff_audit_events (created_at);
