// Loyalty rows: programs (replaced with a version), earn lots and clawback records (insert only).
import type { SqlClient } from '../store/database.ts';
import { LOYALTY_TRANSFER_CODES, type LoyaltyProgram, type LoyaltyProgramInput, type RedemptionTerms } from './model.ts';
import type { Badge, BadgeCode } from './badges.ts';
import { jsonRecords } from '../store/json-records.ts';

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
  /** Days the points stay held (0: spendable at once). */
  hold_days: number;
  kind: 'earn' | 'return';
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
  hold_days: number;
  redemption: StoredRedemption | string | null;
  enabled: boolean;
  version: number;
  updated_at: Date | string;
}

interface StoredRedemption {
  value_minor_per_point: Record<string, string>;
  minimum_points: string;
  max_share_percent: number;
}

const PROGRAM_COLUMNS = `merchant_id, livemode, per_amount::text, currency, points::text, bonus_categories, expiry_days, hold_days, redemption, enabled, version, updated_at`;

function redemptionOf(stored: StoredRedemption | string | null): RedemptionTerms | null {
  if (stored === null) return null;
  const terms: StoredRedemption = typeof stored === 'string' ? JSON.parse(stored) : stored;
  const valuePerPoint: Record<string, bigint> = {};
  for (const [currency, value] of Object.entries(terms.value_minor_per_point)) valuePerPoint[currency] = BigInt(value);
  return { valuePerPoint, minimumPoints: BigInt(terms.minimum_points), maxSharePercent: terms.max_share_percent };
}

function storedRedemption(terms: RedemptionTerms | null): string | null {
  if (terms === null) return null;
  const values: Record<string, string> = {};
  for (const [currency, value] of Object.entries(terms.valuePerPoint)) values[currency] = value.toString();
  return JSON.stringify({ value_minor_per_point: values, minimum_points: terms.minimumPoints.toString(), max_share_percent: terms.maxSharePercent });
}

function programOf(row: ProgramRecord): LoyaltyProgram {
  return {
    merchantId: row.merchant_id,
    livemode: row.livemode,
    perAmount: BigInt(row.per_amount),
    currency: row.currency,
    points: BigInt(row.points),
    bonusCategories: typeof row.bonus_categories === 'string' ? JSON.parse(row.bonus_categories) : row.bonus_categories,
    expiryDays: row.expiry_days,
    holdDays: row.hold_days,
    redemption: redemptionOf(row.redemption),
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
    `INSERT INTO loyalty_programs (merchant_id, livemode, per_amount, currency, points, bonus_categories, expiry_days, enabled, hold_days, redemption)
     VALUES ($1, $2, $3::bigint, $4, $5::bigint, $6::jsonb, $7, $8, $9, $10::jsonb)
     ON CONFLICT (merchant_id, livemode) DO UPDATE SET
       per_amount = EXCLUDED.per_amount, currency = EXCLUDED.currency, points = EXCLUDED.points,
       bonus_categories = EXCLUDED.bonus_categories, expiry_days = EXCLUDED.expiry_days, enabled = EXCLUDED.enabled,
       hold_days = EXCLUDED.hold_days, redemption = EXCLUDED.redemption,
       version = loyalty_programs.version + 1, updated_at = now()
     RETURNING ${PROGRAM_COLUMNS}`,
    [merchantId, livemode, input.perAmount.toString(), input.currency, input.points.toString(), JSON.stringify(input.bonusCategories), input.expiryDays, input.enabled, input.holdDays, storedRedemption(input.redemption)],
  );
  return programOf(result.rows[0]!);
}

