// Tests of the risk engine itself: the signals it computes from observed outcomes, the segments, the
// order in which it decides, the learned model, and the reload of rules and models through the service.
// Every input carries an explicit clock so that windows and ages are deterministic.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestStore, type TestStore } from '../../test/support/stores.ts';
import { createLogger } from '../log/logger.ts';
import { createMemoryCounters } from './counters.ts';
import { createRiskEngine, EMPTY_RULE_BOOK, type ActiveRule, type RuleBook } from './engine.ts';
import { parseModel, trainModel, type TrainedModel, type TrainingRow } from './learned-model.ts';
import type { RiskContext } from './hook.ts';
import type { RiskEngine, RiskInput } from './model.ts';
import { compileRule } from './rules.ts';
import { DEFAULT_RULES } from './default-rules.ts';
import { createRiskService, type RiskService } from './service.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NOW_MS = Date.UTC(2026, 5, 1, 12);

function riskInput(overrides: Partial<RiskInput> = {}): RiskInput {
  return {
    action: 'payment',
    at: NOW_MS,
    merchantId: 'mer_1',
    livemode: true,
    subjectType: 'payment',
    subjectId: 'pay_1',
    buyerId: 'buyer_1',
    amount: 500n,
    currency: 'USD',
    categories: ['article'],
    method: 'wallet',
    context: { deviceId: 'device_1', ipAddress: '198.51.100.1', country: 'KR' },
    buyerCreatedAt: NOW_MS - 60 * DAY_MS,
    ...overrides,
  };
}

function rule(id: string, source: string, mode: 'live' | 'shadow' = 'live'): ActiveRule {
  const compiled = compileRule(source);
  if (!compiled.ok) throw new Error(`test rule ${id} does not compile: ${JSON.stringify(compiled.errors)}`);
  return { id, version: 1, mode, rule: compiled.rule };
}

function engineWith(options: { rules?: ActiveRule[]; lists?: Record<string, string[]>; model?: TrainedModel | null } = {}): RiskEngine {
  const book: RuleBook = {
    rules: options.rules ?? [],
    lists: new Map(Object.entries(options.lists ?? {}).map(([name, values]) => [name, new Set(values)])),
  };
  return createRiskEngine({ counters: createMemoryCounters(), ruleBook: () => book, model: () => options.model ?? null });
}

/** Records `count` outcomes of `input`, one minute apart, ending a minute before `input.at`. */
async function observeOutcomes(engine: RiskEngine, input: RiskInput, count: number, succeeded: boolean): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    await engine.observe({ type: 'outcome', input: { ...input, at: input.at - (count - index) * 60_000 }, succeeded });
  }
}

const codes = (reasons: readonly { code: string }[]) => reasons.map((reason) => reason.code);

