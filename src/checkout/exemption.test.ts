import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../config/config.ts';
import { exemptionOf, isExempt } from './exemption.ts';

describe('the low-value exemption', () => {
  const eur = { singleMax: 3000n, cumulativeMax: 10_000n, countMax: 5 };

  it('exempts a small payment while the cumulative amount or the count since the last confirmation allows', () => {
    assert.equal(isExempt(eur, 3000n, { count: 0, total: 0n }), true);
    assert.equal(isExempt(eur, 3001n, { count: 0, total: 0n }), false, 'over the single-payment limit');
    assert.equal(isExempt(eur, 1000n, { count: 9, total: 9000n }), true, 'the cumulative amount still allows');
    assert.equal(isExempt(eur, 1000n, { count: 4, total: 9500n }), true, 'the count still allows');
    assert.equal(isExempt(eur, 1000n, { count: 5, total: 9500n }), false, 'neither allows');
    assert.equal(isExempt(undefined, 1n, { count: 0, total: 0n }), false, 'a currency without an exemption');
  });

  it('reads CHECKOUT_EXEMPTIONS, refuses a malformed entry, and an empty value means no exemption', () => {
    assert.deepEqual(loadConfig({ CHECKOUT_EXEMPTIONS: 'USD:100:250:2' }).checkout.exemptions, { USD: { singleMax: 100n, cumulativeMax: 250n, countMax: 2 } });
    assert.deepEqual(loadConfig({ CHECKOUT_EXEMPTIONS: '' }).checkout.exemptions, {});
    assert.equal(loadConfig({}).checkout.exemptions.KRW?.singleMax, 45_000n, '₩45,000: won have no minor unit');
    assert.throws(() => loadConfig({ CHECKOUT_EXEMPTIONS: 'USD:100:250' }), ConfigError);
    assert.throws(() => loadConfig({ CHECKOUT_SUPPORT_EMAIL: 'nobody' }), ConfigError);
  });

  it('falls back on transaction risk analysis: a low enough model score, up to its own limit', () => {
    const tra = { amountMax: { EUR: 10_000n }, scoreMax: 0.005 };
    const spent = { count: 5, total: 9500n };
    assert.equal(exemptionOf(eur, tra, 'EUR', 1000n, { count: 0, total: 0n }, null), 'low_value', 'the low-value exemption comes first');
    assert.equal(exemptionOf(eur, tra, 'EUR', 1000n, spent, 0.001), 'transaction_risk');
    assert.equal(exemptionOf(eur, tra, 'EUR', 10_000n, spent, 0.001), 'transaction_risk', 'up to the limit');
    assert.equal(exemptionOf(eur, tra, 'EUR', 10_001n, spent, 0.001), null, 'over the limit');
    assert.equal(exemptionOf(eur, tra, 'EUR', 1000n, spent, 0.005), null, 'not below the score limit');
    assert.equal(exemptionOf(eur, tra, 'EUR', 1000n, spent, null), null, 'no model, no analysis');
    assert.equal(exemptionOf(eur, tra, 'USD', 1000n, spent, 0.001), null, 'a currency without a limit');
    assert.deepEqual(loadConfig({ CHECKOUT_TRA_EXEMPTIONS: '' }).checkout.traAmountMax, {});
    assert.equal(loadConfig({}).checkout.traAmountMax.EUR, 10_000n);
    assert.throws(() => loadConfig({ CHECKOUT_TRA_SCORE_MAX: '2' }), ConfigError);
  });
});
