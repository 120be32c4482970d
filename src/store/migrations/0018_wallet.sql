-- The wallet reads a buyer's records across every merchant (docs/wallet.md): the buyer's support
-- tickets newest first, and the buyer's customers (one per merchant) for points per merchant.
CREATE INDEX support_tickets_buyer_all ON support_tickets (buyer_id, livemode, seq);
CREATE INDEX customers_buyer ON customers (buyer_id, livemode);
