-- The checkout (docs/api/checkout.md): a payment may be created without a customer and paid by whichever
-- buyer signs in at the checkout; the buyer's customer at the merchant is found or created then. Each
-- payment paid at the checkout is recorded with how the buyer confirmed it (the low-value exemption or a
-- strong confirmation), and each passkey challenge bound to a payment is kept until used or expired.

ALTER TABLE payments ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE payments ALTER COLUMN buyer_id DROP NOT NULL;
-- A payment names both its customer and its buyer, or neither; one without them has not moved money.
ALTER TABLE payments ADD CONSTRAINT payments_payer_named CHECK (
  (customer_id IS NULL) = (buyer_id IS NULL)
  AND (customer_id IS NOT NULL OR status IN ('requires_confirmation', 'canceled'))
);

-- One customer per buyer at each merchant and mode: the checkout finds or creates it.
CREATE UNIQUE INDEX customers_merchant_buyer ON customers (merchant_id, livemode, buyer_id);

CREATE TABLE checkout_authentications (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_id text NOT NULL REFERENCES payments (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  livemode boolean NOT NULL,
  currency text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  method text NOT NULL CHECK (method IN ('exempt', 'tra', 'passkey', 'spc', 'otp')),
  outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The exemption counts a buyer's exempt payments since their last strong confirmation, per currency.
CREATE INDEX checkout_authentications_buyer ON checkout_authentications (buyer_id, currency, id);

-- The challenge of a passkey confirmation: derived from the payment and a random nonce, single use.
CREATE TABLE payment_challenges (
  id text PRIMARY KEY,
  payment_id text NOT NULL REFERENCES payments (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  challenge text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_challenges_payment ON payment_challenges (payment_id);
