// Loyalty rows: programs (replaced with a version), earn lots and clawback records (insert only).
import type { SqlClient } from '../store/database.ts';
import type { LoyaltyProgram, LoyaltyProgramInput } from './model.ts';

export const LOYALTY_EARNINGS_WRITER = 'loyalty_earnings';
export const LOYALTY_CLAWBACKS_WRITER = 'loyalty_clawbacks';

export interface EarningRow {
  transfer_id: string;
  account_id: string;
  merchant_id: string;
  livemode: boolean;
  buyer_id: string;
  payment_id: string;
  points: string;
  expiry_days: number | null;
}

export interface ClawbackRow {
  refund_id: string;
  payment_id: string;
  account_id: string;
  wanted: string;
  clawed: string;
}

interface ProgramRecord {
  merchant_id: string;
  livemode: boolean;
  per_amount: string;
  currency: string;
  points: string;
  bonus_categories: Record<string, number> | string;
  expiry_days: number | null;
  enabled: boolean;
  version: number;
  updated_at: Date | string;
}

const PROGRAM_COLUMNS = `merchant_id, livemode, per_amount::text, currency, points::text, bonus_categories, expiry_days, enabled, version, updated_at`;

function programOf(row: ProgramRecord): LoyaltyProgram {
  return {
    merchantId: row.merchant_id,
    livemode: row.livemode,
    perAmount: BigInt(row.per_amount),
    currency: row.currency,
    points: BigInt(row.points),
    bonusCategories: typeof row.bonus_categories === 'string' ? JSON.parse(row.bonus_categories) : row.bonus_categories,
    expiryDays: row.expiry_days,
    enabled: row.enabled,
    version: row.version,
    updatedAt: new Date(row.updated_at),
  };
}

export async function getProgram(db: SqlClient, merchantId: string, livemode: boolean): Promise<LoyaltyProgram | null> {
  const result = await db.query<ProgramRecord>(`SELECT ${PROGRAM_COLUMNS} FROM loyalty_programs WHERE merchant_id = $1 AND livemode = $2`, [merchantId, livemode]);
  return result.rows[0] ? programOf(result.rows[0]) : null;
}

export async function putProgram(db: SqlClient, merchantId: string, livemode: boolean, input: LoyaltyProgramInput): Promise<LoyaltyProgram> {
  const result = await db.query<ProgramRecord>(
    `INSERT INTO loyalty_programs (merchant_id, livemode, per_amount, currency, points, bonus_categories, expiry_days, enabled)
     VALUES ($1, $2, $3::bigint, $4, $5::bigint, $6::jsonb, $7, $8)
     ON CONFLICT (merchant_id, livemode) DO UPDATE SET
       per_amount = EXCLUDED.per_amount, currency = EXCLUDED.currency, points = EXCLUDED.points,
       bonus_categories = EXCLUDED.bonus_categories, expiry_days = EXCLUDED.expiry_days, enabled = EXCLUDED.enabled,
       version = loyalty_programs.version + 1, updated_at = now()
     RETURNING ${PROGRAM_COLUMNS}`,
    [merchantId, livemode, input.perAmount.toString(), input.currency, input.points.toString(), JSON.stringify(input.bonusCategories), input.expiryDays, input.enabled],
  );
  return programOf(result.rows[0]!);
}

/** Earn lots, written in the same group commit as the payment that earned them. */
export async function writeEarnings(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO loyalty_earnings (transfer_id, account_id, merchant_id, livemode, buyer_id, payment_id, points, earned_at, expires_at)
     SELECT transfer_id, account_id, merchant_id, livemode, buyer_id, payment_id, points::bigint, now(),
       CASE WHEN expiry_days IS NULL THEN NULL ELSE now() + make_interval(days => expiry_days) END
     FROM jsonb_to_recordset($1::jsonb) AS r(transfer_id uuid, account_id uuid, merchant_id text, livemode boolean,
       buyer_id text, payment_id text, points text, expiry_days integer)
     ORDER BY transfer_id
     ON CONFLICT (transfer_id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

export async function writeClawbacks(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO loyalty_clawbacks (refund_id, payment_id, account_id, wanted, clawed)
     SELECT refund_id, payment_id, account_id, wanted::bigint, clawed::bigint
     FROM jsonb_to_recordset($1::jsonb) AS r(refund_id text, payment_id text, account_id uuid, wanted text, clawed text)
     ORDER BY refund_id
     ON CONFLICT (refund_id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

/** The points a payment earned (0 when it earned none). */
export async function earnedBy(db: SqlClient, paymentId: string): Promise<bigint> {
  const result = await db.query<{ points: string }>(`SELECT coalesce(sum(points), 0)::text AS points FROM loyalty_earnings WHERE payment_id = $1`, [paymentId]);
  return BigInt(result.rows[0]!.points);
}

export async function lotsOf(db: SqlClient, accountId: string): Promise<Array<{ points: bigint; expiresAt: Date | null }>> {
  const result = await db.query<{ points: string; expires_at: Date | string | null }>(
    `SELECT points::text, expires_at FROM loyalty_earnings WHERE account_id = $1 ORDER BY expires_at ASC NULLS LAST, earned_at, transfer_id`,
    [accountId],
  );
  return result.rows.map((row) => ({ points: BigInt(row.points), expiresAt: row.expires_at === null ? null : new Date(row.expires_at) }));
}

/** Buyer points accounts whose expired lots add up to more than everything the account ever gave
 * (FIFO: every debit consumed the oldest lots first). Reads the ledger's balances, never writes them. */
export async function dueExpiries(db: SqlClient, now: Date, limit: number): Promise<Array<{ accountId: string; due: bigint }>> {
  const result = await db.query<{ account_id: string; due: string }>(
    `SELECT e.account_id, sum(e.points)::text AS due
     FROM loyalty_earnings e
     WHERE e.expires_at IS NOT NULL AND e.expires_at <= $1::timestamptz
     GROUP BY e.account_id
     HAVING sum(e.points) > (SELECT a.debits_posted + a.debits_pending FROM ledger_accounts a WHERE a.id = e.account_id)
     ORDER BY e.account_id
     LIMIT $2`,
    [now.toISOString(), limit],
  );
  return result.rows.map((row) => ({ accountId: row.account_id, due: BigInt(row.due) }));
}