describe('risk engine signals', () => {
  it('counts the buyer\'s movements in the last hour', async () => {
    const engine = engineWith();
    await observeOutcomes(engine, riskInput(), 3, true);
    const { signals } = await engine.score(riskInput());
    assert.equal(signals.buyer_payments_1h, 3);
  });

  it('counts failures of the buyer, the card and the IP address', async () => {
    const engine = engineWith();
    const topUp = riskInput({ action: 'top_up', method: 'card', cardFingerprint: 'card_fp_1', cardBin: '411111' });
    await observeOutcomes(engine, topUp, 2, false);
    const { signals } = await engine.score(topUp);
    assert.equal(signals.buyer_failed_1h, 2);
    assert.equal(signals.card_failed_1d, 2);
    assert.equal(signals.ip_failed_1h, 2);
  });

  it('knows devices, IPs and countries only after a movement went through', async () => {
    const engine = engineWith();
    const first = await engine.score(riskInput());
    assert.deepEqual([first.signals.device_is_new, first.signals.ip_is_new, first.signals.country_is_new], [true, true, true]);
    await observeOutcomes(engine, riskInput(), 1, false);
    const afterFailure = await engine.score(riskInput());
    assert.deepEqual([afterFailure.signals.device_is_new, afterFailure.signals.ip_is_new, afterFailure.signals.country_is_new], [true, true, true]);
    await observeOutcomes(engine, riskInput(), 1, true);
    const afterSuccess = await engine.score(riskInput());
    assert.deepEqual([afterSuccess.signals.device_is_new, afterSuccess.signals.ip_is_new, afterSuccess.signals.country_is_new], [false, false, false]);
  });

  it('measures the device\'s age from the buyer\'s first successful payment on it', async () => {
    const engine = engineWith();
    assert.equal((await engine.score(riskInput())).signals.device_age_hours, 0);
    await engine.observe({ type: 'outcome', input: riskInput({ at: NOW_MS - 5 * HOUR_MS }), succeeded: true });
    await engine.observe({ type: 'outcome', input: riskInput({ at: NOW_MS - 2 * HOUR_MS }), succeeded: true });
    assert.equal((await engine.score(riskInput())).signals.device_age_hours, 5);
  });

  it('flags impossible travel from Seoul to New York in an hour', async () => {
    const engine = engineWith();
    const seoul = riskInput({ at: NOW_MS - HOUR_MS, context: { deviceId: 'device_1', latitude: 37.5665, longitude: 126.978 } });
    await engine.observe({ type: 'outcome', input: seoul, succeeded: true });
    const { signals } = await engine.score(riskInput({ context: { deviceId: 'device_1', latitude: 40.7128, longitude: -74.006 } }));
    assert.equal(signals.impossible_travel, true);
    assert.ok(Number(signals.travel_speed_kmh) > 10_000, `speed ${signals.travel_speed_kmh}`);
  });

  it('computes the account age from buyerCreatedAt', async () => {
    const { signals } = await engineWith().score(riskInput({ buyerCreatedAt: NOW_MS - 12 * DAY_MS - HOUR_MS }));
    assert.equal(signals.account_age_days, 12);
  });

  it('computes the share of the wallet a payment spends', async () => {
    const { signals } = await engineWith().score(riskInput({ amount: 750n, walletBalance: 1_000n }));
    assert.equal(signals.wallet_drain_ratio, 0.75);
  });

  it('counts earlier carrier billing on the same phone in the carrier limit used', async () => {
    const engine = engineWith();
    const carrier = riskInput({ method: 'carrier_billing', carrierMonthlyLimit: 10_000n, context: { deviceId: 'device_1', phoneNumber: '+821012345678' } });
    await engine.observe({ type: 'outcome', input: { ...carrier, amount: 5_000n, at: NOW_MS - DAY_MS }, succeeded: true });
    const { signals } = await engine.score({ ...carrier, amount: 3_000n });
    assert.equal(signals.carrier_limit_used_ratio, 0.8);
  });

  it('counts distinct buyers and phones on a device and buyers on a card', async () => {
    const engine = engineWith();
    for (const [buyerId, phoneNumber] of [['buyer_a', '+1555000001'], ['buyer_b', '+1555000002'], ['buyer_c', '+1555000002']] as const) {
      await engine.observe({
        type: 'outcome',
        input: riskInput({ buyerId, at: NOW_MS - HOUR_MS, cardFingerprint: 'card_fp_2', context: { deviceId: 'device_shared', phoneNumber } }),
        succeeded: true,
      });
    }
    const { signals } = await engine.score(riskInput({ buyerId: 'buyer_a', cardFingerprint: 'card_fp_2', context: { deviceId: 'device_shared', phoneNumber: '+1555000001' } }));
    assert.equal(signals.device_buyers_30d, 3);
    assert.equal(signals.device_phones_30d, 2);
    assert.equal(signals.card_buyers_30d, 3);
  });

  it('computes the buyer\'s refund rate and codes redeemed elsewhere', async () => {
    const engine = engineWith();
    await observeOutcomes(engine, riskInput({ at: NOW_MS - DAY_MS }), 4, true);
    await engine.observe({ type: 'refund', at: NOW_MS - HOUR_MS, buyerId: 'buyer_1', merchantId: 'mer_1', amount: 500n, currency: 'USD' });
    for (const redeemerId of ['buyer_x', 'buyer_y']) {
      await engine.observe({ type: 'code_redeemed', at: NOW_MS - HOUR_MS, buyerId: 'buyer_1', redeemerId, merchantId: 'mer_1' });
    }
    const { signals } = await engine.score(riskInput());
    assert.equal(signals.buyer_refund_rate_30d, 0.25);
    assert.equal(signals.buyer_codes_redeemed_elsewhere_30d, 2);
  });

  it('computes the share of a merchant\'s income from new buyers', async () => {
    const engine = engineWith();
    await engine.observe({ type: 'outcome', input: riskInput({ buyerId: 'buyer_new', buyerCreatedAt: NOW_MS - 2 * DAY_MS, amount: 1_000n, at: NOW_MS - HOUR_MS }), succeeded: true });
    await engine.observe({ type: 'outcome', input: riskInput({ buyerId: 'buyer_old', amount: 3_000n, at: NOW_MS - HOUR_MS }), succeeded: true });
    const { signals } = await engine.score(riskInput({ action: 'payout', buyerId: null }));
    assert.equal(signals.merchant_payer_concentration_30d, 0.25);
  });
});

