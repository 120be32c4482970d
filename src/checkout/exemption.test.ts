import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../config/config.ts';
import { isExempt } from './exemption.ts';

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
});
