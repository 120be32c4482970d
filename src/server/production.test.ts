// A production-mode server on PostgreSQL: no development keys, no live payouts without a bank rail,
// and what Node's HTTP parser refuses still answered with the API's error shape.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { bootstrapDevelopment } from './bootstrap.ts';
import { HEADER_BYTES_MAX } from './app.ts';

describe('a production-mode server on PostgreSQL', () => {
  let api: TestApi;
  let merchant: TestMerchant;
  let url: string;

  before(async () => {
    api = await startTestApi('postgres', {
      env: {
        MICROPAY_MODE: 'production',
        VAULT_MASTER_KEY: randomBytes(32).toString('base64'),
        CARD_PROCESSOR_URL: 'https://processor.invalid',
        CARD_PROCESSOR_API_KEY: 'unused',
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      },
    });
    merchant = await api.createMerchant();
    url = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => api.close());

  it('creates no development keys', async () => {
    assert.equal(await bootstrapDevelopment(api.runtime), null);
  });

  it('refuses live payouts when no bank rail is configured, and holds nothing', async () => {
    const settings = await api.call('POST', '/v1/payout_settings', {
      key: merchant.liveSecretKey,
      body: { bank_account: { account_number: '000123456789', account_holder_name: 'Pixel Forge' } },
    });
    assert.equal(settings.statusCode, 200, settings.body);
    const payout = await api.call('POST', '/v1/payouts', { key: merchant.liveSecretKey, body: { currency: 'USD', amount: 5_000 } });
    assert.equal(payout.statusCode, 503, payout.body);
    assert.equal(payout.json().error.code, 'payouts_unavailable');
    const listed = await api.call('GET', '/v1/payouts', { key: merchant.liveSecretKey });
    assert.equal(listed.json().data.length, 0);
  });

  it('answers headers over the limit with 431 and the error shape', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const outgoing = request(`${url}/v1/customers`, { headers: { 'x-padding': 'x'.repeat(HEADER_BYTES_MAX + 1) } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    assert.equal(answer.status, 431);
    const error = JSON.parse(answer.body).error;
    assert.equal(error.code, 'header_too_large');
    assert.match(error.request_id, /^req_/);
  });
});
