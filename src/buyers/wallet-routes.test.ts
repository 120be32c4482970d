// GET /v1/buyer/wallet: the signed-in buyer's balances per currency, whichever merchant's key is sent;
// GET /v1/buyer/receipts/:id: the receipt links of the buyer's own entries within the key's reach
// (src/history/receipt-routes.ts, src/wallet/reach.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';

describe('the buyer wallet endpoint', () => {
  let api: TestApi;
  let alpha: TestMerchant;
  let beta: TestMerchant;
  let buyer: TestBuyer;
  let stranger: TestBuyer;
  let paymentId: string;

  before(async () => {
    api = await startTestApi('pglite');
    alpha = await api.createMerchant({ name: 'Alpha Books' });
    beta = await api.createMerchant({ name: 'Beta Arcade' });
    buyer = await signUpBuyer(api, alpha.publishableKey);
    stranger = await signUpBuyer(api, alpha.publishableKey);
    const customers = api.runtime.services.customers;
    const atAlpha = await customers.findOrCreateForBuyer({ merchantId: alpha.id, livemode: false }, buyer.id);
    const atBeta = await customers.findOrCreateForBuyer({ merchantId: beta.id, livemode: false }, buyer.id);
    await api.fundWallet(alpha, atAlpha.id, 5_000n, 'USD');
    await api.fundWallet(beta, atBeta.id, 10_000n, 'KRW');
    const paid = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body: { customer: atAlpha.id, confirm: true, amount: 250, currency: 'USD' } });
    assert.equal(paid.statusCode, 200, paid.body);
    assert.equal(paid.json().status, 'succeeded', paid.body);
    paymentId = paid.json().id;
  });
  after(async () => {
    await api?.close();
  });

  it('answers the balance in every currency, the same through any merchant key of the mode', async () => {
    for (const key of [alpha.publishableKey, beta.publishableKey, alpha.secretKey]) {
      const response = await api.call('GET', '/v1/buyer/wallet', { key, headers: buyer.headers });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['cache-control'], 'no-store');
      const body = response.json();
      assert.equal(body.object, 'buyer_wallet');
      assert.equal(body.buyer, buyer.id);
      assert.equal(body.livemode, false);
      const byCurrency = Object.fromEntries(body.balances.map((balance: { currency: string }) => [balance.currency, balance]));
      assert.deepEqual(byCurrency.USD, { currency: 'USD', available: 4750, pending: 0, posted: 4750 });
      assert.deepEqual(byCurrency.KRW, { currency: 'KRW', available: 10000, pending: 0, posted: 10000 });
    }
  });

  it("shows another buyer only their own (empty) wallet", async () => {
    const response = await api.call('GET', '/v1/buyer/wallet', { key: alpha.publishableKey, headers: stranger.headers });
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(response.json().balances.every((balance: { available: number }) => balance.available === 0));
  });

  it("links the buyer's own payment to its public receipt, and nobody else's", async () => {
    // Another merchant's key does not reach it: the payment is Alpha's.
    const elsewhere = await api.call('GET', `/v1/buyer/receipts/${paymentId}`, { key: beta.publishableKey, headers: buyer.headers });
    assert.equal(elsewhere.statusCode, 404, elsewhere.body);
    assert.equal(elsewhere.json().error.code, 'resource_missing');
    const response = await api.call('GET', `/v1/buyer/receipts/${paymentId}`, { key: alpha.publishableKey, headers: buyer.headers });
    assert.equal(response.statusCode, 200, response.body);
    const links = response.json();
    assert.equal(links.object, 'receipt_links');
    assert.match(links.url, /\/receipts\/rct_/);
    assert.equal(links.fee, undefined, 'the merchant fee is not for the buyer');
    const page = await api.app.inject({ method: 'GET', url: new URL(links.url).pathname });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Alpha Books/);
    const strangers = await api.call('GET', `/v1/buyer/receipts/${paymentId}`, { key: alpha.publishableKey, headers: stranger.headers });
    assert.equal(strangers.statusCode, 404);
    const none = await api.call('GET', `/v1/buyer/receipts/${paymentId}`, { key: alpha.publishableKey });
    assert.equal(none.statusCode, 401);
  });

  it('refuses without a session, with a bad one, and a test session with a live key', async () => {
    const none = await api.call('GET', '/v1/buyer/wallet', { key: alpha.publishableKey });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'buyer_session_required');
    const bad = await api.call('GET', '/v1/buyer/wallet', { key: alpha.publishableKey, headers: { 'micropay-buyer-session': 'mbs_nothing' } });
    assert.equal(bad.statusCode, 401);
    const live = await api.call('GET', '/v1/buyer/wallet', { key: alpha.liveSecretKey, headers: buyer.headers });
    assert.equal(live.statusCode, 401);
    const noKey = await api.call('GET', '/v1/buyer/wallet', { headers: buyer.headers });
    assert.equal(noKey.statusCode, 401);
  });
});
