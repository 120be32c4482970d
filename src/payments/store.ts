// SQL of payments. Changes that move money are written by the `payments` unit writer inside the
// ledger's group commit, each only over the version it was decided from.
import type { SqlClient } from '../store/database.ts';
import { statementWriter, type UnitWrite, type WriterStatement } from '../ledger/unit-of-work.ts';
import type { LineItem, Payment } from './model.ts';
import { merchantPage } from '../store/pages.ts';
import { jsonRecords } from '../store/json-records.ts';

export const PAYMENTS_WRITER = 'payments';

interface PaymentRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  customer_id: string | null;
  buyer_id: string | null;
  amount: bigint;
  currency: string;
  description: string | null;
  line_items: Array<{ description: string; category: LineItem['category']; unit_amount: string; quantity: number }>;
  capture_method: Payment['captureMethod'];
  status: Payment['status'];
  amount_captured: bigint;
  amount_refunded: bigint;
  points_redeemed: bigint;
  amount_paid_in_points: bigint;
  fee_amount: bigint;
  capture_before: Date | null;
  risk_decision_id: string | null;
  last_error: Payment['lastError'];
  cancellation_reason: string | null;
  metadata: Record<string, string> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, merchant_id, livemode, customer_id, buyer_id, amount, currency, description, line_items,
  capture_method, status, amount_captured, amount_refunded, points_redeemed, amount_paid_in_points, fee_amount, capture_before, risk_decision_id,
  last_error, cancellation_reason, metadata, version, created_at, updated_at`;

function paymentOf(row: PaymentRow): Payment {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    customerId: row.customer_id,
    buyerId: row.buyer_id,
    amount: row.amount,
    currency: row.currency,
    description: row.description,
    lineItems: row.line_items.map((item) => ({
      description: item.description,
      category: item.category,
      unitAmount: BigInt(item.unit_amount),
      quantity: item.quantity,
    })),
    captureMethod: row.capture_method,
    status: row.status,
    amountCaptured: row.amount_captured,
    amountRefunded: row.amount_refunded,
    pointsRedeemed: BigInt(row.points_redeemed),
    amountPaidInPoints: BigInt(row.amount_paid_in_points),
    feeAmount: row.fee_amount,
    captureBefore: row.capture_before,
    riskDecisionId: row.risk_decision_id,
    lastError: row.last_error,
    cancellationReason: row.cancellation_reason,
    metadata: row.metadata,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function insertColumns(payment: Payment) {
  return {
    id: payment.id,
    merchant_id: payment.merchantId,
    livemode: payment.livemode,
    customer_id: payment.customerId,
    buyer_id: payment.buyerId,
    amount: payment.amount.toString(),
    currency: payment.currency,
    description: payment.description,
    line_items: payment.lineItems.map((item) => ({
      description: item.description,
      category: item.category,
      unit_amount: item.unitAmount.toString(),
      quantity: item.quantity,
    })),
    capture_method: payment.captureMethod,
    metadata: payment.metadata,
    // The time the API answered with, not the commit's: a group commit may start a second later.
    created_at: payment.createdAt.toISOString(),
  };
}

const INSERT_RECORD = `id text, merchant_id text, livemode boolean, customer_id text, buyer_id text, amount bigint,
  currency text, description text, line_items jsonb, capture_method text, metadata jsonb, status text,
  amount_captured bigint, amount_refunded bigint, points_redeemed bigint, amount_paid_in_points bigint, fee_amount bigint, capture_before timestamptz,
  risk_decision_id text, last_error jsonb, cancellation_reason text, created_at timestamptz`;

const INSERT_FIELDS = `id, merchant_id, livemode, customer_id, buyer_id, amount, currency, description, line_items,
  capture_method, metadata, status, amount_captured, amount_refunded, points_redeemed, amount_paid_in_points, fee_amount, capture_before,
  risk_decision_id, last_error, cancellation_reason, created_at`;

export async function insertPayment(db: SqlClient, payment: Payment): Promise<Payment> {
  await db.query(
    `INSERT INTO payments (${INSERT_FIELDS})
     SELECT ${INSERT_FIELDS} FROM jsonb_to_recordset($1::jsonb) AS r(${INSERT_RECORD})
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify([{ ...stateColumns(payment), ...insertColumns(payment) }])],
  );
  return (await getPayment(db, payment.id))!;
}

export async function getPayment(db: SqlClient, id: string): Promise<Payment | null> {
  const { rows } = await db.query<PaymentRow>(`SELECT ${COLUMNS} FROM payments WHERE id = $1`, [id]);
  return rows[0] ? paymentOf(rows[0]) : null;
}

