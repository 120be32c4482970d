-- The buyer's purchase history (GET /v1/buyer/history): payments, top-ups and refunds of one buyer across
-- every merchant of a mode, newest first. Each table is read by buyer and time, so each gets that index.
CREATE INDEX payments_buyer_created ON payments (buyer_id, created_at);
CREATE INDEX top_ups_buyer_created ON top_ups (buyer_id, created_at);
CREATE INDEX refunds_buyer_created ON refunds (buyer_id, created_at);
