// SQL of payment methods and top-ups. A top-up's outcome is written by the `top_ups` unit writer inside
// the ledger's group commit (with the wallet credit, the risk decision and the events), each only over
// the version it was decided from.
import type { SqlClient } from '../store/database.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { PaymentMethod, TopUp } from './model.ts';
import { merchantPage } from '../store/pages.ts';
import { jsonRecords } from '../store/json-records.ts';

export const TOP_UPS_WRITER = 'top_ups';

interface PaymentMethodRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  customer_id: string;
  brand: PaymentMethod['brand'];
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  created_at: Date;
}

const METHOD_COLUMNS = 'id, merchant_id, livemode, customer_id, brand, last4, exp_month, exp_year, fingerprint, created_at';

function paymentMethodOf(row: PaymentMethodRow): PaymentMethod {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    customerId: row.customer_id,
    brand: row.brand,
    last4: row.last4,
    expMonth: row.exp_month,
    expYear: row.exp_year,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
  };
}

export async function insertPaymentMethod(db: SqlClient, method: Omit<PaymentMethod, 'createdAt'>): Promise<PaymentMethod> {
  await db.query(
    `INSERT INTO payment_methods (id, merchant_id, livemode, customer_id, brand, last4, exp_month, exp_year, fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
    [method.id, method.merchantId, method.livemode, method.customerId, method.brand, method.last4, method.expMonth, method.expYear, method.fingerprint],
  );
  return (await getPaymentMethod(db, method.id))!;
}

export async function getPaymentMethod(db: SqlClient, id: string): Promise<PaymentMethod | null> {
  const { rows } = await db.query<PaymentMethodRow>(`SELECT ${METHOD_COLUMNS} FROM payment_methods WHERE id = $1`, [id]);
  return rows[0] ? paymentMethodOf(rows[0]) : null;
}

export async function listPaymentMethods(
  db: SqlClient,
  scope: { merchantId: string; livemode: boolean },
  options: { customerId: string; limit: number; startingAfter?: string },
): Promise<{ data: PaymentMethod[]; hasMore: boolean }> {
  const page = await merchantPage<PaymentMethodRow>(db, {
    table: 'payment_methods',
    columns: METHOD_COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { customer_id: options.customerId },
  });
  return { data: page.rows.map(paymentMethodOf), hasMore: page.hasMore };
}

interface TopUpRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  customer_id: string;
  buyer_id: string;
  payment_method_id: string;
  amount: bigint;
  currency: string;
  status: TopUp['status'];
  processor_authorization_id: string | null;
  three_d_secure_url: string | null;
  failure_code: string | null;
  failure_message: string | null;
  risk_decision_id: string | null;
  metadata: Record<string, string> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const TOP_UP_COLUMNS = `id, merchant_id, livemode, customer_id, buyer_id, payment_method_id, amount, currency, status,
  processor_authorization_id, three_d_secure_url, failure_code, failure_message, risk_decision_id, metadata, version,
  created_at, updated_at`;

function topUpOf(row: TopUpRow): TopUp {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    customerId: row.customer_id,
    buyerId: row.buyer_id,
    paymentMethodId: row.payment_method_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    processorAuthorizationId: row.processor_authorization_id,
    threeDSecureUrl: row.three_d_secure_url,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    riskDecisionId: row.risk_decision_id,
    metadata: row.metadata,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Inserts a new top-up; a re-run request (same id from its Idempotency-Key) gets the stored one back. */
export async function insertTopUp(db: SqlClient, topUp: TopUp): Promise<TopUp> {
  await db.query(
    `INSERT INTO top_ups (id, merchant_id, livemode, customer_id, buyer_id, payment_method_id, amount, currency, status, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
    [
      topUp.id,
      topUp.merchantId,
      topUp.livemode,
      topUp.customerId,
      topUp.buyerId,
      topUp.paymentMethodId,
      topUp.amount.toString(),
      topUp.currency,
      topUp.status,
      topUp.metadata ? JSON.stringify(topUp.metadata) : null,
    ],
  );
  return (await getTopUp(db, topUp.id))!;
}

export async function getTopUp(db: SqlClient, id: string): Promise<TopUp | null> {
  const { rows } = await db.query<TopUpRow>(`SELECT ${TOP_UP_COLUMNS} FROM top_ups WHERE id = $1`, [id]);
  return rows[0] ? topUpOf(rows[0]) : null;
}

export async function listTopUps(
  db: SqlClient,
  scope: { merchantId: string; livemode: boolean },
  options: { limit: number; startingAfter?: string; customerId?: string; status?: string },
): Promise<{ data: TopUp[]; hasMore: boolean }> {
  const page = await merchantPage<TopUpRow>(db, {
    table: 'top_ups',
    columns: TOP_UP_COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { customer_id: options.customerId, status: options.status },
  });
  return { data: page.rows.map(topUpOf), hasMore: page.hasMore };
}

/** Top-ups still `processing` and untouched since before `before`: their request died between the
 * processor and our commit (a retry touches its top-up first: `claimProcessing`). */
export async function listStaleProcessing(db: SqlClient, before: Date, limit: number): Promise<TopUp[]> {
  const { rows } = await db.query<TopUpRow>(
    `SELECT ${TOP_UP_COLUMNS} FROM top_ups WHERE status = 'processing' AND updated_at < $1 ORDER BY updated_at, id LIMIT $2`,
    [before.toISOString(), limit],
  );
  return rows.map(topUpOf);
}

/** A retry takes its `processing` top-up over before it asks the processor anything: the version moves on
 * (so a reconciler that read the older one cannot commit over it) and `updated_at` is now (so the
 * reconciler leaves it alone). Null when the top-up changed meanwhile (the reconciler settled it). */
export async function claimProcessing(db: SqlClient, topUp: TopUp): Promise<TopUp | null> {
  const { rows } = await db.query<TopUpRow>(
    `UPDATE top_ups SET version = version + 1, updated_at = now()
     WHERE id = $1 AND version = $2 AND status = 'processing' RETURNING ${TOP_UP_COLUMNS}`,
    [topUp.id, topUp.version],
  );
  return rows[0] ? topUpOf(rows[0]) : null;
}

/** Thrown inside a group commit when a top-up changed after the change was decided; the unit fails alone. */
export class TopUpChangedError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a top-up changed after this change was decided');
  }
}

