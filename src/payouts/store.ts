// SQL of payouts and payout settings. A payout is inserted, posted and failed by unit writers inside the
// ledger's group commit (with the transfers that move its money); every state change applies only over
// the version it was decided from. Schedulers and dispatchers claim rows with FOR UPDATE SKIP LOCKED and
// a short lease, so several processes on one PostgreSQL share the work without doing any of it twice. A
// dispatcher's claim also writes a random lease token, and every later write of that claim applies only
// while its token is still there: a claim whose lease ran out and was taken over neither renews, nor
// records, nor releases anything (docs/api/payouts.md, "Who talks to the bank").
import type { SqlClient } from '../store/database.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Destination, Payout, PayoutSettings } from './model.ts';
import { merchantPage } from '../store/pages.ts';
import { SEALED_PREFIX, type FieldSealer } from '../vault/fields.ts';

export const PAYOUT_INSERTS_WRITER = 'payout_inserts';
export const PAYOUT_UPDATES_WRITER = 'payout_updates';

interface Scope {
  merchantId: string;
  livemode: boolean;
}

interface SettingsRow {
  merchant_id: string;
  livemode: boolean;
  account_number: string | null;
  account_type: Destination['type'] | null;
  account_holder_name: string | null;
  schedule: PayoutSettings['schedule'];
  weekly_anchor: number;
  minimum_amounts: Record<string, string>;
  next_run_at: Date | null;
  updated_at: Date;
}

const SETTINGS_COLUMNS = `merchant_id, livemode, account_number, account_type, account_holder_name, schedule,
  weekly_anchor, minimum_amounts, next_run_at, updated_at`;

/** Bank account numbers are sealed per merchant and mode (src/vault/fields.ts). */
function bankAccountContext(merchantId: string, livemode: boolean): string {
  return `payout_bank_account|${merchantId}|${livemode ? 'live' : 'test'}`;
}

function settingsOf(sealer: FieldSealer, row: SettingsRow): PayoutSettings {
  return {
    merchantId: row.merchant_id,
    livemode: row.livemode,
    bankAccount:
      row.account_number && row.account_type
        ? { type: row.account_type, number: sealer.unseal(row.account_number, bankAccountContext(row.merchant_id, row.livemode)), holderName: row.account_holder_name ?? '' }
        : null,
    schedule: row.schedule,
    weeklyAnchor: row.weekly_anchor,
    minimumAmounts: Object.fromEntries(Object.entries(row.minimum_amounts).map(([currency, amount]) => [currency, BigInt(amount)])),
    nextRunAt: row.next_run_at,
    updatedAt: row.updated_at,
  };
}

export async function getSettings(db: SqlClient, sealer: FieldSealer, scope: Scope): Promise<PayoutSettings | null> {
  const { rows } = await db.query<SettingsRow>(
    `SELECT ${SETTINGS_COLUMNS} FROM payout_settings WHERE merchant_id = $1 AND livemode = $2`,
    [scope.merchantId, scope.livemode],
  );
  return rows[0] ? settingsOf(sealer, rows[0]) : null;
}

