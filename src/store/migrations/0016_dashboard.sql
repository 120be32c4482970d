-- The merchant dashboard: files a merchant attaches to a dispute as evidence (PNG, JPEG or PDF, at most
-- 2 MiB each, checked by their first bytes), kept beside the dispute and never changed once stored.
CREATE TABLE dispute_evidence_files (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  dispute_id text NOT NULL REFERENCES disputes (id),
  merchant_id text NOT NULL REFERENCES merchants (id),
  livemode boolean NOT NULL,
  filename text NOT NULL CHECK (char_length(filename) BETWEEN 1 AND 200),
  content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'application/pdf')),
  size_bytes integer NOT NULL CHECK (size_bytes BETWEEN 1 AND 2097152),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content bytea NOT NULL CHECK (octet_length(content) = size_bytes),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dispute_evidence_files_dispute ON dispute_evidence_files (dispute_id, seq);
