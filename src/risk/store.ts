// SQL of the risk engine's own tables (migration 0007). Rules are versioned by inserting, never by
// updating; every change of rules or lists bumps `risk_generation` in the same transaction so that
// every process sees it and reloads.
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Database, SqlClient } from '../store/database.ts';
import type { RiskReason, RiskSubject, RiskVerdict } from './model.ts';
import { jsonRecords } from '../store/json-records.ts';

export type RuleMode = 'live' | 'shadow' | 'disabled';

export interface StoredRule {
  id: string;
  version: number;
  source: string;
  action: RiskVerdict;
  mode: RuleMode;
  position: number;
  description: string | null;
  createdAt: Date;
}

interface RuleRow {
  id: string;
  version: number;
  source: string;
  action: RiskVerdict;
  mode: RuleMode;
  position: number;
  description: string | null;
  created_at: Date;
}

const ruleOf = (row: RuleRow): StoredRule => ({
  id: row.id,
  version: row.version,
  source: row.source,
  action: row.action,
  mode: row.mode,
  position: row.position,
  description: row.description,
  createdAt: row.created_at,
});

const RULE_COLUMNS = 'id, version, source, action, mode, position, description, created_at';

async function bumpGeneration(tx: SqlClient): Promise<void> {
  await tx.query('UPDATE risk_generation SET generation = generation + 1');
}

export async function generation(db: SqlClient): Promise<bigint> {
  const { rows } = await db.query<{ generation: string }>('SELECT generation::text AS generation FROM risk_generation');
  return BigInt(rows[0]?.generation ?? '0');
}

/** The newest version of every rule, in evaluation order. */
export async function currentRules(db: SqlClient): Promise<StoredRule[]> {
  const { rows } = await db.query<RuleRow>(
    `SELECT DISTINCT ON (id) ${RULE_COLUMNS} FROM risk_rules ORDER BY id, version DESC`,
  );
  return rows.map(ruleOf).sort((left, right) => left.position - right.position || left.id.localeCompare(right.id));
}

