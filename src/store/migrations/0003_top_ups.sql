-- Card top-ups: the card vault, the payment methods that show a vaulted card, and the top-ups that
-- fund a buyer's wallet from a card.

-- The vault holds card data only encrypted (AES-256-GCM under a per-card data key, itself wrapped by
-- the master key of `key_version`). The security code is never stored. `fingerprint` is a keyed HMAC
-- of the number within the merchant, for spotting the same card twice.
CREATE TABLE vault_cards (
  id text PRIMARY KEY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  key_version integer NOT NULL CHECK (key_version > 0),
  wrapped_key bytea NOT NULL CHECK (octet_length(wrapped_key) = 60),
  ciphertext bytea NOT NULL CHECK (octet_length(ciphertext) BETWEEN 29 AND 512),
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vault_cards_key_version ON vault_cards (key_version);

-- A tokenised card as the API shows it, attached to a customer; its id is the vault token.
CREATE TABLE payment_methods (
  id text PRIMARY KEY REFERENCES vault_cards (id),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  customer_id text NOT NULL REFERENCES customers (id),
  brand text NOT NULL,
  last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  exp_month smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2199),
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, seq);
CREATE INDEX payment_methods_fingerprint ON payment_methods (merchant_id, fingerprint);

CREATE TABLE top_ups (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  customer_id text NOT NULL REFERENCES customers (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  payment_method_id text NOT NULL REFERENCES payment_methods (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed')),
  processor_authorization_id text,
  three_d_secure_url text,
  failure_code text,
  failure_message text,
  risk_decision_id text,
  metadata jsonb,
  -- Every change bumps the version; a change is written only over the version it was decided from.
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'failed') = (failure_code IS NOT NULL)),
  CHECK ((status = 'requires_action') = (three_d_secure_url IS NOT NULL)),
  CHECK (status NOT IN ('requires_action', 'succeeded') OR processor_authorization_id IS NOT NULL)
);
CREATE INDEX top_ups_merchant ON top_ups (merchant_id, livemode, seq);
CREATE INDEX top_ups_customer ON top_ups (customer_id, seq);
CREATE INDEX top_ups_processing ON top_ups (created_at) WHERE status = 'processing';