/** Earn lots, written in the same group commit as the payment that earned them. */
export async function writeEarnings(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO loyalty_earnings (transfer_id, account_id, merchant_id, livemode, buyer_id, payment_id, points, earned_at, expires_at, kind, available_at)
     SELECT transfer_id, account_id, merchant_id, livemode, buyer_id, payment_id, points::bigint, now(),
       CASE WHEN expiry_days IS NULL THEN NULL ELSE now() + make_interval(days => expiry_days) END,
       kind, CASE WHEN hold_days > 0 THEN now() + make_interval(days => hold_days) ELSE NULL END
     FROM jsonb_to_recordset($1::jsonb) AS r(transfer_id uuid, account_id uuid, merchant_id text, livemode boolean,
       buyer_id text, payment_id text, points text, expiry_days integer, kind text, hold_days integer)
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

/** In one round trip, what a payment's claw-backs and returns are decided from: the points it earned
 * and the spent points refunds already gave back (its lots), what earlier claw-backs of it wanted
 * (`loyalty_clawbacks`), the amount of its lost dispute (a read of `disputes`: a lost dispute is not
 * counted in the payment's `amount_refunded`, src/refunds/service.ts), and how many of its earned points
 * expiry transfers already gave back to the issuance account.
 *
 * That last part follows the expiry worker's FIFO: the account's lots laid end to end (oldest expiry
 * first, as `lotsOf`), the earn lot is [a, b); an expiry transfer expired through `t` gave back the
 * stretch [due − amount, due), where `due` is the points of the lots expired by `t` (lots are insert
 * only, and a lot written after `t` expires after it, so `due` is what the worker computed; see
 * `dueExpiries`). A read of `ledger_transfers` (the account's expiry debits), never a write. */
export async function takenBackState(db: SqlClient, paymentId: string): Promise<{ earned: bigint; returned: bigint; clawbackWanted: bigint; lostDispute: bigint; expired: bigint }> {
  const result = await db.query<{ earned: string; returned: string; wanted: string; lost: string; expired: string }>(
    `WITH lot AS (
       SELECT account_id, transfer_id, expires_at FROM loyalty_earnings WHERE payment_id = $1 AND kind = 'earn' AND expires_at IS NOT NULL LIMIT 1
     ), laid AS (
       SELECT e.transfer_id, e.points, sum(e.points) OVER (ORDER BY e.expires_at ASC NULLS LAST, e.earned_at, e.transfer_id) AS upto
       FROM loyalty_earnings e WHERE e.account_id = (SELECT account_id FROM lot)
     ), span AS (
       SELECT laid.upto - laid.points AS a, laid.upto AS b FROM laid WHERE laid.transfer_id = (SELECT transfer_id FROM lot)
     ), expiries AS (
       SELECT t.amount,
         (SELECT coalesce(sum(l.points), 0) FROM loyalty_earnings l
            WHERE l.account_id = t.debit_account_id AND l.expires_at <= (t.metadata->>'expired_through')::timestamptz) AS due
       FROM ledger_transfers t WHERE t.debit_account_id = (SELECT account_id FROM lot) AND t.code = $2
     )
     SELECT
       (SELECT coalesce(sum(points), 0) FROM loyalty_earnings WHERE payment_id = $1 AND kind = 'earn')::text AS earned,
       (SELECT coalesce(sum(points), 0) FROM loyalty_earnings WHERE payment_id = $1 AND kind = 'return')::text AS returned,
       (SELECT coalesce(sum(wanted), 0) FROM loyalty_clawbacks WHERE payment_id = $1)::text AS wanted,
       (SELECT coalesce(sum(amount), 0) FROM disputes WHERE payment_id = $1 AND status = 'lost')::text AS lost,
       (SELECT coalesce(sum(greatest(0, least(span.b, x.due) - greatest(span.a, x.due - x.amount))), 0) FROM span CROSS JOIN expiries x)::text AS expired`,
    [paymentId, LOYALTY_TRANSFER_CODES.expiry],
  );
  const row = result.rows[0]!;
  return { earned: BigInt(row.earned), returned: BigInt(row.returned), clawbackWanted: BigInt(row.wanted), lostDispute: BigInt(row.lost), expired: BigInt(row.expired) };
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
     HAVING sum(e.points) > (SELECT a.debits_posted + a.debits_pending FROM ledger_balances a WHERE a.id = e.account_id)
     ORDER BY e.account_id
     LIMIT $2`,
    [now.toISOString(), limit],
  );
  return result.rows.map((row) => ({ accountId: row.account_id, due: BigInt(row.due) }));
}

// Badges (src/loyalty/badges.ts).

interface BadgeRecord {
  id: string;
  buyer_id: string;
  merchant_id: string;
  livemode: boolean;
  code: BadgeCode;
  payment_id: string;
  earned_at: Date | string;
  revoked_at: Date | string | null;
}

const BADGE_COLUMNS = 'id, buyer_id, merchant_id, livemode, code, payment_id, earned_at, revoked_at';

function badgeOf(row: BadgeRecord): Badge {
  return {
    id: row.id,
    buyerId: row.buyer_id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    code: row.code,
    paymentId: row.payment_id,
    earnedAt: new Date(row.earned_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}

export async function writeBadges(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO loyalty_badges (id, buyer_id, merchant_id, livemode, code, payment_id)
     SELECT id, buyer_id, merchant_id, livemode, code, payment_id
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, buyer_id text, merchant_id text, livemode boolean, code text, payment_id text)
     ORDER BY id
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

export async function writeBadgeRevocations(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `UPDATE loyalty_badges SET revoked_at = now()
     WHERE revoked_at IS NULL AND payment_id IN (SELECT payment_id FROM ${jsonRecords('$1', 'r(payment_id text)', rows.length)})`,
    [JSON.stringify(rows)],
  );
}

/** In one round trip: the badge codes the buyer holds at the merchant (revoked ones included: a badge is
 * earned once), and the UTC days (`YYYY-MM-DD`) since `since` on which the buyer's payments at the
 * merchant succeeded and were not refunded in full (the created day of each; reads the payments table). */
export async function badgeState(db: SqlClient, buyerId: string, merchantId: string, livemode: boolean, since: Date): Promise<{ held: Set<BadgeCode>; days: string[] }> {
  const result = await db.query<{ codes: BadgeCode[] | string | null; days: string[] | string | null }>(
    `SELECT
       (SELECT json_agg(code) FROM loyalty_badges WHERE buyer_id = $1 AND merchant_id = $2 AND livemode = $3) AS codes,
       (SELECT json_agg(DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')) FROM payments
          WHERE buyer_id = $1 AND merchant_id = $2 AND livemode = $3 AND status = 'succeeded'
            -- Taken back wholly (refunds plus a lost dispute, which amount_refunded does not count): not a purchase day.
            AND amount_refunded + coalesce((SELECT sum(d.amount) FROM disputes d WHERE d.payment_id = payments.id AND d.status = 'lost'), 0) < amount_captured
            AND created_at >= $4::timestamptz) AS days`,
    [buyerId, merchantId, livemode, since.toISOString()],
  );
  const row = result.rows[0]!;
  const parse = <T>(value: T[] | string | null): T[] => (value === null ? [] : typeof value === 'string' ? JSON.parse(value) : value);
  return { held: new Set(parse(row.codes)), days: parse(row.days) };
}

export async function badgesOfBuyer(db: SqlClient, buyerId: string, livemode: boolean, options: { merchantId?: string; limit: number }): Promise<{ data: Badge[]; hasMore: boolean }> {
  const result = await db.query<BadgeRecord>(
    `SELECT ${BADGE_COLUMNS} FROM loyalty_badges
     WHERE buyer_id = $1 AND livemode = $2 AND ($3::text IS NULL OR merchant_id = $3)
     ORDER BY earned_at DESC, id LIMIT $4`,
    [buyerId, livemode, options.merchantId ?? null, options.limit + 1],
  );
  return { data: result.rows.slice(0, options.limit).map(badgeOf), hasMore: result.rows.length > options.limit };
}

/** What the buyer owes on the points account ($1): the claw-backs' shortfall (points refunds should have
 * taken back but that were already spent), less what expiry transfers repaid: points that expired while
 * the debt locked them went back to the issuance account, as a repayment would have sent them, and the
 * expiry transfer records how many in its metadata (`repaid_owed`, service.ts `expirePoints`). */
const OWED = `((SELECT coalesce(sum(c.wanted - c.clawed), 0) FROM loyalty_clawbacks c WHERE c.account_id = $1)
  - (SELECT coalesce(sum((t.metadata->>'repaid_owed')::bigint), 0) FROM ledger_transfers t
       WHERE t.debit_account_id = $1 AND t.code = ${LOYALTY_TRANSFER_CODES.expiry} AND t.metadata ? 'repaid_owed'))`;

/** What the buyer owes on the points account (`OWED`), alone: what an expiry repays. */
export async function owedPoints(db: SqlClient, accountId: string): Promise<bigint> {
  const result = await db.query<{ owed: string }>(`SELECT ${OWED}::text AS owed`, [accountId]);
  return BigInt(result.rows[0]!.owed);
}

/** Points of the account not spendable now: earned points still held (less what refunds of their
 * payment already clawed back), and the points the buyer owes (`OWED`). */
export async function lockedPoints(db: SqlClient, accountId: string, now: Date): Promise<{ held: bigint; owed: bigint }> {
  const result = await db.query<{ held: string; owed: string }>(
    `SELECT
       (SELECT coalesce(sum(greatest(e.points - coalesce((SELECT sum(c.clawed) FROM loyalty_clawbacks c WHERE c.payment_id = e.payment_id AND c.account_id = e.account_id), 0), 0)), 0)
          FROM loyalty_earnings e WHERE e.account_id = $1 AND e.kind = 'earn' AND e.available_at > $2::timestamptz)::text AS held,
       ${OWED}::text AS owed`,
    [accountId, now.toISOString()],
  );
  return { held: BigInt(result.rows[0]!.held), owed: BigInt(result.rows[0]!.owed) };
}

/** Farming facts of a buyer's points account at a merchant over `since` (src/risk/model.ts). Reads the
 * staff table (src/staff) and the buyers' emails for self-dealing: a read, never a write. */
export async function riskFacts(db: SqlClient, accountId: string, buyerId: string, merchantId: string, since: Date): Promise<{
  earning: number;
  refunded: number;
  fast: number;
  owed: bigint;
  staff: boolean;
}> {
  const result = await db.query<{ earning: number | string; refunded: number | string; fast: number | string; owed: string; staff: boolean }>(
    `SELECT
       (SELECT count(*) FROM loyalty_earnings e WHERE e.account_id = $1 AND e.kind = 'earn' AND e.earned_at >= $2::timestamptz) AS earning,
       (SELECT count(DISTINCT e.payment_id) FROM loyalty_earnings e JOIN loyalty_clawbacks c ON c.payment_id = e.payment_id
          WHERE e.account_id = $1 AND e.kind = 'earn' AND e.earned_at >= $2::timestamptz) AS refunded,
       (SELECT count(DISTINCT e.payment_id) FROM loyalty_earnings e JOIN loyalty_clawbacks c ON c.payment_id = e.payment_id
          WHERE e.account_id = $1 AND e.kind = 'earn' AND e.earned_at >= $2::timestamptz AND c.created_at <= e.earned_at + interval '7 days') AS fast,
       ${OWED}::text AS owed,
       ${STAFF_MATCH} AS staff`,
    [accountId, since.toISOString(), buyerId, merchantId],
  );
  const row = result.rows[0]!;
  return { earning: Number(row.earning), refunded: Number(row.refunded), fast: Number(row.fast), owed: BigInt(row.owed), staff: row.staff };
}

/** The buyer ($3) has the email of an active staff user of the merchant ($4). */
const STAFF_MATCH = `EXISTS (SELECT 1 FROM staff_users s JOIN buyers b ON lower(b.email) = lower(s.email)
  WHERE b.id = $3 AND s.merchant_id = $4 AND s.disabled_at IS NULL)`;

export async function isMerchantStaff(db: SqlClient, buyerId: string, merchantId: string): Promise<boolean> {
  const result = await db.query<{ staff: boolean }>(`SELECT ${STAFF_MATCH.replaceAll('$3', '$1').replaceAll('$4', '$2')} AS staff`, [buyerId, merchantId]);
  return result.rows[0]!.staff;
}

export const LOYALTY_SPEND_GUARD_WRITER = 'loyalty_spend_guard';

/** Thrown inside a group commit when spending points left the buyer with fewer spendable points than
 * none (points still held, or owed after a refund, were spent): the unit fails alone, nothing moves. */
export class PointsOverspentError extends Error {
  readonly code = 'points_insufficient';
  constructor(accountId: string) {
    super(`points account ${accountId} would spend points that are held or owed`);
  }
}

/** The spend guard: run in the commit that spends points, after its transfers, under the ledger lock
 * that commit holds, so that two spends deciding from the same read cannot both take held or owed points. It
 * runs after the batch's other writers (`last`), so it counts the earn lots and claw-backs of every unit
 * of the batch, whichever unit came first. */
export const guardSpends = Object.assign(async function guardSpends(tx: SqlClient, rows: unknown[]): Promise<void> {
  const accountIds = [...new Set(rows.map((row) => (row as { account_id: string }).account_id))].sort();
  for (const accountId of accountIds) {
    const result = await tx.query<{ available: string }>(
      `SELECT (credits_posted - debits_posted - debits_pending)::text AS available FROM ledger_balances WHERE id = $1`,
      [accountId],
    );
    const available = BigInt(result.rows[0]?.available ?? '0');
    const locked = await lockedPoints(tx, accountId, new Date());
    if (available - locked.held - locked.owed < 0n) throw new PointsOverspentError(accountId);
  }
}, { last: true });
