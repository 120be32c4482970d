// Runs a risk engine over simulated traffic in time order and scores its decisions against the truth.
//
// Each attempt is scored (and timed), then let through when the decision is allow, or challenge and the
// actor passes the challenge; the engine then observes the outcome (succeeded only if it went through and
// the rail accepted it), and only then are the attempt's follow-ups (refunds, disputes, redemptions,
// labels) scheduled, at `input.at + delayMs`. Every event is fed to the engine so that its counters warm
// up, but only attempts with `input.at` in [fromMs, toMs) count in the metrics.
import { performance } from 'node:perf_hooks';
import type { RiskEngine, RiskObservation, RiskVerdict } from '../model.ts';
import { usdCents } from './rates.ts';
import { TYPOLOGIES, eventTime } from './traffic.ts';
import type { SimulatedEvent, Typology } from './traffic.ts';

/** Follow-ups waiting for their time; a bound that real traffic never approaches guards against a runaway. */
const PENDING_FOLLOW_UPS_MAX = 50_000_000;
const PROGRESS_EVERY_EVENTS = 1_000;

export type DecisionCounts = Record<RiskVerdict, number>;

export interface GroupEvaluation {
  attempts: number;
  /** Value of the attempts in US cents at the reference rates. */
  value_usd_cents: number;
  /** Value blocked, reviewed, or challenged and failed. */
  caught_value_usd_cents: number;
  /** caught_value_usd_cents / value_usd_cents (0 when there is no value). */
  value_caught: number;
  decisions: DecisionCounts;
  /** Challenges the actor failed (so the attempt did not go through). */
  challenges_failed: number;
}

export interface Evaluation {
  /** Share of fraudulent value (US cents) blocked, reviewed, or challenged and failed. */
  fraud_value_caught: number;
  /** Shares of honest attempts challenged, blocked and reviewed. */
  good_challenged: number;
  good_blocked: number;
  good_reviewed: number;
  /** Average precision of `score` (null counts as 0) against the truth; ties form one threshold. */
  pr_auc: number;
  p99_score_ms: number;
  mean_score_ms: number;
  attempts: number;
  honest_attempts: number;
  fraud_attempts: number;
  fraud_value_usd_cents: number;
  fraud_caught_value_usd_cents: number;
  decisions: DecisionCounts;
  honest: GroupEvaluation;
  typologies: Record<Typology, GroupEvaluation>;
}

export interface EvaluateOptions {
  fromMs?: number;
  toMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called with each counted attempt's decision (the checkout benchmark layers its exemption on it). */
  onAttempt?: (event: Extract<SimulatedEvent, { kind: 'attempt' }>, decision: RiskVerdict, score: number | null) => void;
}

interface PendingObservation {
  at: number;
  sequence: number;
  observation: RiskObservation;
}

/** A binary min-heap of follow-ups by time, then by scheduling order so that equal times stay stable. */
class FollowUpQueue {
  private readonly heap: PendingObservation[] = [];
  private sequence = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, observation: RiskObservation): void {
    if (this.heap.length >= PENDING_FOLLOW_UPS_MAX) throw new Error(`more than ${PENDING_FOLLOW_UPS_MAX} follow-ups pending`);
    this.heap.push({ at, sequence: this.sequence, observation });
    this.sequence += 1;
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  /** The earliest follow-up if it is due at or before `at`. */
  popDue(at: number): RiskObservation | null {
    const top = this.heap[0];
    if (top === undefined || top.at > at) return null;
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top.observation;
  }

  private siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.heap.length && this.before(left, smallest)) smallest = left;
      if (right < this.heap.length && this.before(right, smallest)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private before(first: number, second: number): boolean {
    const left = this.heap[first];
    const right = this.heap[second];
    if (left === undefined || right === undefined) return false;
    return left.at < right.at || (left.at === right.at && left.sequence < right.sequence);
  }

  private swap(first: number, second: number): void {
    const left = this.heap[first];
    const right = this.heap[second];
    if (left === undefined || right === undefined) return;
    this.heap[first] = right;
    this.heap[second] = left;
  }
}

function emptyDecisions(): DecisionCounts {
  return { allow: 0, challenge: 0, review: 0, block: 0 };
}

