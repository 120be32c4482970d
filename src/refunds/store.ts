// SQL of refunds. Every change of a refund is written by the `refunds` unit writer inside the ledger's
// group commit, together with the transfers that move its money: a new refund is inserted once, an
// existing one is updated only over the version it was decided from.
import type { SqlClient } from '../store/database.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Refund } from './model.ts';
import { merchantPage } from '../store/pages.ts';
import { jsonRecords } from '../store/json-records.ts';

export const REFUNDS_WRITER = 'refunds';

/** Thrown inside a group commit when a refund was changed (or created) by another request after this
 * change was decided; the unit fails alone and nothing of it is written. */
export class RefundConflictError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a refund changed after this change was decided');
  }
}

interface RefundRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  payment_id: string;
  buyer_id: string;
  amount: bigint;
  currency: string;
  fee_reversed: bigint;
  reason: Refund['reason'];
  description: string | null;
  status: Refund['status'];
  initiated_by: Refund['initiatedBy'];
  automatic: boolean;
  pending_reason: Refund['pendingReason'];
  failure_reason: Refund['failureReason'];
  cancellation_reason: string | null;
  risk_decision_id: string | null;
  metadata: Record<string, string> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, merchant_id, livemode, payment_id, buyer_id, amount, currency, fee_reversed, reason,
  description, status, initiated_by, automatic, pending_reason, failure_reason, cancellation_reason,
  risk_decision_id, metadata, version, created_at, updated_at`;

function refundOf(row: RefundRow): Refund {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    paymentId: row.payment_id,
    buyerId: row.buyer_id,
    amount: row.amount,
    currency: row.currency,
    feeReversed: row.fee_reversed,
    reason: row.reason,
    description: row.description,
    status: row.status,
    initiatedBy: row.initiated_by,
    automatic: row.automatic,
    pendingReason: row.pending_reason,
    failureReason: row.failure_reason,
    cancellationReason: row.cancellation_reason,
    riskDecisionId: row.risk_decision_id,
    metadata: row.metadata,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getRefund(db: SqlClient, id: string): Promise<Refund | null> {
  const { rows } = await db.query<RefundRow>(`SELECT ${COLUMNS} FROM refunds WHERE id = $1`, [id]);
  return rows[0] ? refundOf(rows[0]) : null;
}

export async function listRefunds(
  db: SqlClient,
  scope: { merchantId: string; livemode: boolean },
  options: { limit: number; startingAfter?: string; paymentId?: string; status?: string },
): Promise<{ data: Refund[]; hasMore: boolean }> {
  const page = await merchantPage<RefundRow>(db, {
    table: 'refunds',
    columns: COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { payment_id: options.paymentId, status: options.status },
  });
  return { data: page.rows.map(refundOf), hasMore: page.hasMore };
}

/** What the buyer's requests still waiting for the merchant ask for, on one payment. */
export async function pendingAmountOf(db: SqlClient, paymentId: string): Promise<bigint> {
  const { rows } = await db.query<{ total: bigint | null }>(
    `SELECT sum(amount)::bigint AS total FROM refunds WHERE payment_id = $1 AND status = 'pending'`,
    [paymentId],
  );
  return rows[0]?.total ?? 0n;
}

/** How many automatic refunds the buyer received since `since` (at any merchant). */
export async function countAutomaticSince(db: SqlClient, buyerId: string, since: Date): Promise<number> {
  const { rows } = await db.query<{ count: bigint }>(
    `SELECT count(*)::bigint AS count FROM refunds
     WHERE buyer_id = $1 AND automatic AND status = 'succeeded' AND created_at > $2`,
    [buyerId, since.toISOString()],
  );
  return Number(rows[0]?.count ?? 0n);
}

export const AUTOMATIC_REFUNDS_GUARD_WRITER = 'refund_automatic_guard';

/** Thrown inside a group commit when a buyer's automatic refunds would pass the policy's limit (concurrent
 * requests each counted fewer before them): the unit fails alone and is decided again, then waits for
 * the merchant (`buyer_standing`). */
export class AutomaticRefundLimitError extends Error {
  readonly code = 'concurrent_modification';
  constructor(buyerId: string) {
    super(`buyer ${buyerId} would receive more automatic refunds than the policy allows`);
  }
}

/** The automatic refund limit, settled in the commit (a writer run after the others, `last`): per buyer,
 * in buyer order, a transaction-scoped advisory lock makes one buyer's automatic refunds commit one
 * transaction at a time, so the count (this transaction's refunds included, other processes' committed
 * ones too) is never read by two at once. Rows: `{ buyer_id, since, max }`. */
export const guardAutomaticRefunds = Object.assign(
  async function guardAutomaticRefunds(tx: SqlClient, rows: unknown[]): Promise<void> {
    const byBuyer = new Map<string, { since: string; max: number }>();
    for (const row of rows as Array<{ buyer_id: string; since: string; max: number }>) byBuyer.set(row.buyer_id, row);
    for (const buyerId of [...byBuyer.keys()].sort()) {
      const { since, max } = byBuyer.get(buyerId)!;
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`refund_automatic:${buyerId}`]);
      if ((await countAutomaticSince(tx, buyerId, new Date(since))) > max) throw new AutomaticRefundLimitError(buyerId);
    }
  },
  { last: true },
);

/** The unit-of-work write of a refund: an insert when `expectedVersion` is null, otherwise an update
 * applied only over that version. */
export function refundWrite(refund: Refund, expectedVersion: number | null): UnitWrite {
  return {
    writer: REFUNDS_WRITER,
    row: {
      id: refund.id,
      expected_version: expectedVersion,
      merchant_id: refund.merchantId,
      livemode: refund.livemode,
      payment_id: refund.paymentId,
      buyer_id: refund.buyerId,
      amount: refund.amount.toString(),
      currency: refund.currency,
      fee_reversed: refund.feeReversed.toString(),
      reason: refund.reason,
      description: refund.description,
      status: refund.status,
      initiated_by: refund.initiatedBy,
      automatic: refund.automatic,
      pending_reason: refund.pendingReason,
      failure_reason: refund.failureReason,
      cancellation_reason: refund.cancellationReason,
      risk_decision_id: refund.riskDecisionId,
      metadata: refund.metadata,
      // The time the API answered with, not the commit's (a group commit may start a second later).
      created_at: refund.createdAt.toISOString(),
    },
  };
}

const RECORD_COLUMNS = `r(id text, expected_version integer, merchant_id text, livemode boolean, payment_id text,
  buyer_id text, amount bigint, currency text, fee_reversed bigint, reason text, description text, status text,
  initiated_by text, automatic boolean, pending_reason text, failure_reason text, cancellation_reason text,
  risk_decision_id text, metadata jsonb, created_at timestamptz)`;

export async function writeRefunds(tx: SqlClient, rows: unknown[]): Promise<void> {
  const inserts = rows.filter((row) => (row as { expected_version: number | null }).expected_version === null);
  const updates = rows.filter((row) => (row as { expected_version: number | null }).expected_version !== null);
  if (inserts.length > 0) {
    const result = await tx.query(
      `INSERT INTO refunds (id, merchant_id, livemode, payment_id, buyer_id, amount, currency, fee_reversed,
         reason, description, status, initiated_by, automatic, pending_reason, failure_reason,
         cancellation_reason, risk_decision_id, metadata, created_at)
       SELECT id, merchant_id, livemode, payment_id, buyer_id, amount, currency, fee_reversed, reason,
         description, status, initiated_by, automatic, pending_reason, failure_reason, cancellation_reason,
         risk_decision_id, metadata, created_at
       FROM jsonb_to_recordset($1::jsonb) AS ${RECORD_COLUMNS}
       ORDER BY id
       ON CONFLICT (id) DO NOTHING`,
      [JSON.stringify(inserts)],
    );
    if (result.rowCount !== inserts.length) throw new RefundConflictError();
  }
  if (updates.length > 0) {
    const result = await tx.query(
      `UPDATE refunds AS f SET fee_reversed = r.fee_reversed, status = r.status, automatic = r.automatic,
         pending_reason = r.pending_reason, failure_reason = r.failure_reason,
         cancellation_reason = r.cancellation_reason, risk_decision_id = r.risk_decision_id,
         version = f.version + 1, updated_at = now()
       FROM ${jsonRecords('$1', RECORD_COLUMNS, updates.length)}
       WHERE f.id = r.id AND f.version = r.expected_version`,
      [JSON.stringify(updates)],
    );
    if (result.rowCount !== updates.length) throw new RefundConflictError();
  }
}
