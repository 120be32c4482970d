// The risk experiment behind `npm run bench:risk` and `micropay simulate`: on seeded traffic, a
// rules-only baseline, then the collection of labelled rows over the training weeks (labels that arrived
// in time, and review verdicts: a reviewer investigates what they hold), training, and the full engine.
// Metrics count the attempts after the training weeks only.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryCounters, type RiskCounters } from '../counters.ts';
import { createRedisCounters } from '../redis-counters.ts';
import { DEFAULT_RULES } from '../default-rules.ts';
import { createRiskEngine, DEFAULT_POLICY, type ActiveRule, type RiskPolicy, type RuleBook } from '../engine.ts';
import { trainModel, type TrainedModel, type TrainingRow } from '../learned-model.ts';
import type { RiskEngine, Signals } from '../model.ts';
import { compileRule } from '../rules.ts';
import { evaluate, type EvaluateOptions, type Evaluation } from './harness.ts';
import { eventTime, generateTraffic, type SimulatedEvent } from './traffic.ts';

const WEEK_MS = 7 * 86_400_000;

export interface ExperimentOptions {
  seed: number;
  weeks: number;
  buyers: number;
  trainWeeks: number;
  policy?: RiskPolicy;
  /** Run the full engine on Redis counters at this URL (the p99 of a shared deployment); else in memory. */
  redisUrl?: string;
  progress: (message: string) => void;
  /** Sees each counted attempt of the full engine with its decision. */
  onAttempt?: EvaluateOptions['onAttempt'];
}

function defaultRuleBook(): RuleBook {
  const rules: ActiveRule[] = DEFAULT_RULES.map((rule) => {
    const compiled = compileRule(rule.source);
    if (!compiled.ok) throw new Error(`default rule ${rule.id} does not compile: ${compiled.errors[0]?.message}`);
    return { id: rule.id, version: 1, mode: 'live', rule: compiled.rule };
  });
  return { rules, lists: new Map() };
}

function engineWith(model: TrainedModel | null, policy: RiskPolicy, counters: RiskCounters = createMemoryCounters()): RiskEngine {
  const book = defaultRuleBook();
  return createRiskEngine({ counters, ruleBook: () => book, model: () => model, policy });
}

/** Counters in Redis under a prefix of their own, removed afterwards. */
async function withRedisCounters<T>(url: string, run: (counters: RiskCounters) => Promise<T>): Promise<T> {
  const prefix = `micropay:bench-risk:${randomBytes(6).toString('hex')}:`;
  const counters = createRedisCounters({ url, prefix });
  try {
    return await run(counters);
  } finally {
    await counters.close();
    const redis = new Redis(url);
    let cursor = '0';
    for (let rounds = 0; rounds < 100_000; rounds += 1) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    redis.disconnect();
  }
}

async function run(
  name: string, engine: RiskEngine, events: readonly SimulatedEvent[], fromMs: number, progress: (message: string) => void, onAttempt?: EvaluateOptions['onAttempt'],
): Promise<Evaluation> {
  let last = performance.now();
  return evaluate(engine, events, {
    fromMs,
    onAttempt,
    onProgress(done, total) {
      if (performance.now() - last < 2_000) return;
      last = performance.now();
      progress(`${name}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} events (${Math.round((100 * done) / total)}%)`);
    },
  });
}

/** Runs the rules-only engine over the training weeks and keeps what a real installation would know. */
async function collect(events: readonly SimulatedEvent[], cutoffMs: number, policy: RiskPolicy, progress: (message: string) => void): Promise<TrainingRow[]> {
  const inner = engineWith(null, policy);
  const truth = new Map<string, boolean>();
  for (const event of events) if (event.kind === 'attempt') truth.set(event.input.subjectId, event.truth.fraud);
  const seen = new Map<string, { signals: Signals; reviewed: boolean; challenged: boolean }>();
  const labels = new Map<string, boolean>();
  const recorder: RiskEngine = {
    async score(input) {
      const assessment = await inner.score(input);
      if (input.at < cutoffMs && assessment.decision !== 'block') {
        seen.set(input.subjectId, { signals: { ...assessment.signals }, reviewed: assessment.decision === 'review', challenged: assessment.decision === 'challenge' });
      }
      return assessment;
    },
    async observe(observation) {
      if (observation.type === 'label' && observation.at < cutoffMs) labels.set(observation.subjectId, observation.fraud);
      // A step-up that did not go through is a fraud label: the checkout knows it at once. It is noisy
      // (an honest card declined after its 3-D Secure counts too, and real honest buyers abandon
      // challenges, which the simulator does not model).
      if (observation.type === 'outcome' && !observation.succeeded && seen.get(observation.input.subjectId)?.challenged) labels.set(observation.input.subjectId, true);
      return inner.observe(observation);
    },
  };
  await run('collection', recorder, events.filter((event) => eventTime(event) < cutoffMs), Number.POSITIVE_INFINITY, progress);
  const rows: TrainingRow[] = [];
  for (const [subjectId, { signals, reviewed }] of seen) {
    const fraud = reviewed ? truth.get(subjectId) === true : labels.get(subjectId) === true;
    rows.push({ signals, fraud });
  }
  return rows;
}