describe('risk engine segments', () => {
  it('puts a young account in new and an older one in established', async () => {
    const engine = engineWith();
    assert.equal((await engine.score(riskInput({ buyerCreatedAt: NOW_MS - 2 * DAY_MS }))).segment, 'new');
    assert.equal((await engine.score(riskInput({ buyerCreatedAt: NOW_MS - 60 * DAY_MS }))).segment, 'established');
  });

  it('trusts an old account with ten successful payments in 30 days', async () => {
    const engine = engineWith();
    await observeOutcomes(engine, riskInput({ at: NOW_MS - DAY_MS }), 10, true);
    assert.equal((await engine.score(riskInput())).segment, 'trusted');
  });

  it('watches a buyer after a fraud label', async () => {
    const engine = engineWith();
    await observeOutcomes(engine, riskInput({ at: NOW_MS - DAY_MS }), 10, true);
    await engine.observe({ type: 'label', at: NOW_MS - HOUR_MS, buyerId: 'buyer_1', subjectId: 'pay_0', fraud: true });
    assert.equal((await engine.score(riskInput())).segment, 'watch');
  });
});

describe('risk engine decisions', () => {
  it('puts the block list before the allow list and the allow list before rules', async () => {
    const bothLists = engineWith({ rules: [rule('block_all', 'block if :amount: > 0')], lists: { block_devices: ['device_1'], allow_buyers: ['buyer_1'] } });
    const blocked = await bothLists.score(riskInput());
    assert.equal(blocked.decision, 'block');
    assert.deepEqual(codes(blocked.reasons), ['block_listed']);
    const allowList = engineWith({ rules: [rule('block_all', 'block if :amount: > 0')], lists: { allow_buyers: ['buyer_1'] } });
    const allowed = await allowList.score(riskInput());
    assert.equal(allowed.decision, 'allow');
    assert.deepEqual(codes(allowed.reasons), ['allow_listed']);
  });

  it('lets a block rule beat an allow rule', async () => {
    const engine = engineWith({ rules: [rule('allow_all', 'allow if :amount: > 0'), rule('block_all', 'block if :amount: > 0')] });
    const assessment = await engine.score(riskInput());
    assert.equal(assessment.decision, 'block');
    assert.ok(codes(assessment.reasons).includes('rule:block_all'));
  });

  it('lets an allow rule override review and challenge rules and the model', async () => {
    const model = trainModel(trainingRows());
    const engine = engineWith({
      model,
      rules: [rule('review_all', 'review if :amount: > 0'), rule('challenge_all', 'challenge if :amount: > 0'), rule('allow_buyer', 'allow if :buyer_id: = \'buyer_1\'')],
    });
    const assessment = await engine.score(riskInput({ amount: 40_000n, buyerCreatedAt: NOW_MS - DAY_MS }));
    assert.equal(assessment.decision, 'allow');
    assert.deepEqual(codes(assessment.reasons), ['rule:allow_buyer']);
    assert.ok(assessment.score !== null && assessment.score > 0.5, `score ${assessment.score}`);
  });

  it('reports shadow rules without acting on them', async () => {
    const engine = engineWith({ rules: [rule('shadow_block', 'block if :amount: > 0', 'shadow')] });
    const assessment = await engine.score(riskInput());
    assert.equal(assessment.decision, 'allow');
    assert.deepEqual(assessment.shadow, [{ ruleId: 'shadow_block', version: 1, action: 'block' }]);
  });

  it('sends the cash-out pattern to review', async () => {
    const engine = engineWith();
    const assessment = await engine.score(riskInput({
      categories: ['gift_card'], method: 'carrier_billing', amount: 4_500n, carrierMonthlyLimit: 5_000n,
      buyerCreatedAt: NOW_MS - 2 * DAY_MS, context: { deviceId: 'device_1', phoneNumber: '+821099998888' },
    }));
    assert.equal(assessment.decision, 'review');
    assert.ok(codes(assessment.reasons).includes('cash_out_pattern'), JSON.stringify(assessment.reasons));
  });

  it('challenges a large amount from a new device', async () => {
    const assessment = await engineWith().score(riskInput({ amount: 20_000n }));
    assert.equal(assessment.decision, 'challenge');
    assert.deepEqual(codes(assessment.reasons), ['new_device_large_amount']);
  });

  it('does not challenge a trusted buyer under the low-value threshold, but challenges a new buyer', async () => {
    const engine = engineWith({ rules: [rule('challenge_over_10', 'challenge if :amount_usd: > 1000')] });
    await observeOutcomes(engine, riskInput({ at: NOW_MS - DAY_MS }), 10, true);
    const trusted = await engine.score(riskInput({ amount: 2_000n }));
    assert.equal(trusted.segment, 'trusted');
    assert.equal(trusted.decision, 'allow');
    assert.ok(codes(trusted.reasons).includes('trusted_low_value'));
    const fresh = await engine.score(riskInput({ buyerId: 'buyer_fresh', buyerCreatedAt: NOW_MS - DAY_MS, amount: 2_000n }));
    assert.equal(fresh.segment, 'new');
    assert.equal(fresh.decision, 'challenge');
    assert.deepEqual(codes(fresh.reasons), ['rule:challenge_over_10']);
  });

  it('sends a payout that would be challenged to review', async () => {
    const engine = engineWith({ rules: [rule('challenge_payouts', 'challenge if :action: = \'payout\'')] });
    const assessment = await engine.score(riskInput({ action: 'payout', buyerId: null, subjectType: 'payout' }));
    assert.equal(assessment.decision, 'review');
  });

  it('allows with low_risk when there are no rules and no model', async () => {
    const engine = createRiskEngine({ counters: createMemoryCounters(), ruleBook: () => EMPTY_RULE_BOOK, model: () => null });
    const assessment = await engine.score(riskInput());
    assert.equal(assessment.decision, 'allow');
    assert.equal(assessment.score, null);
    assert.deepEqual(codes(assessment.reasons), ['low_risk']);
  });
});