export async function saveSettings(db: SqlClient, sealer: FieldSealer, settings: PayoutSettings): Promise<PayoutSettings> {
  const account = settings.bankAccount;
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO payout_settings (merchant_id, livemode, account_number, account_type, account_holder_name,
       schedule, weekly_anchor, minimum_amounts, next_run_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (merchant_id, livemode) DO UPDATE SET account_number = EXCLUDED.account_number,
       account_type = EXCLUDED.account_type, account_holder_name = EXCLUDED.account_holder_name,
       schedule = EXCLUDED.schedule, weekly_anchor = EXCLUDED.weekly_anchor,
       minimum_amounts = EXCLUDED.minimum_amounts, next_run_at = EXCLUDED.next_run_at, updated_at = now()
     RETURNING ${SETTINGS_COLUMNS}`,
    [
      settings.merchantId,
      settings.livemode,
      account ? sealer.seal(account.number, bankAccountContext(settings.merchantId, settings.livemode)) : null,
      account?.type ?? null,
      account?.holderName ?? null,
      settings.schedule,
      settings.weeklyAnchor,
      JSON.stringify(Object.fromEntries(Object.entries(settings.minimumAmounts).map(([currency, amount]) => [currency, amount.toString()]))),
      settings.nextRunAt?.toISOString() ?? null,
    ],
  );
  return settingsOf(sealer, rows[0]!);
}

/** Claims up to `limit` merchants whose scheduled run is due at `asOf`, for `leaseSeconds`. */
export async function claimDueSettings(db: SqlClient, sealer: FieldSealer, asOf: Date, leaseSeconds: number, limit: number): Promise<PayoutSettings[]> {
  const { rows } = await db.query<SettingsRow>(
    `UPDATE payout_settings AS s SET claimed_until = now() + make_interval(secs => $2)
     FROM (SELECT merchant_id, livemode FROM payout_settings
           WHERE next_run_at <= $1::timestamptz AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY next_run_at LIMIT $3 FOR UPDATE SKIP LOCKED) AS due
     WHERE s.merchant_id = due.merchant_id AND s.livemode = due.livemode
     RETURNING ${SETTINGS_COLUMNS.split(',').map((column) => `s.${column.trim()}`).join(', ')}`,
    [asOf.toISOString(), leaseSeconds, limit],
  );
  return rows.map((row) => settingsOf(sealer, row));
}

/** Moves a merchant past the run it was claimed for; a schedule changed meanwhile is left as it is. */
export async function finishRun(db: SqlClient, settings: PayoutSettings, nextRunAt: Date | null): Promise<void> {
  await db.query(
    `UPDATE payout_settings SET next_run_at = $4, claimed_until = NULL
     WHERE merchant_id = $1 AND livemode = $2 AND next_run_at = $3`,
    [settings.merchantId, settings.livemode, settings.nextRunAt!.toISOString(), nextRunAt?.toISOString() ?? null],
  );
}

interface PayoutRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  amount: bigint;
  currency: string;
  status: Payout['status'];
  automatic: boolean;
  period: string | null;
  description: string | null;
  account_number: string;
  account_type: Destination['type'];
  account_holder_name: string;
  bank_reference: string | null;
  bank_reason_code: string | null;
  failure_code: string | null;
  failure_message: string | null;
  risk_decision_id: string | null;
  metadata: Record<string, string> | null;
  next_attempt_at: Date | null;
  submit_attempts: number;
  paid_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const PAYOUT_COLUMNS = `id, merchant_id, livemode, amount, currency, status, automatic, period, description,
  account_number, account_type, account_holder_name, bank_reference, bank_reason_code, failure_code,
  failure_message, risk_decision_id, metadata, next_attempt_at, submit_attempts, paid_at, version,
  created_at, updated_at`;

function payoutOf(sealer: FieldSealer, row: PayoutRow): Payout {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    automatic: row.automatic,
    period: row.period,
    description: row.description,
    destination: { type: row.account_type, number: sealer.unseal(row.account_number, bankAccountContext(row.merchant_id, row.livemode)), holderName: row.account_holder_name },
    bankReference: row.bank_reference,
    bankReasonCode: row.bank_reason_code,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    riskDecisionId: row.risk_decision_id,
    metadata: row.metadata,
    nextAttemptAt: row.next_attempt_at,
    submitAttempts: row.submit_attempts,
    paidAt: row.paid_at,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getPayout(db: SqlClient, sealer: FieldSealer, id: string): Promise<Payout | null> {
  const { rows } = await db.query<PayoutRow>(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE id = $1`, [id]);
  return rows[0] ? payoutOf(sealer, rows[0]) : null;
}

export async function listPayouts(
  db: SqlClient,
  sealer: FieldSealer,
  scope: Scope,
  options: { limit: number; startingAfter?: string; status?: string; currency?: string },
): Promise<{ data: Payout[]; hasMore: boolean }> {
  const page = await merchantPage<PayoutRow>(db, {
    table: 'payouts',
    columns: PAYOUT_COLUMNS,
    scope: scope,
    limit: options.limit,
    startingAfter: options.startingAfter,
    filters: { status: options.status, currency: options.currency },
  });
  return { data: page.rows.map((row) => payoutOf(sealer, row)), hasMore: page.hasMore };
}

/** Claims up to `limit` payouts due for a submission or a status poll, for `leaseSeconds`, under
 * `leaseToken` (a random id of this claim): only writes that name the token apply to them from then on. */
export async function claimDuePayouts(db: SqlClient, sealer: FieldSealer, leaseToken: string, leaseSeconds: number, limit: number): Promise<Payout[]> {
  const { rows } = await db.query<PayoutRow>(
    `UPDATE payouts AS p SET locked_until = now() + make_interval(secs => $1), lease_token = $3
     FROM (SELECT id FROM payouts
           WHERE status IN ('pending', 'in_transit') AND next_attempt_at <= now()
             AND (locked_until IS NULL OR locked_until < now())
           ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) AS due
     WHERE p.id = due.id
     RETURNING ${PAYOUT_COLUMNS.split(',').map((column) => `p.${column.trim()}`).join(', ')}`,
    [leaseSeconds, limit, leaseToken],
  );
  return rows.map((row) => payoutOf(sealer, row));
}

