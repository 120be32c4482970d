-- The risk engine: what each decision saw (for back-tests and training), rules with every version kept,
-- allow, block and named lists, trained models, the review queue, and fraud labels.

ALTER TABLE risk_decisions
  ADD COLUMN buyer_id text,
  ADD COLUMN amount bigint,
  ADD COLUMN currency text,
  ADD COLUMN segment text,
  ADD COLUMN signals jsonb,
  ADD COLUMN shadow jsonb NOT NULL DEFAULT '[]'::jsonb;
CREATE INDEX risk_decisions_seq ON risk_decisions (seq);

-- A rule is never edited in place: each change adds a version; the newest version is the rule.
CREATE TABLE risk_rules (
  id text NOT NULL CHECK (id ~ '^[a-z][a-z0-9_]{0,62}$'),
  version integer NOT NULL CHECK (version >= 1),
  source text NOT NULL CHECK (length(source) <= 1000),
  action text NOT NULL CHECK (action IN ('allow', 'challenge', 'review', 'block')),
  mode text NOT NULL CHECK (mode IN ('live', 'shadow', 'disabled')),
  position integer NOT NULL DEFAULT 0,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);

CREATE TABLE risk_list_items (
  list text NOT NULL CHECK (list ~ '^[a-z][a-z0-9_]{0,62}$'),
  value text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  note text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (list, value)
);

-- Every change of rules or lists bumps this row, so that every process reloads them.
CREATE TABLE risk_generation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL
);
INSERT INTO risk_generation (generation) VALUES (1);

CREATE TABLE risk_models (
  version integer PRIMARY KEY,
  model jsonb NOT NULL,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  active boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX risk_models_one_active ON risk_models (active) WHERE active;

CREATE TABLE risk_reviews (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  decision_id text NOT NULL,
  merchant_id text REFERENCES merchants (id),
  livemode boolean NOT NULL,
  subject_type text NOT NULL,
  subject_id text NOT NULL,
  buyer_id text,
  amount bigint NOT NULL,
  currency text NOT NULL,
  reasons jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'claimed', 'approved', 'rejected')),
  claimed_by text,
  claimed_at timestamptz,
  decided_at timestamptz,
  note text,
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX risk_reviews_subject ON risk_reviews (subject_type, subject_id);
CREATE INDEX risk_reviews_open ON risk_reviews (seq) WHERE status IN ('open', 'claimed');

-- Labels for training: confirmed fraud (review rejected, dispute lost, chargeback) or confirmed good.
CREATE TABLE risk_labels (
  subject_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('review', 'dispute', 'chargeback', 'operator')),
  fraud boolean NOT NULL,
  buyer_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject_id, source)
);