function summary(evaluation: Evaluation) {
  return Object.fromEntries(
    Object.entries(evaluation.typologies).map(([typology, group]) => [typology, { attempts: group.attempts, value_caught: Number(group.value_caught.toFixed(4)), decisions: group.decisions }]),
  );
}

export async function runExperiment(options: ExperimentOptions) {
  const { progress, seed: SEED, weeks: WEEKS, buyers: BUYERS, trainWeeks: TRAIN_WEEKS } = options;
  const policy = options.policy ?? DEFAULT_POLICY;
  const started = performance.now();
  progress(`generating ${WEEKS} weeks of traffic for ${BUYERS.toLocaleString('en-US')} buyers (seed ${SEED})`);
  const traffic = generateTraffic({ seed: SEED, weeks: WEEKS, buyers: BUYERS, merchants: Math.max(50, Math.round(BUYERS / 50)) });
  const cutoffMs = traffic.startMs + TRAIN_WEEKS * WEEK_MS;
  progress(`${traffic.events.length.toLocaleString('en-US')} events; training on weeks 1-${TRAIN_WEEKS}, evaluating on weeks ${TRAIN_WEEKS + 1}-${WEEKS}`);

  const rulesOnly = await run('rules only', engineWith(null, policy), traffic.events, cutoffMs, progress);
  progress(`rules only: fraud value caught ${rulesOnly.fraud_value_caught.toFixed(3)}, good challenged ${rulesOnly.good_challenged.toFixed(4)}`);

  const rows = await collect(traffic.events, cutoffMs, policy, progress);
  const trainStarted = performance.now();
  const model = trainModel(rows, { seed: SEED });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  progress(`trained on ${rows.length.toLocaleString('en-US')} rows (${model.fraudRows} labelled fraud) in ${trainSeconds.toFixed(1)} s`);

  const full = options.redisUrl
    ? await withRedisCounters(options.redisUrl, (counters) => run('full engine (Redis counters)', engineWith(model, policy, counters), traffic.events, cutoffMs, progress, options.onAttempt))
    : await run('full engine', engineWith(model, policy), traffic.events, cutoffMs, progress, options.onAttempt);
  progress(`full engine: fraud value caught ${full.fraud_value_caught.toFixed(3)}, good challenged ${full.good_challenged.toFixed(4)}, pr_auc ${full.pr_auc.toFixed(3)}`);
  progress(`per typology (full engine): ${JSON.stringify(summary(full))}`);
  progress(`per typology (rules only): ${JSON.stringify(summary(rulesOnly))}`);

  const round = (value: number, digits = 4) => Number(value.toFixed(digits));
  const result = {
    fraud_value_caught: round(full.fraud_value_caught),
    good_challenged: round(full.good_challenged),
    good_blocked: round(full.good_blocked, 5),
    good_reviewed: round(full.good_reviewed, 5),
    pr_auc: round(full.pr_auc),
    p99_score_ms: round(full.p99_score_ms, 3),
    mean_score_ms: round(full.mean_score_ms, 3),
    rules_only_fraud_value_caught: round(rulesOnly.fraud_value_caught),
    rules_only_good_challenged: round(rulesOnly.good_challenged),
    rules_only_good_blocked: round(rulesOnly.good_blocked, 5),
    rules_only_pr_auc: round(rulesOnly.pr_auc),
    evaluated_attempts: full.attempts,
    evaluated_fraud_attempts: full.fraud_attempts,
    training_rows: rows.length,
    training_fraud_rows: model.fraudRows,
    counters: options.redisUrl ? 'redis' : 'memory',
    seed: SEED,
    weeks: WEEKS,
    buyers: BUYERS,
    seconds: round((performance.now() - started) / 1000, 1),
  };
  return { result, model, full, rulesOnly };
}