export async function ruleVersions(db: SqlClient, id: string): Promise<StoredRule[]> {
  const { rows } = await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM risk_rules WHERE id = $1 ORDER BY version DESC LIMIT 100`, [id]);
  return rows.map(ruleOf);
}

/** Adds the next version of a rule (version 1 if new); `expectedVersion` guards against lost updates. */
export async function saveRule(
  db: Database,
  rule: Omit<StoredRule, 'version' | 'createdAt'>,
  expectedVersion: number | null,
  rulesMax: number,
): Promise<StoredRule | 'conflict' | 'limit'> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`risk_rule:${rule.id}`]);
    const { rows } = await tx.query<{ version: number }>('SELECT max(version) AS version FROM risk_rules WHERE id = $1', [rule.id]);
    const current = rows[0]?.version ?? null;
    if (expectedVersion !== null && current !== expectedVersion) return 'conflict';
    if (current === null) {
      // New rules are counted under one lock, so that two new rules at once cannot pass the limit.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['risk_rules:new']);
      const { rows: counted } = await tx.query<{ rules: number }>('SELECT count(DISTINCT id)::integer AS rules FROM risk_rules');
      if ((counted[0]?.rules ?? 0) >= rulesMax) return 'limit';
    }
    const inserted = await tx.query<RuleRow>(
      `INSERT INTO risk_rules (id, version, source, action, mode, position, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${RULE_COLUMNS}`,
      [rule.id, (current ?? 0) + 1, rule.source, rule.action, rule.mode, rule.position, rule.description],
    );
    await bumpGeneration(tx);
    return ruleOf(inserted.rows[0]!);
  });
}

/** Stores `rules` as version 1 each, only if the installation has no rule at all (several processes
 * may start at once: the lock makes one of them do it). Returns how many were stored. */
export async function seedRules(db: Database, rules: readonly { id: string; source: string; action: RiskVerdict; mode: RuleMode; description: string }[]): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['risk_rules:seed']);
    const { rows } = await tx.query('SELECT 1 FROM risk_rules LIMIT 1');
    if (rows.length > 0) return 0;
    await tx.query(
      `INSERT INTO risk_rules (id, version, source, action, mode, position, description)
       SELECT id, 1, source, action, mode, position, description
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, source text, action text, mode text, position integer, description text)`,
      [JSON.stringify(rules.map((rule, index) => ({ ...rule, position: (index + 1) * 10 })))],
    );
    await bumpGeneration(tx);
    return rules.length;
  });
}

export interface ListItem {
  list: string;
  value: string;
  note: string | null;
  createdAt: Date;
}

export async function allListItems(db: SqlClient, limit: number): Promise<ListItem[]> {
  const { rows } = await db.query<{ list: string; value: string; note: string | null; created_at: Date }>(
    'SELECT list, value, note, created_at FROM risk_list_items ORDER BY list, value LIMIT $1',
    [limit],
  );
  return rows.map((row) => ({ list: row.list, value: row.value, note: row.note, createdAt: row.created_at }));
}

export async function addListItem(db: Database, list: string, value: string, note: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO risk_list_items (list, value, note) VALUES ($1, $2, $3) ON CONFLICT (list, value) DO UPDATE SET note = EXCLUDED.note', [list, value, note]);
    await bumpGeneration(tx);
  });
}

export async function removeListItem(db: Database, list: string, value: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query('DELETE FROM risk_list_items WHERE list = $1 AND value = $2 RETURNING 1', [list, value]);
    await bumpGeneration(tx);
    return rows.length > 0;
  });
}

export interface StoredModel {
  version: number;
  model: unknown;
  metrics: Record<string, unknown>;
  active: boolean;
  createdAt: Date;
}

export async function insertModel(db: Database, model: unknown, metrics: Record<string, unknown>, activate: boolean): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('LOCK TABLE risk_models IN EXCLUSIVE MODE');
    const { rows } = await tx.query<{ version: number }>('SELECT coalesce(max(version), 0) + 1 AS version FROM risk_models');
    const version = rows[0]!.version;
    if (activate) await tx.query('UPDATE risk_models SET active = false WHERE active');
    await tx.query('INSERT INTO risk_models (version, model, metrics, active) VALUES ($1, $2, $3, $4)', [version, JSON.stringify(model), JSON.stringify(metrics), activate]);
    return version;
  });
}

export async function activateModel(db: Database, version: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query('SELECT 1 FROM risk_models WHERE version = $1', [version]);
    if (rows.length === 0) return false;
    await tx.query('UPDATE risk_models SET active = false WHERE active AND version <> $1', [version]);
    await tx.query('UPDATE risk_models SET active = true WHERE version = $1', [version]);
    return true;
  });
}

/** The newest 100 models, or only version `version`. */
export async function listModels(db: SqlClient, version?: number): Promise<Omit<StoredModel, 'model'>[]> {
  const { rows } = await db.query<{ version: number; metrics: Record<string, unknown>; active: boolean; created_at: Date }>(
    'SELECT version, metrics, active, created_at FROM risk_models WHERE ($1::integer IS NULL OR version = $1) ORDER BY version DESC LIMIT 100',
    [version ?? null],
  );
  return rows.map((row) => ({ version: row.version, metrics: row.metrics, active: row.active, createdAt: row.created_at }));
}

/** The active model's version and body, or null. */
export async function activeModel(db: SqlClient): Promise<{ version: number; model: unknown } | null> {
  const { rows } = await db.query<{ version: number; model: unknown }>('SELECT version, model FROM risk_models WHERE active');
  return rows[0] ?? null;
}

export async function activeModelVersion(db: SqlClient): Promise<number | null> {
  const { rows } = await db.query<{ version: number }>('SELECT version FROM risk_models WHERE active');
  return rows[0]?.version ?? null;
}

export type ReviewStatus = 'open' | 'claimed' | 'approved' | 'rejected';

export interface Review extends RiskSubject {
  id: string;
  decisionId: string;
  reasons: RiskReason[];
  status: ReviewStatus;
  claimedBy: string | null;
  claimedAt: Date | null;
  decidedAt: Date | null;
  note: string | null;
  version: number;
  createdAt: Date;
}

interface ReviewRow {
  id: string;
  seq: string;
  decision_id: string;
  merchant_id: string | null;
  livemode: boolean;
  subject_type: string;
  subject_id: string;
  buyer_id: string | null;
  amount: string;
  currency: string;
  reasons: RiskReason[];
  status: ReviewStatus;
  claimed_by: string | null;
  claimed_at: Date | null;
  decided_at: Date | null;
  note: string | null;
  version: number;
  created_at: Date;
}

const REVIEW_COLUMNS = 'id, seq, decision_id, merchant_id, livemode, subject_type, subject_id, buyer_id, amount::text AS amount, currency, reasons, status, claimed_by, claimed_at, decided_at, note, version, created_at';

const reviewOf = (row: ReviewRow): Review => ({
  id: row.id,
  decisionId: row.decision_id,
  merchantId: row.merchant_id,
  livemode: row.livemode,
  subjectType: row.subject_type,
  subjectId: row.subject_id,
  buyerId: row.buyer_id,
  amount: BigInt(row.amount),
  currency: row.currency,
  reasons: row.reasons,
  status: row.status,
  claimedBy: row.claimed_by,
  claimedAt: row.claimed_at,
  decidedAt: row.decided_at,
  note: row.note,
  version: row.version,
  createdAt: row.created_at,
});

export const RISK_REVIEWS_WRITER = 'risk_reviews';
export const RISK_LABELS_WRITER = 'risk_labels';

/** Unit writer: inserts new reviews, or applies a review's new state over the version it was read at. */
export async function writeReviews(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO risk_reviews (id, decision_id, merchant_id, livemode, subject_type, subject_id, buyer_id, amount, currency, reasons, status)
     SELECT id, decision_id, merchant_id, livemode, subject_type, subject_id, buyer_id, amount::bigint, currency, reasons, 'open'
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, decision_id text, merchant_id text, livemode boolean, subject_type text,
       subject_id text, buyer_id text, amount text, currency text, reasons jsonb, insert boolean)
     WHERE r.insert
     ON CONFLICT (subject_type, subject_id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
  const updates = (rows as { insert: boolean }[]).filter((row) => !row.insert);
  if (updates.length === 0) return;
  const { rows: updated } = await tx.query(
    `UPDATE risk_reviews AS review SET status = r.status, decided_at = now(), note = r.note, version = review.version + 1
     FROM ${jsonRecords('$1', 'r(id text, status text, note text, version integer)', updates.length)}
     WHERE review.id = r.id AND review.version = r.version RETURNING review.id`,
    [JSON.stringify(updates)],
  );
  if (updated.length !== updates.length) throw new ReviewChangedError();
}

export class ReviewChangedError extends Error {
  constructor() {
    super('the review changed since it was read');
  }
}

/** A fraud label for the model and back-tests, written in the deciding unit (a review, a dispute). */
export function riskLabelWrite(label: { subjectId: string; source: 'review' | 'dispute' | 'chargeback' | 'operator'; fraud: boolean; buyerId: string | null }): UnitWrite {
  return { writer: RISK_LABELS_WRITER, row: { subject_id: label.subjectId, source: label.source, fraud: label.fraud, buyer_id: label.buyerId } };
}

export async function writeLabels(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO risk_labels (subject_id, source, fraud, buyer_id)
     SELECT subject_id, source, fraud, buyer_id FROM jsonb_to_recordset($1::jsonb) AS r(subject_id text, source text, fraud boolean, buyer_id text)
     ON CONFLICT (subject_id, source) DO UPDATE SET fraud = EXCLUDED.fraud, created_at = now()`,
    [JSON.stringify(rows)],
  );
}

