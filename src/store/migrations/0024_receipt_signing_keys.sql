-- The generations of the receipt signing key (docs/api/receipts.md, "Rotating the signing key"). No key
-- is stored: generation g is derived from the vault's root key with HKDF info `receipt-signing-v<g>`.
-- A generation is published in the JWKS from its creation until it is retired, and signs from
-- `signs_from` (published ahead, so that verifiers' cached JWKS know it before a receipt needs it). The
-- newest published generation whose `signs_from` has passed signs. Generation 1 is the key every
-- installation signed with before rotation existed.
CREATE TABLE receipt_signing_keys (
  generation integer PRIMARY KEY CHECK (generation >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  signs_from timestamptz NOT NULL,
  retired_at timestamptz
);

INSERT INTO receipt_signing_keys (generation, created_at, signs_from) VALUES (1, 'epoch', 'epoch');
