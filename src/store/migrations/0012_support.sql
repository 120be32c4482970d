-- Support tickets (docs/api/support.md): a buyer opens a ticket about one of their payments, the
-- merchant answers, and both write in the ticket's thread. A ticket's messages are appended, never
-- edited; the ticket's status follows who wrote last (open: waiting for the merchant, answered: waiting
-- for the buyer) until the merchant closes it.

CREATE TABLE support_tickets (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  buyer_id text NOT NULL REFERENCES buyers (id),
  payment_id text NOT NULL REFERENCES payments (id),
  subject text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
  status text NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
  message_count integer NOT NULL CHECK (message_count BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- The merchant's list (by status) and the buyer's list, both newest first.
CREATE INDEX support_tickets_merchant ON support_tickets (merchant_id, livemode, status, seq);
CREATE INDEX support_tickets_buyer ON support_tickets (buyer_id, merchant_id, livemode, seq);

CREATE TABLE support_messages (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  ticket_id text NOT NULL REFERENCES support_tickets (id),
  author text NOT NULL CHECK (author IN ('buyer', 'merchant')),
  body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_messages_ticket ON support_messages (ticket_id, seq);