export async function getReview(db: SqlClient, id: string): Promise<Review | null> {
  const { rows } = await db.query<ReviewRow>(`SELECT ${REVIEW_COLUMNS} FROM risk_reviews WHERE id = $1`, [id]);
  return rows[0] ? reviewOf(rows[0]) : null;
}

export async function listReviews(db: SqlClient, options: { status?: ReviewStatus; limit: number; startingAfter?: string }): Promise<{ data: Review[]; hasMore: boolean }> {
  const { rows } = await db.query<ReviewRow>(
    `SELECT ${REVIEW_COLUMNS} FROM risk_reviews
     WHERE ($1::text IS NULL OR status = $1)
       AND ($2::text IS NULL OR seq < (SELECT seq FROM risk_reviews WHERE id = $2))
     ORDER BY seq DESC LIMIT $3`,
    [options.status ?? null, options.startingAfter ?? null, options.limit + 1],
  );
  return { data: rows.slice(0, options.limit).map(reviewOf), hasMore: rows.length > options.limit };
}

/** Claims an open review (or re-claims one claimed by the same person); null when it is not claimable. */
export async function claimReview(db: SqlClient, id: string, claimant: string): Promise<Review | null> {
  const { rows } = await db.query<ReviewRow>(
    `UPDATE risk_reviews SET status = 'claimed', claimed_by = $2, claimed_at = now(), version = version + 1
     WHERE id = $1 AND (status = 'open' OR (status = 'claimed' AND claimed_by = $2))
     RETURNING ${REVIEW_COLUMNS}`,
    [id, claimant],
  );
  return rows[0] ? reviewOf(rows[0]) : null;
}

