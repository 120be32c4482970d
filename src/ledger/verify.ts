// `micropay ledger verify`: recomputes every balance from the transfers and compares it with the
// balances the accounts store (the checkpoint in each row plus the transfers after it, `ledger_balances`:
// a row that differs from the transfers up to its checkpoint shows as drift), checks that debits equal
// credits per asset and that no limited account crosses its limit. Runs in one REPEATABLE READ snapshot so that concurrent commits cannot fool it.
import type { Database } from '../store/database.ts';
import type { VerifyReport } from './model.ts';
import { balanceEffectsSql } from './store.ts';

const FIELDS = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'] as const;

export interface VerifyOptions {
  /** Cancels any one statement of the verification that runs longer (PostgreSQL's statement_timeout;
   * the error is the database's, code 57014). For callers that must not hold the database for long. */
  statementTimeoutMs?: number;
}

export async function verifyLedger(db: Database, options: VerifyOptions = {}): Promise<VerifyReport> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (options.statementTimeoutMs !== undefined) {
      await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.statementTimeoutMs))}`);
    }
    // One statement reads the balances as they stand (the view, which sums each account's transfers
    // after its checkpoint) once, for the three checks over them: drift, sums per asset, limits.
    const checked = await tx.query<{ drift: string | null; sums: string | null; violations: string | null }>(
      `WITH balances AS MATERIALIZED (
         SELECT id, asset, flags, overdraft_limit, ${FIELDS.join(', ')} FROM ledger_balances
       ),
       computed AS (${balanceEffectsSql('true')}),
       compared AS (
         SELECT a.id AS account_id,
           ${FIELDS.map((field) => `a.${field}::numeric AS stored_${field}, coalesce(c.${field}, 0) AS computed_${field}`).join(', ')}
         FROM balances a FULL OUTER JOIN computed c ON c.account_id = a.id
       ),
       drift AS (
         SELECT account_id, field, stored::text AS stored, computed::text AS computed FROM compared
         CROSS JOIN LATERAL (VALUES
           ${FIELDS.map((field) => `('${field}', coalesce(stored_${field}, 0), computed_${field})`).join(',\n           ')}
         ) AS v(field, stored, computed)
         WHERE stored IS DISTINCT FROM computed OR account_id IS NULL
       ),
       sums AS (
         -- Per asset, the sums of every account's balance fields: debits equal credits in a sound ledger.
         SELECT asset, sum(debits_posted)::text AS debits_posted, sum(credits_posted)::text AS credits_posted,
           sum(debits_pending)::text AS debits_pending, sum(credits_pending)::text AS credits_pending
         FROM balances GROUP BY asset
       ),
       violations AS (
         SELECT id FROM balances
         WHERE (flags = 1 AND debits_pending::numeric + debits_posted > credits_posted::numeric + overdraft_limit)
            OR (flags = 2 AND credits_pending::numeric + credits_posted > debits_posted::numeric + overdraft_limit)
       )
       SELECT (SELECT json_agg(drift) FROM drift)::text AS drift,
         (SELECT json_agg(sums ORDER BY asset) FROM sums)::text AS sums,
         (SELECT json_agg(id ORDER BY id) FROM violations)::text AS violations`,
    );
    const parts = checked.rows[0]!;
    const drift = JSON.parse(parts.drift ?? '[]') as Array<{ account_id: string | null; field: string; stored: string; computed: string }>;
    const sums = JSON.parse(parts.sums ?? '[]') as Array<Record<'asset' | 'debits_posted' | 'credits_posted' | 'debits_pending' | 'credits_pending', string>>;
    const violations = JSON.parse(parts.violations ?? '[]') as string[];
    const assets = sums.map((row) => ({
      asset: row.asset,
      debitsPosted: BigInt(row.debits_posted),
      creditsPosted: BigInt(row.credits_posted),
      debitsPending: BigInt(row.debits_pending),
      creditsPending: BigInt(row.credits_pending),
    }));
    const crossMismatch = await tx.query<{ count: bigint }>(
      `SELECT count(*)::int8 AS count FROM ledger_transfers t
       JOIN ledger_accounts d ON d.id = t.debit_account_id
       JOIN ledger_accounts c ON c.id = t.credit_account_id
       WHERE d.asset <> t.asset OR c.asset <> t.asset`,
    );
    const totals = await tx.query<{ asset: string; posted: string; pending: string; transfers: bigint }>(
      `SELECT asset, coalesce(sum(amount) FILTER (WHERE kind IN (0, 2)), 0)::text AS posted,
         (coalesce(sum(amount) FILTER (WHERE kind = 1), 0) - coalesce(sum(pending_amount) FILTER (WHERE kind IN (2, 3, 4)), 0))::text AS pending,
         count(*)::int8 AS transfers
       FROM ledger_transfers GROUP BY asset ORDER BY asset`,
    );
    const accounts = await tx.query<{ count: bigint }>('SELECT count(*)::int8 AS count FROM ledger_accounts');
    const assetImbalance = assets
      .filter((sum) => sum.debitsPosted !== sum.creditsPosted || sum.debitsPending !== sum.creditsPending)
      .map((sum) => ({ asset: sum.asset, debitsMinusCredits: sum.debitsPosted - sum.creditsPosted + (sum.debitsPending - sum.creditsPending) }));
    const mismatched = Number(crossMismatch.rows[0]!.count);
    if (mismatched > 0) assetImbalance.push({ asset: '*transfers_across_assets*', debitsMinusCredits: BigInt(mismatched) });
    const report: VerifyReport = {
      accountsChecked: Number(accounts.rows[0]!.count),
      transfersChecked: totals.rows.reduce((sum, row) => sum + Number(row.transfers), 0),
      drift: drift.map((row) => ({
        accountId: row.account_id ?? '(missing account)',
        field: row.field,
        stored: BigInt(row.stored),
        computed: BigInt(row.computed),
      })),
      assetImbalance,
      limitViolations: violations,
      assets,
      totals: totals.rows.map((row) => ({
        asset: row.asset,
        posted: BigInt(row.posted),
        pending: BigInt(row.pending),
        transfers: Number(row.transfers),
      })),
      ok: false,
    };
    report.ok = report.drift.length === 0 && report.assetImbalance.length === 0 && report.limitViolations.length === 0;
    return report;
  });
}
