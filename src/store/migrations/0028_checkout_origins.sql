-- The web origins where a merchant embeds the checkout frame, per mode (docs/checkout-embed.md,
-- "Registering your origins"). With some registered, the frame is served with
-- `Content-Security-Policy: frame-ancestors` naming only them, so no other site can show it (and trick a
-- signed-in buyer into clicking Pay inside an invisible frame). In live mode, a merchant without
-- registered origins gets no payment without a prompt: every checkout payment asks for a confirmation.
CREATE TABLE checkout_origins (
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  origins text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, livemode)
);