export interface DecisionRecord {
  id: string;
  subjectId: string;
  decision: RiskVerdict;
  signals: Record<string, unknown>;
  fraud: boolean | null;
  createdAt: Date;
}

/** Recorded decisions with their signals and labels, oldest first, for back-tests and training.
 * A label recorded for the subject (a review's verdict, a dispute, an operator's) wins; without one, a
 * checkout payment whose step-up failed and that its buyer never confirmed afterwards (a passkey
 * without user verification, a wrong code, and no later success) counts as fraud: the checkout knows
 * it at once, long before a dispute would say so. It is a noisy label (an honest buyer may give up
 * after a failed fingerprint), as in the simulator's training. */
export async function decisionHistory(db: SqlClient, options: { since?: Date; limit: number }): Promise<DecisionRecord[]> {
  const { rows } = await db.query<{ id: string; subject_id: string; decision: RiskVerdict; signals: Record<string, unknown>; fraud: boolean | null; created_at: Date }>(
    `SELECT d.id, d.subject_id, d.decision, d.signals, coalesce(label.fraud, step_up.failed) AS fraud, d.created_at
     FROM risk_decisions d
     LEFT JOIN LATERAL (SELECT bool_or(fraud) AS fraud FROM risk_labels WHERE subject_id = d.subject_id) label ON true
     LEFT JOIN LATERAL (
       SELECT CASE WHEN bool_or(outcome = 'failed') AND NOT bool_or(outcome = 'succeeded') THEN true END AS failed
       FROM checkout_authentications WHERE payment_id = d.subject_id
     ) step_up ON d.subject_type = 'payment'
     WHERE d.signals IS NOT NULL AND ($1::timestamptz IS NULL OR d.created_at >= $1)
     ORDER BY d.seq LIMIT $2`,
    [options.since ?? null, options.limit],
  );
  return rows.map((row) => ({ id: row.id, subjectId: row.subject_id, decision: row.decision, signals: row.signals, fraud: row.fraud, createdAt: row.created_at }));
}

export interface StoredDecision {
  id: string;
  merchantId: string | null;
  livemode: boolean;
  subjectType: string;
  subjectId: string;
  action: string;
  decision: RiskVerdict;
  score: number | null;
  reasons: RiskReason[];
  buyerId: string | null;
  amount: bigint | null;
  currency: string | null;
  segment: string | null;
  signals: Record<string, unknown> | null;
  shadow: { ruleId: string; version: number; action: RiskVerdict }[];
  createdAt: Date;
}

/** One recorded decision with what it saw, for the operator (GET /v1/risk/decisions/:id). */
export async function getDecision(db: SqlClient, id: string): Promise<StoredDecision | null> {
  const { rows } = await db.query<{
    id: string; merchant_id: string | null; livemode: boolean; subject_type: string; subject_id: string; action: string;
    decision: RiskVerdict; score: number | null; reasons: RiskReason[]; buyer_id: string | null; amount: string | null;
    currency: string | null; segment: string | null; signals: Record<string, unknown> | null;
    shadow: StoredDecision['shadow']; created_at: Date;
  }>(
    `SELECT id, merchant_id, livemode, subject_type, subject_id, action, decision, score, reasons, buyer_id,
       amount::text AS amount, currency, segment, signals, shadow, created_at
     FROM risk_decisions WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id, merchantId: row.merchant_id, livemode: row.livemode, subjectType: row.subject_type, subjectId: row.subject_id,
    action: row.action, decision: row.decision, score: row.score, reasons: row.reasons, buyerId: row.buyer_id,
    amount: row.amount === null ? null : BigInt(row.amount), currency: row.currency, segment: row.segment,
    signals: row.signals, shadow: row.shadow ?? [], createdAt: row.created_at,
  };
}

export async function getListItem(db: SqlClient, list: string, value: string): Promise<ListItem | null> {
  const { rows } = await db.query<{ list: string; value: string; note: string | null; created_at: Date }>(
    'SELECT list, value, note, created_at FROM risk_list_items WHERE list = $1 AND value = $2',
    [list, value],
  );
  const row = rows[0];
  return row ? { list: row.list, value: row.value, note: row.note, createdAt: row.created_at } : null;
}