/**
 * Renews the claim `leaseToken` holds on `payout` for `leaseSeconds` from now, just before a request to
 * the bank about it, and records a submission attempt when the payout is pending. Applies only while the
 * claim's token is still on the row at the version it was claimed at (compare-and-set): returns the
 * payout's submission attempts, or null when the claim was lost (its lease ran out and another dispatcher
 * claimed it, or the payout changed), in which case the caller must not talk to the bank about it.
 * A lease that ran out without being taken over is still this claim's and is renewed.
 */
export async function renewPayoutLease(db: SqlClient, payout: Payout, leaseToken: string, leaseSeconds: number): Promise<number | null> {
  const { rows } = await db.query<{ submit_attempts: number }>(
    `UPDATE payouts SET locked_until = now() + make_interval(secs => $4),
       submit_attempts = submit_attempts + CASE WHEN status = 'pending' THEN 1 ELSE 0 END
     WHERE id = $1 AND version = $2 AND lease_token = $3
     RETURNING submit_attempts`,
    [payout.id, payout.version, leaseToken, leaseSeconds],
  );
  return rows[0]?.submit_attempts ?? null;
}

/** Ends the claim `leaseToken` holds without a change of state: the payout is looked at again at
 * `nextAttemptAt` (never when null). False (nothing written) when the claim was lost. */
export async function releasePayout(db: SqlClient, payout: Payout, leaseToken: string, nextAttemptAt: Date | null): Promise<boolean> {
  const result = await db.query(
    `UPDATE payouts SET locked_until = NULL, lease_token = NULL, next_attempt_at = $4 WHERE id = $1 AND version = $2 AND lease_token = $3`,
    [payout.id, payout.version, leaseToken, nextAttemptAt?.toISOString() ?? null],
  );
  return result.rowCount === 1;
}

/** Thrown inside a group commit when a payout changed after the change was decided, or the dispatcher's
 * claim that decided it was lost to another; the unit fails alone. */
export class PayoutChangedError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a payout changed after this change was decided');
  }
}

function stateColumns(payout: Payout) {
  return {
    status: payout.status,
    bank_reference: payout.bankReference,
    bank_reason_code: payout.bankReasonCode,
    failure_code: payout.failureCode,
    failure_message: payout.failureMessage,
    next_attempt_at: payout.nextAttemptAt?.toISOString() ?? null,
    paid_at: payout.paidAt?.toISOString() ?? null,
  };
}

/** Thrown inside a group commit when a payout to insert is there already (an earlier run of the same
 * request or scheduled run wrote its id, or its run's period): the unit fails alone, so its ledger
 * hold, risk decision and events never commit without its payout row. The caller answers with the
 * stored payout. */
export class PayoutExistsError extends Error {
  readonly code = 'concurrent_modification';
  constructor() {
    super('a payout to insert exists already');
  }
}

/** The unit-of-work write that creates `payout`; the commit fails (PayoutExistsError) if it exists. */
export function payoutInsertWrite(sealer: FieldSealer, payout: Payout): UnitWrite {
  return {
    writer: PAYOUT_INSERTS_WRITER,
    row: {
      id: payout.id,
      merchant_id: payout.merchantId,
      livemode: payout.livemode,
      amount: payout.amount.toString(),
      currency: payout.currency,
      automatic: payout.automatic,
      period: payout.period,
      description: payout.description,
      account_number: sealer.seal(payout.destination.number, bankAccountContext(payout.merchantId, payout.livemode)),
      account_type: payout.destination.type,
      account_holder_name: payout.destination.holderName,
      risk_decision_id: payout.riskDecisionId,
      metadata: payout.metadata,
      ...stateColumns(payout),
    },
  };
}

