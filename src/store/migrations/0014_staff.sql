-- Staff: the people who run a merchant (the dashboard) or the installation (the operator's console).
-- They are invited, register a passkey, and sign in to sessions. Invitation and session tokens are
-- stored only as SHA-256 digests (256 random bits each, so a plain digest cannot be reversed).

-- A staff user belongs to one merchant, or (merchant_id null) to the operator. A disabled user keeps
-- their row, so what they did stays attributable; their email may then be invited again.
CREATE TABLE staff_users (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text REFERENCES merchants (id),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100),
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  CHECK (
    (merchant_id IS NOT NULL AND role IN ('owner', 'admin', 'developer', 'finance', 'support', 'analyst'))
    OR (merchant_id IS NULL AND role IN ('admin', 'risk_analyst', 'support', 'viewer'))
  )
);
CREATE UNIQUE INDEX staff_users_email ON staff_users (COALESCE(merchant_id, ''), email) WHERE disabled_at IS NULL;
CREATE INDEX staff_users_merchant ON staff_users (merchant_id, seq);

-- A passkey is never deleted: removing it sets revoked_at.
CREATE TABLE staff_passkeys (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES staff_users (id),
  -- base64url of the raw credential id, as the browser reports it.
  credential_id text NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1400),
  public_key bytea NOT NULL,
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports jsonb NOT NULL DEFAULT '[]'::jsonb,
  device_type text NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  backed_up boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX staff_passkeys_user ON staff_passkeys (user_id);

-- An invitation is used once: accepting it creates the user. A newer invitation for the same address
-- revokes the pending older ones.
CREATE TABLE staff_invitations (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text REFERENCES merchants (id),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100),
  role text NOT NULL,
  token_digest bytea NOT NULL UNIQUE,
  -- Who invited: a staff user's id, an operator key's id, or 'cli' / 'bootstrap'.
  invited_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_user_id text REFERENCES staff_users (id),
  revoked_at timestamptz,
  CHECK (
    (merchant_id IS NOT NULL AND role IN ('owner', 'admin', 'developer', 'finance', 'support', 'analyst'))
    OR (merchant_id IS NULL AND role IN ('admin', 'risk_analyst', 'support', 'viewer'))
  )
);
CREATE INDEX staff_invitations_pending ON staff_invitations (COALESCE(merchant_id, ''), email) WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- A session ends at expires_at (12 hours after sign-in), after 30 minutes without a request
-- (last_used_at, written at most once a minute), at sign-out, or when its user is disabled.
CREATE TABLE staff_sessions (
  id text PRIMARY KEY,
  token_digest bytea NOT NULL UNIQUE,
  user_id text NOT NULL REFERENCES staff_users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_used_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id) WHERE ended_at IS NULL;

-- A WebAuthn enrollment (sreg_) or sign-in (sauth_) ceremony: its challenge, used once. An enrollment
-- carries its invitation and the id the new user will have (the passkey's user handle). client_digest
-- (SHA-256 of the client's address) counts ceremonies per client for the sign-in rate limit.
CREATE TABLE staff_ceremonies (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('enrollment', 'sign_in')),
  challenge text NOT NULL,
  invitation_id text REFERENCES staff_invitations (id),
  user_id text,
  client_digest text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK ((kind = 'enrollment') = (id LIKE 'sreg\_%')),
  CHECK ((kind = 'sign_in') = (id LIKE 'sauth\_%')),
  CHECK ((kind = 'enrollment') = (invitation_id IS NOT NULL AND user_id IS NOT NULL))
);
CREATE INDEX staff_ceremonies_client ON staff_ceremonies (client_digest, created_at);
CREATE INDEX staff_ceremonies_expires ON staff_ceremonies (expires_at);
