-- The vault's root key (docs/operations.md, "Rotating the vault master key"): what the purpose keys
-- (card fingerprints, request digests, client secrets, receipt keys, webhook secrets) derive from,
-- stored sealed by the master key like a card, so that a rotation of the master key re-wraps it and
-- changes nothing derived from it. One row; `purpose` leaves room for other wrapped keys.
CREATE TABLE vault_keys (
  purpose text PRIMARY KEY CHECK (purpose IN ('root')),
  key_version integer NOT NULL CHECK (key_version > 0),
  wrapped_key bytea NOT NULL CHECK (octet_length(wrapped_key) = 60),
  ciphertext bytea NOT NULL CHECK (octet_length(ciphertext) = 60),
  created_at timestamptz NOT NULL DEFAULT now(),
  rewrapped_at timestamptz
);