/** Synthetic rows: fraud comes from new devices with large amounts, honest payments from known devices with small ones. */
function trainingRows(): TrainingRow[] {
  const rows: TrainingRow[] = [];
  for (let index = 0; index < 60; index += 1) {
    rows.push({ signals: { device_is_new: index % 10 !== 0, amount_usd: 20_000 + index * 500 }, fraud: true });
  }
  for (let index = 0; index < 600; index += 1) {
    rows.push({ signals: { device_is_new: index % 10 === 0, amount_usd: 100 + (index % 40) * 50 }, fraud: false });
  }
  return rows;
}

describe('risk engine with a learned model', () => {
  it('scores a risky input higher, with the model\'s reasons, and allows a benign one', async () => {
    const engine = engineWith({ model: trainModel(trainingRows()) });
    const benignInput = riskInput({ amount: 300n });
    await engine.observe({ type: 'outcome', input: { ...benignInput, at: NOW_MS - 3 * DAY_MS }, succeeded: true });
    const benign = await engine.score(benignInput);
    const risky = await engine.score(riskInput({ buyerId: 'buyer_risky', buyerCreatedAt: NOW_MS - DAY_MS, amount: 30_000n, context: { deviceId: 'device_9' } }));
    assert.ok(benign.score !== null && risky.score !== null);
    assert.ok(risky.score > benign.score, `risky ${risky.score} benign ${benign.score}`);
    assert.notEqual(risky.decision, 'allow');
    assert.ok(codes(risky.reasons).includes('high_risk_score'), JSON.stringify(risky.reasons));
    assert.ok(codes(risky.reasons).some((code) => code === 'amount_usd' || code === 'device_is_new'), JSON.stringify(risky.reasons));
    assert.equal(benign.decision, 'allow', JSON.stringify(benign));
  });

  it('refuses a malformed model', () => {
    const model = trainModel(trainingRows());
    assert.throws(() => parseModel({ ...model, format: 'other/1' }), /not a micropay-risk-logistic\/1 model/);
    assert.throws(() => parseModel(null), /not a/);
    assert.throws(() => parseModel({ ...model, features: [{ ...model.features[0]!, name: 'shoe_size' }] }), /unknown signal: shoe_size/);
    assert.throws(() => parseModel({ ...model, features: [{ ...model.features[0]!, weight: Number.NaN }] }), /not finite/);
    assert.equal(parseModel(JSON.parse(JSON.stringify(model))).bias, model.bias);
  });
});

