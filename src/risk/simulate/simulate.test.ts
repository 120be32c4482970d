import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RiskAssessment, RiskEngine, RiskInput, RiskObservation, RiskVerdict, Signals } from '../model.ts';
import { CASH_EQUIVALENT_CATEGORIES } from '../model.ts';
import { averagePrecision, evaluate, percentile } from './harness.ts';
import { usdCents } from './rates.ts';
import { DEFAULT_TRAFFIC_OPTIONS, TYPOLOGIES, eventTime, generateTraffic, summarizeTraffic } from './traffic.ts';
import type { FollowUp, SimulatedEvent, SimulatedTraffic, Truth, Typology } from './traffic.ts';

const SMALL = { seed: 7, weeks: 2, buyers: 1_500, merchants: 60 };

let defaultTraffic: { traffic: SimulatedTraffic; elapsedMs: number } | null = null;
function trafficAtDefaultSizes(): { traffic: SimulatedTraffic; elapsedMs: number } {
  if (defaultTraffic === null) {
    const started = performance.now();
    const traffic = generateTraffic({ ...DEFAULT_TRAFFIC_OPTIONS });
    defaultTraffic = { traffic, elapsedMs: performance.now() - started };
  }
  return defaultTraffic;
}

function attempts(events: readonly SimulatedEvent[]): Extract<SimulatedEvent, { kind: 'attempt' }>[] {
  return events.filter((event): event is Extract<SimulatedEvent, { kind: 'attempt' }> => event.kind === 'attempt');
}

