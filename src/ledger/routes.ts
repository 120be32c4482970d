// GET /v1/ledger/health (operator): the ledger verification of `micropay ledger verify` with the
// totals per asset, for the console. Sums are decimal strings: an asset's total over all transfers can
// pass 2^53 (and even 2^63), which a JSON number would round.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, requireOperator } from '../api/http.ts';
import type { LedgerHealth, LedgerHealthCheck } from './health.ts';

/** How many drifting accounts and limit violations are listed (the counts say how many there are). */
export const HEALTH_LISTED_MAX = 20;

const DECIMAL = { type: 'string', pattern: '^-?[0-9]+$', description: 'A decimal integer in minor units, as a string.' } as const;

export const LEDGER_HEALTH_SCHEMA = {
  $id: 'LedgerHealth',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['ledger_health'] },
    ok: { type: 'boolean', description: 'No drift, every asset balances, no limit crossed.' },
    checked_at: { type: 'integer', description: 'Unix seconds: when the verification started.' },
    duration_ms: { type: 'integer' },
    cached: { type: 'boolean', description: "The result of an earlier run (at most a minute old), not one run for this request." },
    accounts_checked: { type: 'integer' },
    transfers_checked: { type: 'integer' },
    drift_count: { type: 'integer' },
    drift: {
      type: 'array',
      description: `Accounts whose stored balance differs from the sum of their transfers (the first ${HEALTH_LISTED_MAX}).`,
      items: {
        type: 'object',
        properties: { account: { type: 'string' }, field: { type: 'string' }, stored: DECIMAL, computed: DECIMAL },
        required: ['account', 'field', 'stored', 'computed'],
      },
    },
    asset_imbalance: {
      type: 'array',
      items: { type: 'object', properties: { asset: { type: 'string' }, debits_minus_credits: DECIMAL }, required: ['asset', 'debits_minus_credits'] },
    },
    limit_violation_count: { type: 'integer' },
    limit_violations: { type: 'array', items: { type: 'string' }, description: `Accounts past their limit (the first ${HEALTH_LISTED_MAX}).` },
    assets: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          asset: { type: 'string' },
          transfers: { type: 'integer' },
          posted: { ...DECIMAL, description: 'Sum of the posted transfers.' },
          pending: { ...DECIMAL, description: 'Sum of the holds still pending.' },
          debits_posted: DECIMAL,
          credits_posted: DECIMAL,
          debits_pending: DECIMAL,
          credits_pending: DECIMAL,
          balanced: { type: 'boolean', description: 'Debits equal credits, posted and pending.' },
        },
        required: ['asset', 'transfers', 'posted', 'pending', 'debits_posted', 'credits_posted', 'debits_pending', 'credits_pending', 'balanced'],
      },
    },
  },
  required: ['object', 'ok', 'checked_at', 'duration_ms', 'cached', 'accounts_checked', 'transfers_checked', 'drift_count', 'drift', 'asset_imbalance', 'limit_violation_count', 'limit_violations', 'assets'],
} as const;

export function ledgerHealthJson(check: LedgerHealthCheck) {
  const { report } = check;
  const byAsset = new Map(report.assets.map((sums) => [sums.asset, sums]));
  const names = [...new Set([...report.totals.map((total) => total.asset), ...byAsset.keys()])].sort();
  return {
    object: 'ledger_health' as const,
    ok: report.ok,
    checked_at: Math.floor(check.checkedAt.getTime() / 1000),
    duration_ms: Math.round(check.durationMs),
    cached: check.cached,
    accounts_checked: report.accountsChecked,
    transfers_checked: report.transfersChecked,
    drift_count: report.drift.length,
    drift: report.drift.slice(0, HEALTH_LISTED_MAX).map((row) => ({ account: row.accountId, field: row.field, stored: row.stored.toString(), computed: row.computed.toString() })),
    asset_imbalance: report.assetImbalance.map((row) => ({ asset: row.asset, debits_minus_credits: row.debitsMinusCredits.toString() })),
    limit_violation_count: report.limitViolations.length,
    limit_violations: report.limitViolations.slice(0, HEALTH_LISTED_MAX),
    assets: names.map((asset) => {
      const total = report.totals.find((row) => row.asset === asset);
      const sums = byAsset.get(asset);
      const debitsPosted = sums?.debitsPosted ?? 0n;
      const creditsPosted = sums?.creditsPosted ?? 0n;
      const debitsPending = sums?.debitsPending ?? 0n;
      const creditsPending = sums?.creditsPending ?? 0n;
      return {
        asset,
        transfers: total?.transfers ?? 0,
        posted: (total?.posted ?? 0n).toString(),
        pending: (total?.pending ?? 0n).toString(),
        debits_posted: debitsPosted.toString(),
        credits_posted: creditsPosted.toString(),
        debits_pending: debitsPending.toString(),
        credits_pending: creditsPending.toString(),
        balanced: debitsPosted === creditsPosted && debitsPending === creditsPending,
      };
    }),
  };
}

export async function ledgerRoutes(app: FastifyInstance, deps: { health: LedgerHealth }): Promise<void> {
  app.addSchema(LEDGER_HEALTH_SCHEMA);
  // A verification that outlived its request finishes before the app (and then the database) closes.
  app.addHook('onClose', async () => deps.health.idle());
  app.get<{ Querystring: { refresh?: 'true' | 'false' } }>(
    '/v1/ledger/health',
    {
      config: { staff: { console: 'ledger:read' } },
      schema: {
        tags: ['operator'],
        summary: 'Verify the ledger (as `micropay ledger verify`) and total each asset; the result is kept for a minute',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { refresh: { type: 'string', enum: ['true', 'false'], description: 'Run again unless the last run is under 5 seconds old.' } },
        },
        response: { 200: { $ref: 'LedgerHealth#' }, ...errorResponses(503) },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const result = await deps.health.check({ refresh: request.query.refresh === 'true' });
      if (!result.ok) throw new ApiError(result.code);
      return ledgerHealthJson(result.check);
    },
  );
}
