// SQL of disputes. Every change of a dispute is written by the `disputes` unit writer inside the
// ledger's group commit, with the hold, post or void that moves its money: a new dispute is inserted
// once (and a payment has at most one), an existing one is updated only over the version it was
// decided from.
import type { SqlClient } from '../store/database.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Dispute } from './model.ts';
import { merchantPage } from '../store/pages.ts';
import { jsonRecords } from '../store/json-records.ts';

export const DISPUTES_WRITER = 'disputes';

/** Thrown inside a group commit when the dispute (or another dispute of the payment) was written by
 * another request after this change was decided; the unit fails alone and nothing of it is written. */
export class DisputeConflictError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a dispute changed after this change was decided');
  }
}

interface DisputeRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  payment_id: string;
  buyer_id: string;
  amount: bigint;
  currency: string;
  reason: Dispute['reason'];
  description: string | null;
  status: Dispute['status'];
  amount_held: bigint;
  amount_from_merchant: bigint;
  amount_from_platform: bigint;
  evidence: Dispute['evidence'];
  evidence_submitted_at: Date | null;
  closed_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, merchant_id, livemode, payment_id, buyer_id, amount, currency, reason, description, status,
  amount_held, amount_from_merchant, amount_from_platform, evidence, evidence_submitted_at, closed_at, version,
  created_at, updated_at`;

function disputeOf(row: DisputeRow): Dispute {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    paymentId: row.payment_id,
    buyerId: row.buyer_id,
    amount: row.amount,
    currency: row.currency,
    reason: row.reason,
    description: row.description,
    status: row.status,
    amountHeld: row.amount_held,
    amountFromMerchant: row.amount_from_merchant,
    amountFromPlatform: row.amount_from_platform,
    evidence: row.evidence,
    evidenceSubmittedAt: row.evidence_submitted_at,
    closedAt: row.closed_at,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getDispute(db: SqlClient, id: string): Promise<Dispute | null> {
  const { rows } = await db.query<DisputeRow>(`SELECT ${COLUMNS} FROM disputes WHERE id = $1`, [id]);
  return rows[0] ? disputeOf(rows[0]) : null;
}

export async function getDisputeOfPayment(db: SqlClient, paymentId: string): Promise<Dispute | null> {
  const { rows } = await db.query<DisputeRow>(`SELECT ${COLUMNS} FROM disputes WHERE payment_id = $1`, [paymentId]);
  return rows[0] ? disputeOf(rows[0]) : null;
}

export async function listDisputes(
  db: SqlClient,
  scope: { merchantId: string; livemode: boolean },
  options: { limit: number; startingAfter?: string; paymentId?: string; status?: string },
): Promise<{ data: Dispute[]; hasMore: boolean }> {
  const page = await merchantPage<DisputeRow>(db, {
    table: 'disputes',
    columns: COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { payment_id: options.paymentId, status: options.status },
  });
  return { data: page.rows.map(disputeOf), hasMore: page.hasMore };
}

/** Disputes of every merchant in one mode, newest first (the operator's queue), optionally of one
 * merchant or in one status. */
export async function listAllDisputes(
  db: SqlClient,
  options: { livemode: boolean; merchantId?: string; status?: string; limit: number; startingAfter?: string },
): Promise<{ data: Dispute[]; hasMore: boolean }> {
  const { rows } = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes
     WHERE livemode = $1 AND ($2::text IS NULL OR merchant_id = $2) AND ($3::text IS NULL OR status = $3)
       AND ($4::text IS NULL OR seq < (SELECT seq FROM disputes WHERE id = $4 AND livemode = $1))
     ORDER BY seq DESC LIMIT $5`,
    [options.livemode, options.merchantId ?? null, options.status ?? null, options.startingAfter ?? null, options.limit + 1],
  );
  return { data: rows.slice(0, options.limit).map(disputeOf), hasMore: rows.length > options.limit };
}

/** Whether the buyer has a dispute open, or one the merchant won (decided against the buyer) since `since`. */
export async function buyerHasStrikes(db: SqlClient, buyerId: string, since: Date): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM disputes
     WHERE buyer_id = $1 AND (status IN ('needs_response', 'under_review') OR (status = 'won' AND closed_at > $2))
     LIMIT 1`,
    [buyerId, since.toISOString()],
  );
  return rows.length > 0;
}

/** The unit-of-work write of a dispute: an insert when `expectedVersion` is null, otherwise an update
 * applied only over that version. */
export function disputeWrite(dispute: Dispute, expectedVersion: number | null): UnitWrite {
  return {
    writer: DISPUTES_WRITER,
    row: {
      id: dispute.id,
      expected_version: expectedVersion,
      merchant_id: dispute.merchantId,
      livemode: dispute.livemode,
      payment_id: dispute.paymentId,
      buyer_id: dispute.buyerId,
      amount: dispute.amount.toString(),
      currency: dispute.currency,
      reason: dispute.reason,
      description: dispute.description,
      status: dispute.status,
      amount_held: dispute.amountHeld.toString(),
      amount_from_merchant: dispute.amountFromMerchant.toString(),
      amount_from_platform: dispute.amountFromPlatform.toString(),
      evidence: dispute.evidence,
      evidence_submitted_at: dispute.evidenceSubmittedAt?.toISOString() ?? null,
      closed_at: dispute.closedAt?.toISOString() ?? null,
    },
  };
}

const RECORD_COLUMNS = `r(id text, expected_version integer, merchant_id text, livemode boolean, payment_id text,
  buyer_id text, amount bigint, currency text, reason text, description text, status text, amount_held bigint,
  amount_from_merchant bigint, amount_from_platform bigint, evidence jsonb, evidence_submitted_at timestamptz,
  closed_at timestamptz)`;

export async function writeDisputes(tx: SqlClient, rows: unknown[]): Promise<void> {
  const inserts = rows.filter((row) => (row as { expected_version: number | null }).expected_version === null);
  const updates = rows.filter((row) => (row as { expected_version: number | null }).expected_version !== null);
  if (inserts.length > 0) {
    // A second dispute of the same payment meets the unique payment_id and is not inserted.
    const result = await tx.query(
      `INSERT INTO disputes (id, merchant_id, livemode, payment_id, buyer_id, amount, currency, reason,
         description, status, amount_held, amount_from_merchant, amount_from_platform, evidence,
         evidence_submitted_at, closed_at)
       SELECT id, merchant_id, livemode, payment_id, buyer_id, amount, currency, reason, description, status,
         amount_held, amount_from_merchant, amount_from_platform, evidence, evidence_submitted_at, closed_at
       FROM jsonb_to_recordset($1::jsonb) AS ${RECORD_COLUMNS}
       ORDER BY id
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(inserts)],
    );
    if (result.rowCount !== inserts.length) throw new DisputeConflictError();
  }
  if (updates.length > 0) {
    const result = await tx.query(
      `UPDATE disputes AS d SET status = r.status, amount_held = r.amount_held,
         amount_from_merchant = r.amount_from_merchant, amount_from_platform = r.amount_from_platform,
         evidence = r.evidence, evidence_submitted_at = r.evidence_submitted_at, closed_at = r.closed_at,
         version = d.version + 1, updated_at = now()
       FROM ${jsonRecords('$1', RECORD_COLUMNS, updates.length)}
       WHERE d.id = r.id AND d.version = r.expected_version`,
      [JSON.stringify(updates)],
    );
    if (result.rowCount !== updates.length) throw new DisputeConflictError();
  }
}