describe('generateTraffic', () => {
  test('the same seed gives the same traffic, another seed another', () => {
    const first = generateTraffic(SMALL);
    const again = generateTraffic(SMALL);
    assert.deepEqual(again, first);
    const other = generateTraffic({ ...SMALL, seed: 8 });
    const ids = (traffic: SimulatedTraffic) => attempts(traffic.events).slice(0, 50).map((event) => event.input.subjectId);
    assert.notDeepEqual(ids(other), ids(first));
    assert.notEqual(other.events.length, first.events.length);
  });

  test('events are in time order inside [startMs, endMs), and follow-ups come after their attempt', () => {
    const traffic = generateTraffic(SMALL);
    let previous = -Infinity;
    for (const event of traffic.events) {
      const at = eventTime(event);
      assert.ok(at >= previous, 'time order');
      assert.ok(at >= traffic.startMs && at < traffic.endMs);
      previous = at;
      if (event.kind !== 'attempt') continue;
      for (const followUp of event.followUps) {
        assert.ok(followUp.delayMs > 0);
        if (followUp.observation.type !== 'outcome') assert.equal(followUp.observation.at, event.input.at + followUp.delayMs);
      }
    }
  });

  test('default sizes: 150,000 to 300,000 attempts, 98 to 99% honest, every typology with hundreds of attempts', () => {
    const { traffic, elapsedMs } = trafficAtDefaultSizes();
    const summary = summarizeTraffic(traffic.events);
    assert.ok(summary.attempts >= 150_000 && summary.attempts <= 300_000, `attempts ${summary.attempts}`);
    const honestShare = summary.honest.attempts / summary.attempts;
    assert.ok(honestShare >= 0.975 && honestShare <= 0.99, `honest share ${honestShare}`);
    for (const typology of TYPOLOGIES) {
      const counts = summary.typologies[typology];
      assert.ok(counts.attempts >= 150 && counts.attempts <= 5_000, `${typology}: ${counts.attempts}`);
      assert.ok(counts.valueUsdCents > 0);
    }
    assert.ok(elapsedMs < 20_000, `generation took ${elapsedMs} ms`);
  });

  test('every typology is present at small sizes, and a scale of 0 removes one', () => {
    const summary = summarizeTraffic(generateTraffic(SMALL).events);
    for (const typology of TYPOLOGIES) assert.ok(summary.typologies[typology].attempts > 0, typology);
    const without = summarizeTraffic(generateTraffic({ ...SMALL, fraudScale: { cash_out: 0 } }).events);
    assert.equal(without.typologies.cash_out.attempts, 0);
    assert.ok(without.typologies.card_testing.attempts > 0);
  });

  test('fraud that goes through is labelled later; honest traffic almost never is', () => {
    const events = attempts(trafficAtDefaultSizes().traffic.events);
    const labelled = (followUps: FollowUp[]) => followUps.some((followUp) => followUp.observation.type === 'label' && followUp.observation.fraud);
    for (const typology of TYPOLOGIES) {
      const through = events.filter((event) => event.truth.typology === typology && event.truth.railSucceeds);
      const share = through.filter((event) => labelled(event.followUps)).length / through.length;
      assert.ok(share >= (typology === 'cash_out' ? 0.75 : 1), `${typology} labelled ${share}`);
      for (const event of through) {
        for (const followUp of event.followUps) {
          if (followUp.observation.type === 'label') assert.ok(followUp.delayMs >= 3 * 86_400_000 && followUp.delayMs <= 60 * 86_400_000, `${typology} label after ${followUp.delayMs} ms`);
        }
      }
    }
    const honest = events.filter((event) => !event.truth.fraud);
    const falseLabels = honest.filter((event) => labelled(event.followUps)).length;
    assert.ok(falseLabels > 0 && falseLabels / honest.length < 0.001, `false labels ${falseLabels}`);
  });

  test('typologies behave as described', () => {
    const events = attempts(trafficAtDefaultSizes().traffic.events);
    const of = (typology: Typology) => events.filter((event) => event.truth.typology === typology);
    const share = (list: typeof events, predicate: (event: (typeof events)[number]) => boolean) => list.filter(predicate).length / list.length;
    const cardTesting = of('card_testing').filter((event) => event.input.action === 'top_up');
    const declined = share(cardTesting, (event) => !event.truth.railSucceeds);
    assert.ok(declined > 0.75 && declined < 0.92, `card testing declined ${declined}`);
    assert.ok(new Set(cardTesting.map((event) => event.input.cardFingerprint)).size > cardTesting.length * 0.7);
    assert.equal(share(of('account_takeover'), (event) => event.truth.passesChallenge), 0);
    assert.ok(share(of('account_takeover'), (event) => event.input.buyerCreatedAt! < event.input.at - 14 * 86_400_000) === 1);
    assert.equal(share(of('cash_out'), (event) => event.truth.passesChallenge && event.input.method === 'carrier_billing'), 1);
    assert.equal(share(of('stolen_phone_carrier_billing'), (event) => event.input.method === 'carrier_billing' && !event.truth.passesChallenge), 1);
    const redeemedQuickly = share(of('cash_out'), (event) => event.followUps.some((followUp) => followUp.observation.type === 'code_redeemed' && followUp.delayMs <= 20 * 60_000));
    assert.ok(redeemedQuickly > 0.85, `cash-out redeemed quickly ${redeemedQuickly}`);
    assert.ok(share(of('refund_abuse'), (event) => event.followUps.some((followUp) => followUp.observation.type === 'refund')) > 0.6);
    const payouts = of('mule_creator').filter((event) => event.input.action === 'payout');
    assert.ok(payouts.length > 0 && payouts.every((event) => event.input.buyerId === null && event.input.merchantId !== null));
    assert.ok(of('mule_creator').some((event) => event.input.action === 'tip'));
  });

  test('honest traffic is not separable from fraud by one field', () => {
    const events = attempts(trafficAtDefaultSizes().traffic.events);
    const honest = events.filter((event) => !event.truth.fraud);
    const some = (predicate: (input: RiskInput) => boolean) => honest.filter((event) => predicate(event.input)).length;
    // Honest buyers also buy resellable codes, open accounts, pay abroad, bill their phones and get declined.
    assert.ok(some((input) => input.categories.some((category) => CASH_EQUIVALENT_CATEGORIES.has(category))) > 1_000);
    assert.ok(some((input) => input.buyerCreatedAt != null && input.at - input.buyerCreatedAt < 86_400_000) > 1_000);
    assert.ok(honest.filter((event) => event.input.method === 'carrier_billing' && !event.truth.railSucceeds).length > 100);
    assert.ok(honest.filter((event) => event.input.action === 'top_up' && !event.truth.railSucceeds).length > 500);
    assert.ok(some((input) => input.action === 'payout') > 100);
    // No single value of a categorical field both makes up most of the fraud and is mostly fraud.
    const fields: Record<string, (input: RiskInput) => string> = {
      action: (input) => input.action,
      method: (input) => String(input.method),
      category: (input) => input.categories.join(','),
      country: (input) => String(input.context.country),
      currency: (input) => input.currency,
      userAgent: (input) => String(input.context.userAgent),
      bin: (input) => String(input.cardBin),
    };
    for (const [name, field] of Object.entries(fields)) {
      const counts = new Map<string, { fraud: number; all: number }>();
      for (const event of events) {
        const value = field(event.input);
        const count = counts.get(value) ?? { fraud: 0, all: 0 };
        count.all += 1;
        if (event.truth.fraud) count.fraud += 1;
        counts.set(value, count);
      }
      const fraudTotal = events.length - honest.length;
      for (const [value, count] of counts) {
        const precision = count.fraud / count.all;
        const recall = count.fraud / fraudTotal;
        assert.ok(!(precision > 0.5 && recall > 0.2), `${name} = ${value}: precision ${precision}, recall ${recall}`);
      }
    }
  });

  test('rejects sizes out of bounds', () => {
    assert.throws(() => generateTraffic({ ...SMALL, weeks: 0 }), RangeError);
    assert.throws(() => generateTraffic({ ...SMALL, buyers: 1.5 }), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------
// The harness, on hand-made traffic and tiny engines.

const EMPTY_SIGNALS = {} as Signals;

function assessment(decision: RiskVerdict, score: number | null): RiskAssessment {
  return { decision, score, reasons: [], segment: 'established', signals: EMPTY_SIGNALS, shadow: [] };
}

interface RecordingEngine extends RiskEngine {
  observed: RiskObservation[];
}

function recordingEngine(decide: (input: RiskInput) => RiskAssessment): RecordingEngine {
  const observed: RiskObservation[] = [];
  return {
    observed,
    async score(input) {
      return decide(input);
    },
    async observe(observation) {
      observed.push(observation);
    },
  };
}

const allowAll = () => recordingEngine(() => assessment('allow', null));
const blockAll = () => recordingEngine(() => assessment('block', 1));
const reviewAll = () => recordingEngine(() => assessment('review', 0.5));
/** Blocks cash equivalents, challenges from 500 minor units, allows the rest; scores to match. */
const cashEquivalentEngine = () =>
  recordingEngine((input) => {
    if (input.categories.some((category) => CASH_EQUIVALENT_CATEGORIES.has(category))) return assessment('block', 0.9);
    return assessment(input.amount >= 500n ? 'challenge' : 'allow', Number(input.amount) / 10_000);
  });

function handAttempt(
  at: number, amount: bigint, currency: string, categories: string[], truth: Truth, followUps: FollowUp[] = [], action: RiskInput['action'] = 'payment',
): SimulatedEvent {
  const input: RiskInput = {
    action, at, merchantId: 'mer_1', livemode: true, subjectType: action, subjectId: `subject_${at}`, buyerId: `buyer_${at}`,
    amount, currency, categories, method: action === 'top_up' ? 'card' : 'wallet', context: {},
  };
  return { kind: 'attempt', input, truth, followUps };
}

const honestTruth = (passesChallenge: boolean, railSucceeds: boolean): Truth => ({ fraud: false, typology: null, passesChallenge, railSucceeds });
const fraudTruth = (typology: Typology, passesChallenge: boolean, railSucceeds: boolean): Truth => ({ fraud: true, typology, passesChallenge, railSucceeds });

const REFUND_OF_FIRST: RiskObservation = { type: 'refund', at: 6_000, buyerId: 'buyer_1000', merchantId: 'mer_1', amount: 500n, currency: 'USD' };
const LABEL_OF_SECOND: RiskObservation = { type: 'label', at: 2_100, buyerId: 'buyer_2000', subjectId: 'subject_2000', fraud: true };
const REDEMPTION_OF_THIRD: RiskObservation = { type: 'code_redeemed', at: 3_060, buyerId: 'buyer_3000', redeemerId: 'buyer_x', merchantId: 'mer_1' };
const LABEL_OF_SIXTH: RiskObservation = { type: 'label', at: 6_010, buyerId: 'buyer_6000', subjectId: 'subject_6000', fraud: true };
const STANDALONE: RiskObservation = { type: 'refund', at: 2_500, buyerId: 'buyer_0', merchantId: 'mer_1', amount: 100n, currency: 'USD' };

/** Six attempts: three honest (USD 500, USD 2,000 gift card, USD 100), three fraudulent (USD 3,000, ₩50,000, USD 500). */
function handMadeTraffic(): SimulatedEvent[] {
  return [
    handAttempt(1_000, 500n, 'USD', ['article'], honestTruth(true, true), [{ delayMs: 5_000, observation: REFUND_OF_FIRST }]),
    handAttempt(2_000, 3_000n, 'USD', ['gift_card'], fraudTruth('account_takeover', false, true), [{ delayMs: 100, observation: LABEL_OF_SECOND }]),
    { kind: 'observation', observation: STANDALONE },
    handAttempt(3_000, 50_000n, 'KRW', ['game_credit_code'], fraudTruth('cash_out', true, true), [{ delayMs: 60, observation: REDEMPTION_OF_THIRD }]),
    handAttempt(4_000, 2_000n, 'USD', ['gift_card'], honestTruth(true, true)),
    handAttempt(5_000, 100n, 'USD', ['song'], honestTruth(false, false)),
    handAttempt(6_000, 500n, 'USD', [], fraudTruth('card_testing', false, false), [{ delayMs: 10, observation: LABEL_OF_SIXTH }], 'top_up'),
  ];
}

function outcomes(engine: RecordingEngine): [string, boolean][] {
  return engine.observed.flatMap((observation) => (observation.type === 'outcome' ? [[observation.input.subjectId, observation.succeeded] as [string, boolean]] : []));
}

describe('evaluate', () => {
  const cashOutValue = usdCents(50_000n, 'KRW');
  const fraudValue = 3_000 + cashOutValue + 500;

  test('an engine that allows everything catches nothing and ranks no better than chance', async () => {
    const result = await evaluate(allowAll(), handMadeTraffic());
    assert.equal(result.fraud_value_caught, 0);
    assert.equal(result.good_challenged, 0);
    assert.equal(result.good_blocked, 0);
    assert.equal(result.pr_auc, 0.5);
    assert.equal(result.attempts, 6);
    assert.equal(result.honest_attempts, 3);
    assert.equal(result.fraud_attempts, 3);
    assert.equal(result.fraud_value_usd_cents, fraudValue);
    assert.deepEqual(result.decisions, { allow: 6, challenge: 0, review: 0, block: 0 });
    assert.equal(result.honest.value_usd_cents, 2_600);
  });

  test('blocking or reviewing everything catches all fraud value and stops every honest attempt', async () => {
    const blocked = await evaluate(blockAll(), handMadeTraffic());
    assert.equal(blocked.fraud_value_caught, 1);
    assert.equal(blocked.good_blocked, 1);
    assert.equal(blocked.good_challenged, 0);
    assert.equal(blocked.fraud_caught_value_usd_cents, fraudValue);
    const reviewed = await evaluate(reviewAll(), handMadeTraffic());
    assert.equal(reviewed.fraud_value_caught, 1);
    assert.equal(reviewed.good_reviewed, 1);
    assert.equal(reviewed.good_blocked, 0);
  });

  test('a cash-equivalent rule: exact shares, per-typology figures and average precision', async () => {
    const result = await evaluate(cashEquivalentEngine(), handMadeTraffic());
    // Fraud: the gift card and the code are blocked, the card-testing top-up fails its challenge.
    assert.equal(result.fraud_value_caught, 1);
    // Honest: the article is challenged (and passes), the gift card blocked, the song allowed.
    assert.equal(result.good_challenged, 1 / 3);
    assert.equal(result.good_blocked, 1 / 3);
    assert.equal(result.good_reviewed, 0);
    assert.deepEqual(result.decisions, { allow: 1, challenge: 2, review: 0, block: 3 });
    assert.deepEqual(result.typologies.card_testing, {
      attempts: 1, value_usd_cents: 500, caught_value_usd_cents: 500, value_caught: 1,
      decisions: { allow: 0, challenge: 1, review: 0, block: 0 }, challenges_failed: 1,
    });
    assert.equal(result.typologies.cash_out.value_usd_cents, cashOutValue);
    assert.equal(result.typologies.account_takeover.decisions.block, 1);
    assert.equal(result.typologies.refund_abuse.attempts, 0);
    assert.equal(result.honest.caught_value_usd_cents, 2_000);
    // Scores 0.9 {fraud, fraud, honest}, 0.05 {honest, fraud}, 0.01 {honest}: 2/3 x 2/3 + 1/3 x 3/5.
    assert.ok(Math.abs(result.pr_auc - (4 / 9 + 1 / 5)) < 1e-12);
    assert.ok(result.p99_score_ms >= 0 && result.mean_score_ms >= 0);
  });

  test('a challenge the fraudster passes is not caught', async () => {
    const engine = recordingEngine(() => assessment('challenge', 0.5));
    const result = await evaluate(engine, handMadeTraffic());
    // Only the cash-out code goes through: its owner passes challenges.
    assert.equal(result.fraud_value_caught, (3_000 + 500) / fraudValue);
    assert.equal(result.good_challenged, 1);
    assert.equal(result.typologies.cash_out.challenges_failed, 0);
    assert.equal(result.typologies.account_takeover.challenges_failed, 1);
  });

  test('follow-ups are delivered at their time, and only after attempts that went through and succeeded', async () => {
    const allowing = allowAll();
    await evaluate(allowing, handMadeTraffic());
    assert.deepEqual(allowing.observed.map((observation) => (observation.type === 'outcome' ? `outcome ${observation.input.at}` : `${observation.type} ${observation.at}`)), [
      'outcome 1000', 'outcome 2000', 'label 2100', 'refund 2500', 'outcome 3000', 'code_redeemed 3060', 'outcome 4000', 'outcome 5000',
      'refund 6000', 'outcome 6000',
    ]);
    assert.deepEqual(outcomes(allowing).map(([, succeeded]) => succeeded), [true, true, true, true, false, false]);

    const blocking = blockAll();
    await evaluate(blocking, handMadeTraffic());
    assert.deepEqual(blocking.observed.filter((observation) => observation.type !== 'outcome'), [STANDALONE]);
    assert.ok(outcomes(blocking).every(([, succeeded]) => !succeeded));

    const rule = cashEquivalentEngine();
    await evaluate(rule, handMadeTraffic());
    assert.deepEqual(rule.observed.filter((observation) => observation.type !== 'outcome'), [STANDALONE, REFUND_OF_FIRST]);
    assert.deepEqual(outcomes(rule).map(([, succeeded]) => succeeded), [true, false, false, false, false, false]);
  });

  test('only attempts inside [fromMs, toMs) are counted, but every event is fed', async () => {
    const engine = allowAll();
    const progress: number[] = [];
    const result = await evaluate(engine, handMadeTraffic(), { fromMs: 2_000, toMs: 5_000, onProgress: (done) => progress.push(done) });
    assert.equal(result.attempts, 3);
    assert.equal(result.fraud_attempts, 2);
    assert.equal(result.honest_attempts, 1);
    assert.equal(outcomes(engine).length, 6);
    assert.deepEqual(progress, [7]);
  });

  test('traffic out of time order is refused', async () => {
    const traffic = handMadeTraffic().reverse();
    await assert.rejects(evaluate(allowAll(), traffic), /time order/);
  });

  test('average precision and percentiles', () => {
    assert.equal(averagePrecision([{ score: 0.9, fraud: true }, { score: 0.1, fraud: false }]), 1);
    assert.equal(averagePrecision([{ score: 0.9, fraud: false }, { score: 0.1, fraud: true }]), 0.5);
    assert.equal(averagePrecision([{ score: 0.2, fraud: false }]), 0);
    assert.equal(percentile([5, 1, 4, 2, 3], 0.99), 5);
    assert.equal(percentile(Array.from({ length: 200 }, (_, index) => index + 1), 0.99), 198);
    assert.equal(percentile([], 0.99), 0);
  });

  test('runs an engine over generated traffic and counts every attempt once', async () => {
    const traffic = generateTraffic(SMALL);
    const summary = summarizeTraffic(traffic.events);
    const result = await evaluate(allowAll(), traffic.events);
    assert.equal(result.attempts, summary.attempts);
    assert.equal(result.fraud_attempts, summary.fraud.attempts);
    assert.equal(result.fraud_value_usd_cents, summary.fraud.valueUsdCents);
    for (const typology of TYPOLOGIES) assert.equal(result.typologies[typology].attempts, summary.typologies[typology].attempts);
  });
});
