// Risk metrics per UTC day for the operator's console (GET /v1/risk/metrics): decisions by outcome,
// the challenge rate, and fraud caught. "Fraud" is labelled exactly as back-tests and training label
// it (decisionHistory in store.ts): a label in risk_labels wins; without one, a checkout payment whose
// step-up failed and that its buyer never confirmed afterwards is fraud. "Caught" is what the
// simulator's harness counts as caught: the engine blocked it, held it for a review nobody approved,
// or challenged it and the challenge was never passed. Values are compared in US cents at the
// reference rates of rates.ts (statistics only; money is never converted with them).
import type { SqlClient } from '../store/database.ts';
import type { RiskVerdict } from './model.ts';
import { usdCents } from './rates.ts';

export const METRICS_DAYS_MAX = 90;
export const METRICS_DAYS_DEFAULT = 30;

const VERDICTS: readonly RiskVerdict[] = ['allow', 'challenge', 'review', 'block'];

export interface DecisionCounts {
  allow: number;
  challenge: number;
  review: number;
  block: number;
  total: number;
}

export interface RiskMetricsFigures {
  decisions: DecisionCounts;
  /** challenge / total, null without decisions. */
  challengeRate: number | null;
  fraudLabelled: number;
  fraudLabelledValueUsdCents: number;
  fraudCaught: number;
  fraudCaughtValueUsdCents: number;
  /** fraudCaughtValueUsdCents / fraudLabelledValueUsdCents, null without labelled fraud. */
  fraudValueCaughtRate: number | null;
}

export interface RiskMetricsDay extends RiskMetricsFigures {
  /** YYYY-MM-DD, UTC. */
  date: string;
}

export interface RiskMetrics {
  livemode: boolean;
  days: number;
  /** Start of the first day (UTC midnight). */
  since: Date;
  data: RiskMetricsDay[];
  totals: RiskMetricsFigures;
}

interface MetricsRow {
  day: string;
  decision: RiskVerdict;
  currency: string;
  fraud: boolean;
  caught: boolean;
  decisions: string;
  amount: string;
}

const DAY_MS = 86_400_000;

/** UTC midnight `days - 1` days before `now`'s day: the window holds `days` days, today included. */
export function metricsSince(now: Date, days: number): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (days - 1) * DAY_MS);
}

function emptyFigures(): RiskMetricsFigures {
  return {
    decisions: { allow: 0, challenge: 0, review: 0, block: 0, total: 0 },
    challengeRate: null,
    fraudLabelled: 0,
    fraudLabelledValueUsdCents: 0,
    fraudCaught: 0,
    fraudCaughtValueUsdCents: 0,
    fraudValueCaughtRate: null,
  };
}

function addRow(figures: RiskMetricsFigures, row: MetricsRow): void {
  const count = Number(row.decisions);
  const value = row.currency === '' ? 0 : usdCents(BigInt(row.amount), row.currency);
  if (VERDICTS.includes(row.decision)) figures.decisions[row.decision] += count;
  figures.decisions.total += count;
  if (!row.fraud) return;
  figures.fraudLabelled += count;
  figures.fraudLabelledValueUsdCents += value;
  if (!row.caught) return;
  figures.fraudCaught += count;
  figures.fraudCaughtValueUsdCents += value;
}

function finish(figures: RiskMetricsFigures): void {
  const { decisions } = figures;
  figures.challengeRate = decisions.total === 0 ? null : decisions.challenge / decisions.total;
  figures.fraudValueCaughtRate = figures.fraudLabelledValueUsdCents === 0 ? null : figures.fraudCaughtValueUsdCents / figures.fraudLabelledValueUsdCents;
}

/** One read: the decisions of the window grouped by day, outcome, currency, label and caught. The
 * window bounds every table read (labels and step-ups are joined for the window's subjects only, and
 * a step-up comes after its decision), so the cost grows with the window, not with the history. */
export async function riskMetrics(db: SqlClient, options: { livemode: boolean; days: number; now?: Date }): Promise<RiskMetrics> {
  const since = metricsSince(options.now ?? new Date(), options.days);
  const { rows } = await db.query<MetricsRow>(
    `WITH d AS (
       SELECT subject_id, subject_type, decision, amount, currency, created_at
       FROM risk_decisions WHERE livemode = $1 AND created_at >= $2
     ),
     label AS (
       SELECT subject_id, bool_or(fraud) AS fraud FROM risk_labels
       WHERE subject_id IN (SELECT subject_id FROM d) GROUP BY subject_id
     ),
     step_up AS (
       SELECT payment_id, bool_or(outcome = 'failed') AND NOT bool_or(outcome = 'succeeded') AS failed
       FROM checkout_authentications WHERE livemode = $1 AND created_at >= $2 GROUP BY payment_id
     ),
     approved AS (
       SELECT subject_type, subject_id FROM risk_reviews
       WHERE status = 'approved' AND livemode = $1 AND created_at >= $2
     ),
     judged AS (
       SELECT d.*, coalesce(label.fraud, step_up.failed AND d.subject_type = 'payment', false) AS fraud,
         (d.decision = 'block'
           OR (d.decision = 'review' AND approved.subject_id IS NULL)
           OR (d.decision = 'challenge' AND coalesce(step_up.failed AND d.subject_type = 'payment', false))) AS caught
       FROM d
       LEFT JOIN label ON label.subject_id = d.subject_id
       LEFT JOIN step_up ON step_up.payment_id = d.subject_id
       LEFT JOIN approved ON approved.subject_type = d.subject_type AND approved.subject_id = d.subject_id
     )
     SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, decision, coalesce(currency, '') AS currency,
       fraud, caught, count(*)::text AS decisions, coalesce(sum(amount), 0)::text AS amount
     FROM judged GROUP BY 1, 2, 3, 4, 5`,
    [options.livemode, since.toISOString()],
  );
  const byDay = new Map<string, RiskMetricsDay>();
  for (let index = 0; index < options.days; index += 1) {
    const date = new Date(since.getTime() + index * DAY_MS).toISOString().slice(0, 10);
    byDay.set(date, { date, ...emptyFigures() });
  }
  const totals = emptyFigures();
  for (const row of rows) {
    const day = byDay.get(row.day);
    // A decision stamped after the window's last day (a clock ahead of ours) is left out.
    if (!day) continue;
    addRow(day, row);
    addRow(totals, row);
  }
  const data = [...byDay.values()];
  for (const figures of [...data, totals]) finish(figures);
  return { livemode: options.livemode, days: options.days, since, data, totals };
}