export async function writePayoutInserts(tx: SqlClient, rows: unknown[]): Promise<void> {
  const result = await tx.query(
    `INSERT INTO payouts (id, merchant_id, livemode, amount, currency, status, automatic, period, description,
       account_number, account_type, account_holder_name, bank_reference, bank_reason_code, failure_code,
       failure_message, risk_decision_id, metadata, next_attempt_at, paid_at)
     SELECT id, merchant_id, livemode, amount, currency, status, automatic, period, description,
       account_number, account_type, account_holder_name, bank_reference, bank_reason_code, failure_code,
       failure_message, risk_decision_id, metadata, next_attempt_at, paid_at
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, merchant_id text, livemode boolean, amount bigint,
       currency text, status text, automatic boolean, period text, description text, account_number text,
       account_type text, account_holder_name text, bank_reference text, bank_reason_code text,
       failure_code text, failure_message text, risk_decision_id text, metadata jsonb,
       next_attempt_at timestamptz, paid_at timestamptz)
     ORDER BY id
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
  // A row left out is a payout (or a scheduled run's payout) written by an earlier run: what this unit
  // decided must not commit next to it.
  if (result.rowCount !== rows.length) throw new PayoutExistsError();
}

/** The unit-of-work write of a payout's new state, applied only over `payout.version` and, with a
 * `leaseToken` (a dispatcher's claim), only while that claim still holds the payout. Null is for a change
 * made outside any claim (a review decision on a payout no dispatcher may claim). */
export function payoutUpdateWrite(payout: Payout, leaseToken: string | null): UnitWrite {
  return { writer: PAYOUT_UPDATES_WRITER, row: { id: payout.id, expected_version: payout.version, lease_token: leaseToken, ...stateColumns(payout) } };
}

const UPDATE_SQL = `UPDATE payouts AS p SET status = r.status, bank_reference = r.bank_reference,
    bank_reason_code = r.bank_reason_code, failure_code = r.failure_code, failure_message = r.failure_message,
    next_attempt_at = r.next_attempt_at, paid_at = r.paid_at, locked_until = NULL, lease_token = NULL,
    version = p.version + 1, updated_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS r(id text, expected_version integer, lease_token text, status text,
    bank_reference text, bank_reason_code text, failure_code text, failure_message text, next_attempt_at timestamptz,
    paid_at timestamptz)
  WHERE p.id = r.id AND p.version = r.expected_version AND (r.lease_token IS NULL OR p.lease_token = r.lease_token)`;

export async function writePayoutUpdates(tx: SqlClient, rows: unknown[]): Promise<void> {
  const result = await tx.query(UPDATE_SQL, [JSON.stringify(rows)]);
  if (result.rowCount !== rows.length) throw new PayoutChangedError();
}

/** A change that moves no money (pending → in_transit), outside the ledger, by the claim `leaseToken`;
 * false when the payout changed or the claim was lost. */
export async function updatePayoutState(db: SqlClient, payout: Payout, leaseToken: string): Promise<boolean> {
  const result = await db.query(UPDATE_SQL, [JSON.stringify([payoutUpdateWrite(payout, leaseToken).row])]);
  return result.rowCount === 1;
}

/** One pass of `micropay vault rewrap` over the sealed bank account numbers (payout settings, then
 * payouts) not sealed under the current master key: at most `limit` rows after `after` (a cursor, '' to
 * start), each re-sealed and written only if it is still the value read (a concurrent change wins). */
export async function rewrapBankAccounts(
  db: SqlClient,
  sealer: FieldSealer,
  table: 'payout_settings' | 'payouts',
  after: string,
  limit: number,
): Promise<{ rewrapped: number; failed: number; last: string | null }> {
  const key = table === 'payouts' ? `id` : `merchant_id || '|' || livemode::text`;
  const { rows } = await db.query<{ cursor: string; merchant_id: string; livemode: boolean; account_number: string }>(
    `SELECT ${key} AS cursor, merchant_id, livemode, account_number FROM ${table}
     WHERE account_number IS NOT NULL AND account_number NOT LIKE $1 AND ${key} > $2
     ORDER BY ${key} LIMIT $3`,
    [`${sealer.currentPrefix}%`, after, limit],
  );
  let rewrapped = 0;
  let failed = 0;
  for (const row of rows) {
    let next: string | null;
    try {
      next = sealer.reseal(row.account_number, bankAccountContext(row.merchant_id, row.livemode));
    } catch {
      failed += 1;
      continue;
    }
    if (next === null) continue;
    const { rowCount } = await db.query(`UPDATE ${table} SET account_number = $1 WHERE ${key} = $2 AND account_number = $3`, [
      next,
      row.cursor,
      row.account_number,
    ]);
    rewrapped += rowCount;
  }
  return { rewrapped, failed, last: rows.at(-1)?.cursor ?? null };
}

/** Sealed bank account numbers by master key version (0: stored before sealing existed), per table. */
export async function bankAccountVersions(db: SqlClient): Promise<Record<'payout_settings' | 'payouts', Record<string, number>>> {
  const count = async (table: string) => {
    const { rows } = await db.query<{ version: string; count: string }>(
      `SELECT CASE WHEN starts_with(account_number, $1) THEN split_part(substr(account_number, length($1) + 1), ':', 1) ELSE '0' END AS version,
         count(*)::text AS count
       FROM ${table} WHERE account_number IS NOT NULL GROUP BY 1 ORDER BY 1`,
      [SEALED_PREFIX],
    );
    return Object.fromEntries(rows.map((row) => [row.version, Number(row.count)]));
  };
  return { payout_settings: await count('payout_settings'), payouts: await count('payouts') };
}
