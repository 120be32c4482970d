// GET /v1/risk/metrics (operator): the risk engine's decisions, challenge rate and fraud caught per UTC
// day, for the console's charts. What counts as fraud and as caught is in metrics.ts and docs/risk.md.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, requireOperator } from '../api/http.ts';
import type { SqlClient } from '../store/database.ts';
import { METRICS_DAYS_DEFAULT, METRICS_DAYS_MAX, riskMetrics, type RiskMetricsFigures } from './metrics.ts';

const RATE = { type: ['number', 'null'], minimum: 0, maximum: 1 } as const;

const FIGURES_PROPERTIES = {
  decisions: {
    type: 'object',
    properties: {
      allow: { type: 'integer' },
      challenge: { type: 'integer' },
      review: { type: 'integer' },
      block: { type: 'integer' },
      total: { type: 'integer' },
    },
    required: ['allow', 'challenge', 'review', 'block', 'total'],
  },
  challenge_rate: { ...RATE, description: 'Challenged decisions over all decisions; null without decisions.' },
  fraud_labelled: { type: 'integer', description: 'Decisions whose subject is labelled fraud (as back-tests label it).' },
  fraud_labelled_value_usd_cents: { type: 'integer', description: 'Their value in US cents at the reference rates.' },
  fraud_caught: { type: 'integer', description: 'Of those, the ones the engine stopped: blocked, held for a review nobody approved, or challenged and never confirmed.' },
  fraud_caught_value_usd_cents: { type: 'integer' },
  fraud_value_caught_rate: { ...RATE, description: 'fraud_caught_value_usd_cents over fraud_labelled_value_usd_cents; null without labelled fraud.' },
} as const;

const FIGURES_REQUIRED = ['decisions', 'challenge_rate', 'fraud_labelled', 'fraud_labelled_value_usd_cents', 'fraud_caught', 'fraud_caught_value_usd_cents', 'fraud_value_caught_rate'] as const;

export const RISK_METRICS_SCHEMA = {
  $id: 'RiskMetrics',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_metrics'] },
    livemode: { type: 'boolean' },
    days: { type: 'integer' },
    since: { type: 'integer', description: 'Unix seconds: UTC midnight of the first day.' },
    data: {
      type: 'array',
      description: 'One entry per UTC day, oldest first; the last is today so far.',
      items: {
        type: 'object',
        properties: { date: { type: 'string', description: 'YYYY-MM-DD (UTC).' }, ...FIGURES_PROPERTIES },
        required: ['date', ...FIGURES_REQUIRED],
      },
    },
    totals: { type: 'object', properties: FIGURES_PROPERTIES, required: [...FIGURES_REQUIRED] },
  },
  required: ['object', 'livemode', 'days', 'since', 'data', 'totals'],
} as const;

function figuresJson(figures: RiskMetricsFigures) {
  return {
    decisions: figures.decisions,
    challenge_rate: figures.challengeRate,
    fraud_labelled: figures.fraudLabelled,
    fraud_labelled_value_usd_cents: figures.fraudLabelledValueUsdCents,
    fraud_caught: figures.fraudCaught,
    fraud_caught_value_usd_cents: figures.fraudCaughtValueUsdCents,
    fraud_value_caught_rate: figures.fraudValueCaughtRate,
  };
}

export async function riskMetricsRoutes(app: FastifyInstance, deps: { db: SqlClient }): Promise<void> {
  app.addSchema(RISK_METRICS_SCHEMA);
  app.get<{ Querystring: { days?: string; livemode?: 'true' | 'false' } }>(
    '/v1/risk/metrics',
    {
      config: { staff: { console: 'risk:read' } },
      schema: {
        tags: ['risk'],
        summary: 'Decisions by outcome, challenge rate and fraud caught per UTC day',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days: { type: 'string', pattern: '^[0-9]{1,3}$', description: `1 to ${METRICS_DAYS_MAX}, default ${METRICS_DAYS_DEFAULT} (today included).` },
            livemode: { type: 'string', enum: ['true', 'false'], description: "Live or test decisions; the caller's mode when absent." },
          },
        },
        response: { 200: { $ref: 'RiskMetrics#' }, ...errorResponses() },
      },
    },
    async (request) => {
      const operator = requireOperator(request, { write: false });
      const days = request.query.days === undefined ? METRICS_DAYS_DEFAULT : Number(request.query.days);
      if (days < 1 || days > METRICS_DAYS_MAX) throw new ApiError('parameter_invalid', `days must be between 1 and ${METRICS_DAYS_MAX}.`, 'days');
      const livemode = request.query.livemode === undefined ? operator.livemode : request.query.livemode === 'true';
      const metrics = await riskMetrics(deps.db, { livemode, days });
      return {
        object: 'risk_metrics' as const,
        livemode: metrics.livemode,
        days: metrics.days,
        since: Math.floor(metrics.since.getTime() / 1000),
        data: metrics.data.map((day) => ({ date: day.date, ...figuresJson(day) })),
        totals: figuresJson(metrics.totals),
      };
    },
  );
}