function emptyGroup(): GroupEvaluation {
  return { attempts: 0, value_usd_cents: 0, caught_value_usd_cents: 0, value_caught: 0, decisions: emptyDecisions(), challenges_failed: 0 };
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

interface Tally {
  honest: GroupEvaluation;
  typologies: Record<Typology, GroupEvaluation>;
  decisions: DecisionCounts;
  scores: { score: number; fraud: boolean }[];
  durationsMs: number[];
}

function createTally(): Tally {
  return {
    honest: emptyGroup(),
    typologies: Object.fromEntries(TYPOLOGIES.map((typology) => [typology, emptyGroup()])) as Record<Typology, GroupEvaluation>,
    decisions: emptyDecisions(),
    scores: [],
    durationsMs: [],
  };
}

/**
 * Average precision: walking down the scores from the highest, each distinct score is one threshold and
 * adds (recall gained) x (precision at that threshold). Equal scores are taken together, so an engine
 * that gives everything the same score earns exactly the fraud share, the value of a useless ranking.
 */
export function averagePrecision(scored: readonly { score: number; fraud: boolean }[]): number {
  const positives = scored.reduce((count, item) => count + (item.fraud ? 1 : 0), 0);
  if (positives === 0) return 0;
  const sorted = [...scored].sort((left, right) => right.score - left.score);
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let sum = 0;
  for (let index = 0; index < sorted.length;) {
    const score = sorted[index]?.score;
    for (; index < sorted.length && sorted[index]?.score === score; index += 1) {
      seen += 1;
      if (sorted[index]?.fraud === true) truePositives += 1;
    }
    const recall = truePositives / positives;
    sum += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
  }
  return sum;
}

/** Nearest-rank percentile of `values` (sorted here); 0 for no values. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

function finish(tally: Tally): Evaluation {
  const fraud = emptyGroup();
  for (const typology of TYPOLOGIES) {
    const group = tally.typologies[typology];
    group.value_caught = share(group.caught_value_usd_cents, group.value_usd_cents);
    fraud.attempts += group.attempts;
    fraud.value_usd_cents += group.value_usd_cents;
    fraud.caught_value_usd_cents += group.caught_value_usd_cents;
  }
  const honest = tally.honest;
  honest.value_caught = share(honest.caught_value_usd_cents, honest.value_usd_cents);
  const durations = tally.durationsMs;
  return {
    fraud_value_caught: share(fraud.caught_value_usd_cents, fraud.value_usd_cents),
    good_challenged: share(honest.decisions.challenge, honest.attempts),
    good_blocked: share(honest.decisions.block, honest.attempts),
    good_reviewed: share(honest.decisions.review, honest.attempts),
    pr_auc: averagePrecision(tally.scores),
    p99_score_ms: percentile(durations, 0.99),
    mean_score_ms: share(durations.reduce((sum, value) => sum + value, 0), durations.length),
    attempts: honest.attempts + fraud.attempts,
    honest_attempts: honest.attempts,
    fraud_attempts: fraud.attempts,
    fraud_value_usd_cents: fraud.value_usd_cents,
    fraud_caught_value_usd_cents: fraud.caught_value_usd_cents,
    decisions: tally.decisions,
    honest,
    typologies: tally.typologies,
  };
}

async function runAttempt(
  engine: RiskEngine, event: Extract<SimulatedEvent, { kind: 'attempt' }>, queue: FollowUpQueue, tally: Tally | null, onAttempt?: EvaluateOptions['onAttempt'],
): Promise<void> {
  const { input, truth } = event;
  const started = performance.now();
  const assessment = await engine.score(input);
  const elapsedMs = performance.now() - started;
  const decision = assessment.decision;
  const wentThrough = decision === 'allow' || (decision === 'challenge' && truth.passesChallenge);
  const succeeded = wentThrough && truth.railSucceeds;
  await engine.observe({ type: 'outcome', input, succeeded });
  if (succeeded) for (const followUp of event.followUps) queue.push(input.at + followUp.delayMs, followUp.observation);
  if (tally === null) return;
  onAttempt?.(event, decision, assessment.score ?? null);
  const group = truth.typology === null ? tally.honest : tally.typologies[truth.typology];
  const value = usdCents(input.amount, input.currency);
  const challengeFailed = decision === 'challenge' && !truth.passesChallenge;
  group.attempts += 1;
  group.value_usd_cents += value;
  group.decisions[decision] += 1;
  tally.decisions[decision] += 1;
  if (challengeFailed) group.challenges_failed += 1;
  if (decision === 'block' || decision === 'review' || challengeFailed) group.caught_value_usd_cents += value;
  tally.scores.push({ score: assessment.score ?? 0, fraud: truth.fraud });
  tally.durationsMs.push(elapsedMs);
}

async function observeDue(engine: RiskEngine, queue: FollowUpQueue, at: number): Promise<void> {
  for (let observation = queue.popDue(at); observation !== null; observation = queue.popDue(at)) await engine.observe(observation);
}

export async function evaluate(engine: RiskEngine, traffic: readonly SimulatedEvent[], options: EvaluateOptions = {}): Promise<Evaluation> {
  const fromMs = options.fromMs ?? -Infinity;
  const toMs = options.toMs ?? Infinity;
  const tally = createTally();
  const queue = new FollowUpQueue();
  let previousMs = -Infinity;
  for (let index = 0; index < traffic.length; index += 1) {
    const event = traffic[index];
    if (event === undefined) continue;
    const at = eventTime(event);
    if (at < previousMs) throw new Error(`traffic is not in time order at event ${index}`);
    previousMs = at;
    // Follow-ups due by now happened before this event (or at the same instant, scheduled earlier).
    await observeDue(engine, queue, at);
    if (event.kind === 'observation') await engine.observe(event.observation);
    else await runAttempt(engine, event, queue, event.input.at >= fromMs && event.input.at < toMs ? tally : null, options.onAttempt);
    if (options.onProgress && ((index + 1) % PROGRESS_EVERY_EVENTS === 0 || index + 1 === traffic.length)) options.onProgress(index + 1, traffic.length);
  }
  await observeDue(engine, queue, Infinity);
  return finish(tally);
}
