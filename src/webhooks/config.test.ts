import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/config.ts';

describe('webhook configuration', () => {
  it('has defaults that run locally: the documented retry schedule, private targets for test mode only', () => {
    const { webhooks } = loadConfig({});
    assert.deepEqual(webhooks.retryScheduleMs, [5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000, 86_400_000]);
    assert.equal(webhooks.privateTargets, 'test');
    assert.equal(webhooks.timeoutMs, 10_000);
    assert.equal(webhooks.concurrency, 16);
    assert.equal(webhooks.secretEncryptionKey, undefined);
  });

  it('reads WEBHOOK_* settings and refuses malformed ones naming the variable', () => {
    const { webhooks } = loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '10, 20,40', WEBHOOK_PRIVATE_TARGETS: 'none', WEBHOOK_DISABLE_AFTER_EXHAUSTED_DELIVERIES: '0' });
    assert.deepEqual(webhooks.retryScheduleMs, [10, 20, 40]);
    assert.equal(webhooks.privateTargets, 'none');
    assert.equal(webhooks.disableAfterExhaustedDeliveries, 0);
    assert.throws(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '5s,30s' }), /WEBHOOK_RETRY_SCHEDULE_MS must be/);
    assert.throws(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: Array(21).fill('1').join(',') }), /WEBHOOK_RETRY_SCHEDULE_MS must be 1 to 20/);
    assert.throws(() => loadConfig({ WEBHOOK_PRIVATE_TARGETS: 'some' }), /WEBHOOK_PRIVATE_TARGETS must be one of/);
    assert.throws(() => loadConfig({ WEBHOOK_SECRET_ENCRYPTION_KEY: 'c2hvcnQ=' }), /WEBHOOK_SECRET_ENCRYPTION_KEY must be base64 of exactly 32 bytes/);
    assert.throws(() => loadConfig({ WEBHOOK_CONCURRENCY: '0' }), /WEBHOOK_CONCURRENCY must be between/);
  });

  it('refuses private targets for every mode in production unless told otherwise', () => {
    const production = { MICROPAY_MODE: 'production', DATABASE_URL: 'postgres://u@h/db', VAULT_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), CARD_PROCESSOR_URL: 'https://acquirer.example', CARD_PROCESSOR_API_KEY: 'k', REDIS_URL: 'redis://127.0.0.1:6379' };
    assert.equal(loadConfig(production).webhooks.privateTargets, 'none');
    assert.equal(loadConfig({ ...production, WEBHOOK_PRIVATE_TARGETS: 'all' }).webhooks.privateTargets, 'all');
  });
});
