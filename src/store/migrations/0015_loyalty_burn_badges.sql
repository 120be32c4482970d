-- Loyalty, part two (docs/loyalty.md): points pay part of a purchase at the checkout, earned points can
-- be held until the refund window passes, and buyers earn badges.

-- What a payment's buyer paid in points: how many points were spent and what they were worth in the
-- payment's currency. The money moved is `amount - amount_paid_in_points`.
ALTER TABLE payments ADD COLUMN points_redeemed bigint NOT NULL DEFAULT 0 CHECK (points_redeemed >= 0);
ALTER TABLE payments ADD COLUMN amount_paid_in_points bigint NOT NULL DEFAULT 0 CHECK (amount_paid_in_points >= 0);

-- The program's redemption terms (null: points cannot be spent) and how long earned points stay held
-- (counted in the balance, not spendable) so that a refund within the window takes them back whole.
ALTER TABLE loyalty_programs ADD COLUMN redemption jsonb;
ALTER TABLE loyalty_programs ADD COLUMN hold_days integer NOT NULL DEFAULT 0 CHECK (hold_days BETWEEN 0 AND 90);

-- A lot is points earned by a payment (`earn`) or spent points given back by a refund (`return`); only
-- earned lots are clawed back. Lots are spendable from `available_at` (null: at once).
ALTER TABLE loyalty_earnings ADD COLUMN kind text NOT NULL DEFAULT 'earn' CHECK (kind IN ('earn', 'return'));
ALTER TABLE loyalty_earnings ADD COLUMN available_at timestamptz;
CREATE INDEX loyalty_earnings_payment ON loyalty_earnings (payment_id);

-- Badges: one per buyer, merchant, mode and code, ever (the unique key makes awarding idempotent). A
-- badge whose qualifying payment is refunded in full or lost in a dispute is kept and marked revoked.
CREATE TABLE loyalty_badges (
  id text PRIMARY KEY,
  buyer_id text NOT NULL,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  code text NOT NULL CHECK (code IN ('first_purchase', 'streak_3', 'streak_7', 'creator_supporter')),
  payment_id text NOT NULL,
  earned_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  UNIQUE (buyer_id, merchant_id, livemode, code)
);
CREATE INDEX loyalty_badges_buyer ON loyalty_badges (buyer_id, livemode, earned_at, id);
CREATE INDEX loyalty_badges_payment ON loyalty_badges (payment_id);

-- Claw-backs are read per account (points owed, on every spendable check and risk score) and per
-- payment (held points, farming facts).
CREATE INDEX loyalty_clawbacks_account ON loyalty_clawbacks (account_id);
CREATE INDEX loyalty_clawbacks_payment ON loyalty_clawbacks (payment_id);