describe('risk service reloads', () => {
  let testStore: TestStore;
  let first: RiskService;
  let second: RiskService;
  const context: RiskContext = {
    action: 'payment', merchantId: 'mer_1', livemode: true, subjectType: 'payment', subjectId: 'pay_1',
    buyerId: 'buyer_1', amount: 800n, currency: 'USD', categories: ['article'], method: 'wallet',
  };

  before(async () => {
    testStore = await createTestStore('pglite');
    const logger = createLogger('silent');
    first = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger, reloadIntervalMs: 0 });
    second = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger, reloadIntervalMs: 0 });
  });

  after(async () => {
    first?.close();
    second?.close();
    await testStore?.drop();
  });

  it('loads a model another service saved after refresh()', async () => {
    assert.equal((await second.hook.score(context)).score, null);
    const version = await first.saveModel(trainModel(trainingRows()), { note: 'test' }, true);
    assert.equal(first.loadedModelVersion(), version);
    assert.equal(second.loadedModelVersion(), null);
    await second.refresh();
    assert.equal(second.loadedModelVersion(), version);
    const decision = await second.hook.score(context);
    assert.equal(typeof decision.score, 'number');
  });

  it('applies a rule another service saved after refresh()', async () => {
    const saved = await first.saveRule({ id: 'block_over_5', source: 'block if :amount_usd: > 500', mode: 'live', position: 0, description: null }, null);
    assert.equal(saved.ok, true);
    assert.equal((await first.hook.score(context)).decision, 'block');
    assert.notEqual((await second.hook.score(context)).decision, 'block');
    await second.refresh();
    const decision = await second.hook.score(context);
    assert.equal(decision.decision, 'block');
    assert.ok(codes(decision.reasons).includes('rule:block_over_5'));
  });
});

describe('default rules of a new installation', () => {
  let testStore: TestStore;
  before(async () => {
    testStore = await createTestStore('pglite');
  });
  after(() => testStore.drop());

  it('stores the default rules once, live, and a second process starting finds them instead of adding versions', async () => {
    const logger = createLogger('silent');
    const first = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger, reloadIntervalMs: 0, defaultRules: 'live' });
    const second = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger, reloadIntervalMs: 0, defaultRules: 'shadow' });
    const rules = await second.rules();
    assert.equal(rules.length, DEFAULT_RULES.length);
    assert.ok(rules.every((rule) => rule.version === 1 && rule.mode === 'live'));
    assert.deepEqual(rules.map((rule) => rule.id), DEFAULT_RULES.map((rule) => rule.id));
    first.close();
    second.close();
  });
});

describe('risk service rules and models', () => {
  let testStore: TestStore;
  let service: RiskService;
  let other: RiskService;
  before(async () => {
    testStore = await createTestStore('pglite');
    service = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger: createLogger('silent'), reloadIntervalMs: 0 });
    other = await createRiskService({ db: testStore.db, counters: createMemoryCounters(), logger: createLogger('silent'), reloadIntervalMs: 0 });
  });
  after(async () => {
    service.close();
    other.close();
    await testStore.drop();
  });

  it('knows a list another process just created, and lets a rule naming a removed list be disabled', async () => {
    await other.addListItem('vip_devices', 'dev_1', null);
    const saved = await service.saveRule({ id: 'vip', source: 'allow if :device_id: in @vip_devices', mode: 'live', position: 1, description: null }, null);
    assert.equal(saved.ok, true);
    await other.removeListItem('vip_devices', 'dev_1');
    const live = await service.saveRule({ id: 'vip', source: 'allow if :device_id: in @vip_devices', mode: 'live', position: 1, description: null }, 1);
    assert.equal(live.ok, false);
    assert.equal(!live.ok && live.code, 'rule_invalid');
    const disabled = await service.saveRule({ id: 'vip', source: 'allow if :device_id: in @vip_devices', mode: 'disabled', position: 1, description: null }, 1);
    assert.equal(disabled.ok && disabled.rule.version, 2);
  });

  it('reads one model by version, however many newer ones there are', async () => {
    const first = await service.saveModel(trainModel(trainingRows()), { note: 'first' }, false);
    await service.saveModel(trainModel(trainingRows()), { note: 'second' }, true);
    assert.ok(await service.activateModel(first));
    const [model] = await service.models(first);
    assert.equal(model?.version, first);
    assert.equal(model?.active, true);
    assert.equal(service.loadedModelVersion(), first);
  });
});
