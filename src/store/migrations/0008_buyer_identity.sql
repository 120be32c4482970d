-- Buyer identity: a buyer signs in with a passkey (or, to recover, a one-time code sent to their email or
-- phone) and gets a session bound to a remembered device. Tokens and codes are stored only as digests.
-- The messages table is the outbox of the sandbox message gateway (development only).

-- An address names at most one buyer per mode; buyers made by merchants' customer records have none.
ALTER TABLE buyers
  ADD COLUMN email text CHECK (email IS NULL OR length(email) <= 254),
  ADD COLUMN phone text CHECK (phone IS NULL OR length(phone) <= 16),
  ADD COLUMN display_name text CHECK (display_name IS NULL OR length(display_name) <= 100);
CREATE UNIQUE INDEX buyers_email ON buyers (livemode, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX buyers_phone ON buyers (livemode, phone) WHERE phone IS NOT NULL;

-- A passkey is never deleted: removing it sets revoked_at, so what signed a past payment stays known.
CREATE TABLE buyer_passkeys (
  id text PRIMARY KEY,
  buyer_id text NOT NULL REFERENCES buyers (id),
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
CREATE INDEX buyer_passkeys_buyer ON buyer_passkeys (buyer_id, created_at);

CREATE TABLE buyer_devices (
  id text PRIMARY KEY,
  buyer_id text NOT NULL REFERENCES buyers (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX buyer_devices_buyer ON buyer_devices (buyer_id, created_at);

CREATE TABLE buyer_sessions (
  id text PRIMARY KEY,
  -- SHA-256 of the token (256 random bits, so a plain digest cannot be reversed).
  token_digest bytea NOT NULL UNIQUE,
  buyer_id text NOT NULL REFERENCES buyers (id),
  device_id text NOT NULL REFERENCES buyer_devices (id),
  livemode boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX buyer_sessions_device ON buyer_sessions (device_id) WHERE ended_at IS NULL;

-- A WebAuthn registration (preg_) or authentication (pauth_) ceremony: its challenge, used once.
-- A sign-up's registration carries the new buyer's id and addresses until the passkey is verified.
CREATE TABLE webauthn_ceremonies (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('registration', 'authentication')),
  livemode boolean NOT NULL,
  challenge text NOT NULL,
  buyer_id text NOT NULL DEFAULT '',
  -- The signed-in session adding a passkey; null for a sign-up or a sign-in.
  session_id text,
  email text,
  phone text,
  display_name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK ((kind = 'registration') = (id LIKE 'preg\_%')),
  CHECK ((kind = 'authentication') = (id LIKE 'pauth\_%'))
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- One-time codes. A request for an address nobody has gets a row too (with no buyer and a code never
-- sent), so the answer, the rate limit and the attempts look the same for every address.
CREATE TABLE buyer_codes (
  id text PRIMARY KEY,
  buyer_id text REFERENCES buyers (id),
  livemode boolean NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('sign_in', 'payment')),
  -- What the code confirms (for a payment: its id, amount, currency and payee); '' for a sign-in.
  binding text NOT NULL DEFAULT '',
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  -- Keyed digest of the normalised address, for the per-address rate limit.
  address_digest text NOT NULL,
  -- Keyed digest of the code (six digits could be found from a plain hash by trying them all).
  code_digest text NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX buyer_codes_address ON buyer_codes (address_digest, created_at);

-- The outbox of the sandbox message gateway: what a real gateway would have sent.
CREATE TABLE messages (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  recipient text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_recipient ON messages (recipient, seq);