/** The unit-of-work write of a top-up's new state, applied only over `topUp.version`. */
export function topUpWrite(topUp: TopUp): UnitWrite {
  return {
    writer: TOP_UPS_WRITER,
    row: {
      id: topUp.id,
      expected_version: topUp.version,
      status: topUp.status,
      processor_authorization_id: topUp.processorAuthorizationId,
      three_d_secure_url: topUp.threeDSecureUrl,
      failure_code: topUp.failureCode,
      failure_message: topUp.failureMessage,
      risk_decision_id: topUp.riskDecisionId,
    },
  };
}

export async function writeTopUps(tx: SqlClient, rows: unknown[]): Promise<void> {
  const result = await tx.query(
    `UPDATE top_ups AS t SET status = r.status, processor_authorization_id = r.processor_authorization_id,
       three_d_secure_url = r.three_d_secure_url, failure_code = r.failure_code, failure_message = r.failure_message,
       risk_decision_id = r.risk_decision_id, version = t.version + 1, updated_at = now()
     FROM ${jsonRecords('$1', `r(id text, expected_version integer, status text,
       processor_authorization_id text, three_d_secure_url text, failure_code text, failure_message text,
       risk_decision_id text)`, rows.length)}
     WHERE t.id = r.id AND t.version = r.expected_version`,
    [JSON.stringify(rows)],
  );
  if (result.rowCount !== rows.length) throw new TopUpChangedError();
}