export async function listPayments(
  db: SqlClient,
  scope: { merchantId: string; livemode: boolean },
  options: { limit: number; startingAfter?: string; customerId?: string; status?: string },
): Promise<{ data: Payment[]; hasMore: boolean }> {
  const page = await merchantPage<PaymentRow>(db, {
    table: 'payments',
    columns: COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { customer_id: options.customerId, status: options.status },
  });
  return { data: page.rows.map(paymentOf), hasMore: page.hasMore };
}

/** Payments holding funds past their capture deadline, for the expiry sweep. */
export async function listCaptureOverdue(db: SqlClient, limit: number): Promise<Payment[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT ${COLUMNS} FROM payments WHERE status = 'requires_capture' AND capture_before < now()
     ORDER BY capture_before LIMIT $1`,
    [limit],
  );
  return rows.map(paymentOf);
}

/** Thrown inside a group commit when a payment changed after the change was decided; the unit fails alone. */
export class ConcurrentModificationError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a payment changed after this change was decided');
  }
}

function stateColumns(payment: Payment) {
  return {
    status: payment.status,
    amount_captured: payment.amountCaptured.toString(),
    amount_refunded: payment.amountRefunded.toString(),
    points_redeemed: payment.pointsRedeemed.toString(),
    amount_paid_in_points: payment.amountPaidInPoints.toString(),
    fee_amount: payment.feeAmount.toString(),
    capture_before: payment.captureBefore?.toISOString() ?? null,
    risk_decision_id: payment.riskDecisionId,
    last_error: payment.lastError,
    cancellation_reason: payment.cancellationReason,
  };
}

/** The unit-of-work write of a payment's new state, applied only over `payment.version`; with `inserted`,
 * the payment is new and is inserted in that state (create and confirm in one group commit). */
export function paymentWrite(payment: Payment, options: { inserted?: boolean } = {}): UnitWrite {
  const row = options.inserted
    ? { inserted: true, ...insertColumns(payment), ...stateColumns(payment) }
    : { id: payment.id, expected_version: payment.version, customer_id: payment.customerId, buyer_id: payment.buyerId, ...stateColumns(payment) };
  return { writer: PAYMENTS_WRITER, row };
}

/** The payments writer's statements: the batch's new payments inserted, the others updated over the
 * version they were decided from; either touching fewer rows than asked is a concurrent change. */
function paymentStatements(rows: unknown[], first: number): WriterStatement[] {
  const inserted = rows.filter((row) => (row as { inserted?: boolean }).inserted === true);
  const updated = rows.filter((row) => (row as { inserted?: boolean }).inserted !== true);
  const statements: WriterStatement[] = [];
  const mismatch = () => new ConcurrentModificationError();
  if (inserted.length > 0) {
    statements.push({
      sql: `INSERT INTO payments (${INSERT_FIELDS})
       SELECT ${INSERT_FIELDS} FROM jsonb_to_recordset($${first}::jsonb) AS r(${INSERT_RECORD})
       ON CONFLICT (id) DO NOTHING RETURNING 1`,
      params: [JSON.stringify(inserted)],
      expectedRows: inserted.length,
      mismatch,
    });
  }
  if (updated.length > 0) {
    statements.push({
      sql: `UPDATE payments AS p SET customer_id = r.customer_id, buyer_id = r.buyer_id, status = r.status, amount_captured = r.amount_captured,
       amount_refunded = r.amount_refunded, points_redeemed = r.points_redeemed, amount_paid_in_points = r.amount_paid_in_points,
       fee_amount = r.fee_amount, capture_before = r.capture_before,
       risk_decision_id = r.risk_decision_id, last_error = r.last_error,
       cancellation_reason = r.cancellation_reason, version = p.version + 1, updated_at = now()
     FROM ${jsonRecords(`$${first + statements.length}`, `r(id text, expected_version integer, customer_id text, buyer_id text, status text,
       amount_captured bigint, amount_refunded bigint, points_redeemed bigint, amount_paid_in_points bigint, fee_amount bigint, capture_before timestamptz,
       risk_decision_id text, last_error jsonb, cancellation_reason text)`, updated.length)}
     WHERE p.id = r.id AND p.version = r.expected_version RETURNING 1`,
      params: [JSON.stringify(updated)],
      expectedRows: updated.length,
      mismatch,
    });
  }
  return statements;
}

export const writePayments = statementWriter(paymentStatements);
