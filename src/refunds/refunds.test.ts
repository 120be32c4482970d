import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import {
  assertLedgerSound,
  eventTypes,
  expectError,
  merchantAvailable,
  newCustomer,
  openShop,
  pay,
  payOut,
  platformFees,
  wallet,
} from '../../test/support/refund-fixtures.ts';
import { createAllowAllRiskHook, type RiskHook } from '../risk/hook.ts';
import { ConfigError, loadConfig } from '../config/config.ts';

/** Allows everything except refunds of 666 (blocked) and 777 (sent to review): a risk engine's verdicts on demand. */
function testRiskHook(): RiskHook {
  const allow = createAllowAllRiskHook();
  return {
    async score(context) {
      const decision = await allow.score(context);
      if (context.action !== 'refund') return decision;
      if (context.amount === 666n) return { ...decision, decision: 'block', reasons: [{ code: 'test_block', message: 'Blocked by the test.' }] };
      if (context.amount === 777n) return { ...decision, decision: 'review', reasons: [{ code: 'test_review', message: 'Reviewed by the test.' }] };
      return decision;
    },
  };
}

const POLICY_ENV = { REFUND_AUTO_MAX: 'USD:500,KRW:5000', REFUND_AUTO_PER_BUYER_MAX: '3' };

describe('refund and dispute configuration', () => {
  it('has defaults that run locally, and refuses malformed values', () => {
    const config = loadConfig({});
    assert.equal(config.refunds.automaticMax.USD, 500n);
    assert.equal(config.refunds.automaticMax.KRW, 5000n);
    assert.equal(config.refunds.automaticWindowSeconds, 14 * 24 * 3600);
    assert.equal(config.refunds.automaticPerBuyerMax, 5);
    assert.equal(config.disputes.holdSeconds, 180 * 24 * 3600);
    assert.deepEqual(loadConfig({ REFUND_AUTO_MAX: ' EUR:1 , JPY:20' }).refunds.automaticMax, { EUR: 1n, JPY: 20n });
    assert.throws(() => loadConfig({ REFUND_AUTO_MAX: 'usd:500' }), ConfigError);
    assert.throws(() => loadConfig({ REFUND_AUTO_MAX: 'USD=500' }), /REFUND_AUTO_MAX/);
    assert.throws(() => loadConfig({ REFUND_AUTO_WINDOW_SECONDS: '-1' }), /REFUND_AUTO_WINDOW_SECONDS/);
    assert.throws(() => loadConfig({ DISPUTE_HOLD_SECONDS: String(367 * 24 * 3600) }), /DISPUTE_HOLD_SECONDS/);
  });
});

for (const kind of STORE_KINDS) {
  describe(`refunds on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind, { env: POLICY_ENV, risk: testRiskHook() });
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    const refund = (key: string, body: object, headers?: Record<string, string>) => api.call('POST', '/v1/refunds', { key, body, ...(headers ? { headers } : {}) });
    const request = (body: object) => api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body });

    it('refunds a payment in full by default, giving back the whole fee, with its events', async () => {
      const shop = await openShop(api, { feeBps: 500, feeFixed: 10 });
      const walletBefore = await wallet(api, shop.merchant, shop.customerId);
      const feesBefore = await platformFees(api);
      const payment = await pay(api, shop, 1000);
      assert.equal(payment.application_fee_amount, 60);
      assert.equal(await merchantAvailable(api, shop.merchant), 940);

      const response = await refund(shop.merchant.secretKey, { payment: payment.id });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.object, 'refund');
      assert.equal(body.status, 'succeeded');
      assert.equal(body.amount, 1000);
      assert.equal(body.fee_reversed, 60);
      assert.equal(body.initiated_by, 'merchant');
      assert.equal(body.automatic, false);
      assert.equal(body.reason, 'requested_by_customer');
      assert.match(body.risk_decision, /^rsk_/);

      assert.equal(await merchantAvailable(api, shop.merchant), 0);
      assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), walletBefore);
      assert.equal(await platformFees(api), feesBefore);
      const paid = (await api.call('GET', `/v1/payments/${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(paid.amount_refunded, 1000);
      assert.equal(paid.status, 'succeeded');
      assert.deepEqual(await eventTypes(api, body.id), ['refund.created', 'refund.succeeded']);
      assert.ok((await eventTypes(api, payment.id)).includes('payment.refunded'));

      const read = await api.call('GET', `/v1/refunds/${body.id}`, { key: shop.merchant.readKey });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json(), body);
    });

    it('takes several partial refunds up to the captured amount and refuses one more', async () => {
      const shop = await openShop(api, { feeBps: 300, feeFixed: 7 });
      const payment = await pay(api, shop, 1001);
      const fee = payment.application_fee_amount;
      let reversed = 0;
      for (const amount of [333, 333, 334]) {
        const response = await refund(shop.merchant.secretKey, { payment: payment.id, amount, reason: 'duplicate' });
        assert.equal(response.statusCode, 200, response.body);
        reversed += response.json().fee_reversed;
        assert.ok(reversed <= fee);
      }
      const last = await refund(shop.merchant.secretKey, { payment: payment.id, amount: 2 });
      expectError(last, 400, 'refund_amount_too_large');
      assert.equal(last.json().error.param, 'amount');
      // 1001 - 1000 = 1 remains.
      const rest = await refund(shop.merchant.secretKey, { payment: payment.id });
      assert.equal(rest.statusCode, 200, rest.body);
      assert.equal(rest.json().amount, 1);
      reversed += rest.json().fee_reversed;
      assert.equal(reversed, fee);
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id }), 400, 'refund_amount_too_large');

      const list = await api.call('GET', `/v1/refunds?payment=${payment.id}&limit=2`, { key: shop.merchant.secretKey });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().data.length, 2);
      assert.equal(list.json().has_more, true);
      const next = await api.call('GET', `/v1/refunds?payment=${payment.id}&starting_after=${list.json().data[1].id}`, { key: shop.merchant.secretKey });
      assert.equal(next.json().data.length, 2);
      assert.equal(next.json().has_more, false);
      assert.equal(await merchantAvailable(api, shop.merchant), 0);
    });

    it('refuses a refund larger than the payment at once', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 500);
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id, amount: 501 }), 400, 'refund_amount_too_large');
    });

    it('never lets concurrent refunds exceed the captured amount', async () => {
      const shop = await openShop(api, { feeBps: 250 });
      const payment = await pay(api, shop, 1000);
      const responses = await Promise.all(Array.from({ length: 8 }, () => refund(shop.merchant.secretKey, { payment: payment.id, amount: 300 })));
      const succeeded = responses.filter((response) => response.statusCode === 200);
      assert.equal(succeeded.length, 3, responses.map((response) => response.body).join('\n'));
      for (const response of responses) {
        if (response.statusCode !== 200) assert.ok(['refund_amount_too_large', 'concurrent_modification'].includes(response.json().error.code), response.body);
      }
      const pair = await pay(api, shop, 1000);
      const both = await Promise.all([600, 600].map((amount) => refund(shop.merchant.secretKey, { payment: pair.id, amount })));
      assert.equal(both.filter((response) => response.statusCode === 200).length, 1);
      const paid = (await api.call('GET', `/v1/payments/${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(paid.amount_refunded, 900);
      const other = (await api.call('GET', `/v1/payments/${pair.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(other.amount_refunded, 600);
      await assertLedgerSound(api);
    });

    it("fails a refund the merchant's balance cannot cover, and records it as failed", async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      await payOut(api, shop.merchant, 900n);
      const response = await refund(shop.merchant.secretKey, { payment: payment.id, amount: 200 });
      expectError(response, 402, 'merchant_balance_insufficient');
      const refundId = /ref_[0-9A-Za-z]+/.exec(response.json().error.message)![0];
      const failed = (await api.call('GET', `/v1/refunds/${refundId}`, { key: shop.merchant.secretKey })).json();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_reason, 'merchant_balance_insufficient');
      assert.deepEqual(await eventTypes(api, refundId), ['refund.created', 'refund.failed']);
      assert.equal(await merchantAvailable(api, shop.merchant), 100);
      // What the balance covers still goes through.
      assert.equal((await refund(shop.merchant.secretKey, { payment: payment.id, amount: 100 })).statusCode, 200);
    });

    it('records a refund refused by risk controls as failed', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      const response = await refund(shop.merchant.secretKey, { payment: payment.id, amount: 666 });
      expectError(response, 402, 'refund_blocked');
      const list = (await api.call('GET', `/v1/refunds?payment=${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(list.data[0].status, 'failed');
      assert.equal(list.data[0].failure_reason, 'refund_blocked');
      const { rows } = await api.runtime.db.query<{ decision: string }>(`SELECT decision FROM risk_decisions WHERE subject_id = $1`, [list.data[0].id]);
      assert.deepEqual(rows.map((row) => row.decision), ['block']);
      assert.equal(await merchantAvailable(api, shop.merchant), 1000);
    });

    it('completes a small buyer request at once, without a human', async () => {
      const shop = await openShop(api, { feeBps: 1000 });
      const payment = await pay(api, shop, 800);
      const started = performance.now();
      const response = await request({ payment: payment.id, amount: 400, reason: 'accidental_purchase', description: 'Bought twice by mistake' });
      const elapsedMs = performance.now() - started;
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.status, 'succeeded');
      assert.equal(body.automatic, true);
      assert.equal(body.initiated_by, 'buyer');
      assert.equal(body.fee_reversed, 40);
      assert.ok(elapsedMs < 1000, `automatic refund took ${elapsedMs} ms`);
      const { rows } = await api.runtime.db.query<{ action: string; decision: string }>(`SELECT action, decision FROM risk_decisions WHERE subject_id = $1`, [body.id]);
      assert.deepEqual(rows, [{ action: 'refund', decision: 'allow' }]);
      assert.deepEqual(await eventTypes(api, body.id), ['refund.created', 'refund.succeeded']);
    });

    it('leaves a request over the threshold pending until the merchant approves it', async () => {
      const shop = await openShop(api, { feeBps: 1000 });
      const payment = await pay(api, shop, 2000);
      const response = await request({ payment: payment.id, amount: 600, reason: 'product_unacceptable' });
      assert.equal(response.statusCode, 200, response.body);
      const pending = response.json();
      assert.equal(pending.status, 'pending');
      assert.equal(pending.pending_reason, 'over_automatic_limit');
      assert.equal(await merchantAvailable(api, shop.merchant), 1800);
      // A request waiting counts: asking for more than what remains besides it is refused.
      expectError(await request({ payment: payment.id, amount: 1401, reason: 'other' }), 400, 'refund_amount_too_large');

      const approved = await api.call('POST', `/v1/refunds/${pending.id}/approve`, { key: shop.merchant.secretKey });
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(approved.json().status, 'succeeded');
      assert.equal(approved.json().automatic, false);
      assert.equal(approved.json().pending_reason, null);
      assert.equal(approved.json().fee_reversed, 60);
      assert.equal(await merchantAvailable(api, shop.merchant), 1800 - 540);
      assert.deepEqual(await eventTypes(api, pending.id), ['refund.created', 'refund.succeeded']);
      expectError(await api.call('POST', `/v1/refunds/${pending.id}/approve`, { key: shop.merchant.secretKey }), 409, 'refund_unexpected_state');
      expectError(await api.call('POST', `/v1/refunds/${pending.id}/decline`, { key: shop.merchant.secretKey }), 409, 'refund_unexpected_state');
    });

    it('lets the merchant decline a pending request', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 2000);
      const pending = (await request({ payment: payment.id, reason: 'other' })).json();
      assert.equal(pending.amount, 2000);
      assert.equal(pending.status, 'pending');
      const declined = await api.call('POST', `/v1/refunds/${pending.id}/decline`, { key: shop.merchant.secretKey, body: { cancellation_reason: 'Item was used' } });
      assert.equal(declined.statusCode, 200, declined.body);
      assert.equal(declined.json().status, 'canceled');
      assert.equal(declined.json().cancellation_reason, 'Item was used');
      assert.deepEqual(await eventTypes(api, pending.id), ['refund.canceled', 'refund.created']);
      expectError(await api.call('POST', `/v1/refunds/${pending.id}/approve`, { key: shop.merchant.secretKey }), 409, 'refund_unexpected_state');
      assert.equal(await merchantAvailable(api, shop.merchant), 2000);
    });

    it('sends requests to the merchant when risk asks for a review, and refuses blocked ones', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 2000);
      const reviewed = (await request({ payment: payment.id, amount: 777, reason: 'other' })).json();
      assert.equal(reviewed.status, 'pending');
      assert.equal(reviewed.pending_reason, 'risk_review');
      expectError(await request({ payment: payment.id, amount: 666, reason: 'other' }), 402, 'refund_blocked');
    });

    it('keeps a buyer request pending when the merchant cannot pay it, and refuses its approval until it can', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 400);
      await payOut(api, shop.merchant, 400n);
      const response = await request({ payment: payment.id, amount: 300, reason: 'product_not_received' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'pending');
      assert.equal(response.json().pending_reason, 'merchant_balance_insufficient');
      const id = response.json().id;
      expectError(await api.call('POST', `/v1/refunds/${id}/approve`, { key: shop.merchant.secretKey }), 402, 'merchant_balance_insufficient');
      assert.equal((await api.call('GET', `/v1/refunds/${id}`, { key: shop.merchant.secretKey })).json().status, 'pending');
      await pay(api, shop, 500);
      const approved = await api.call('POST', `/v1/refunds/${id}/approve`, { key: shop.merchant.secretKey });
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(approved.json().status, 'succeeded');
    });

    it('holds the automatic limit when a buyer sends many requests at once: the rest wait for the merchant', async () => {
      const shop = await openShop(api);
      const paid = [];
      for (let index = 0; index < 6; index += 1) paid.push(await pay(api, shop, 100));
      // Sent together, each request counts fewer than 3 automatic refunds before it; the commit decides.
      const answers = await Promise.all(paid.map((payment) => request({ payment: payment.id, reason: 'accidental_purchase' })));
      const bodies = answers.map((answer) => {
        assert.equal(answer.statusCode, 200, answer.body);
        return answer.json() as { status: string; automatic: boolean; pending_reason: string | null };
      });
      assert.equal(bodies.filter((body) => body.status === 'succeeded' && body.automatic).length, 3, JSON.stringify(bodies));
      assert.deepEqual(
        bodies.filter((body) => body.status !== 'succeeded').map((body) => [body.status, body.pending_reason]),
        [['pending', 'buyer_standing'], ['pending', 'buyer_standing'], ['pending', 'buyer_standing']],
      );
    });

    it('sends a buyer with too many recent automatic refunds to the merchant', async () => {
      const shop = await openShop(api);
      for (let index = 0; index < 3; index += 1) {
        const payment = await pay(api, shop, 100);
        const response = await request({ payment: payment.id, reason: 'accidental_purchase' });
        assert.equal(response.json().status, 'succeeded', response.body);
      }
      const payment = await pay(api, shop, 100);
      const fourth = (await request({ payment: payment.id, reason: 'accidental_purchase' })).json();
      assert.equal(fourth.status, 'pending');
      assert.equal(fourth.pending_reason, 'buyer_standing');
      // Another buyer is not affected.
      const other = await newCustomer(api, shop.merchant);
      await api.fundWallet(shop.merchant, other.customerId, 1000n, 'USD');
      const theirs = await pay(api, shop, 100, other.customerId);
      assert.equal((await request({ payment: theirs.id, reason: 'accidental_purchase' })).json().status, 'succeeded');
    });

    it('refuses refunds of payments that did not succeed', async () => {
      const shop = await openShop(api);
      const created = await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount: 100, currency: 'USD' } });
      const id = created.json().id;
      expectError(await refund(shop.merchant.secretKey, { payment: id }), 409, 'payment_unexpected_state');
      expectError(await request({ payment: id, reason: 'other' }), 409, 'payment_unexpected_state');
    });

    it('answers every caller and validation error with its code', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 100);
      expectError(await api.call('POST', '/v1/refunds', { body: { payment: payment.id } }), 401, 'api_key_missing');
      expectError(await refund(shop.merchant.publishableKey, { payment: payment.id }), 403, 'secret_key_required');
      expectError(await refund(shop.merchant.readKey, { payment: payment.id }), 403, 'api_key_scope_insufficient');
      expectError(await refund(api.operatorKey, { payment: payment.id }), 403, 'merchant_key_required');
      expectError(await api.call('POST', '/v1/refund_requests', { key: shop.merchant.secretKey, body: { payment: payment.id, reason: 'other' } }), 403, 'operator_key_required');
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id, amount: 0 }), 400, 'parameter_invalid');
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id, reason: 'because' }), 400, 'parameter_invalid');
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id, tip: 1 }), 400, 'parameter_unknown');
      expectError(await refund(shop.merchant.secretKey, {}), 400, 'parameter_missing');
      expectError(await request({ payment: payment.id }), 400, 'parameter_missing');
      expectError(await refund(shop.merchant.secretKey, { payment: 'pay_nope' }), 404, 'resource_missing');
      expectError(await request({ payment: 'pay_nope', reason: 'other' }), 404, 'resource_missing');
      expectError(await api.call('GET', '/v1/refunds/ref_nope', { key: shop.merchant.secretKey }), 404, 'resource_missing');
      expectError(await api.call('POST', '/v1/refunds/ref_nope/approve', { key: shop.merchant.secretKey }), 404, 'resource_missing');
      expectError(await api.call('GET', '/v1/refunds?status=lost', { key: shop.merchant.secretKey }), 400, 'parameter_invalid');
    });

    it("hides one merchant's refunds and payments from another", async () => {
      const shop = await openShop(api);
      const intruder = await api.createMerchant();
      const payment = await pay(api, shop, 2000);
      const done = (await refund(shop.merchant.secretKey, { payment: payment.id, amount: 100 })).json();
      const pending = (await request({ payment: payment.id, amount: 1000, reason: 'other' })).json();
      expectError(await refund(intruder.secretKey, { payment: payment.id }), 404, 'resource_missing');
      expectError(await api.call('GET', `/v1/refunds/${done.id}`, { key: intruder.secretKey }), 404, 'resource_missing');
      expectError(await api.call('POST', `/v1/refunds/${pending.id}/approve`, { key: intruder.secretKey }), 404, 'resource_missing');
      expectError(await api.call('POST', `/v1/refunds/${pending.id}/decline`, { key: intruder.secretKey }), 404, 'resource_missing');
      const list = await api.call('GET', `/v1/refunds?payment=${payment.id}`, { key: intruder.secretKey });
      assert.deepEqual(list.json().data, []);
      // Live keys do not see test objects either.
      expectError(await api.call('GET', `/v1/refunds/${done.id}`, { key: shop.merchant.liveSecretKey }), 404, 'resource_missing');
      assert.equal((await api.call('GET', `/v1/refunds/${pending.id}`, { key: shop.merchant.secretKey })).json().status, 'pending');
    });

    it('replays a keyed refund instead of refunding twice, and refuses the key with other parameters', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      const headers = { 'idempotency-key': `refund-${payment.id}` };
      const first = await refund(shop.merchant.secretKey, { payment: payment.id, amount: 250 }, headers);
      const second = await refund(shop.merchant.secretKey, { payment: payment.id, amount: 250 }, headers);
      assert.equal(first.statusCode, 200);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.deepEqual(second.json(), first.json());
      expectError(await refund(shop.merchant.secretKey, { payment: payment.id, amount: 300 }, headers), 400, 'idempotency_key_reused');
      const list = (await api.call('GET', `/v1/refunds?payment=${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(list.data.length, 1);
      // A keyed request run again after a crash (the same id seed) finds the refund its first run created.
      const rerun = await api.runtime.services.refunds.create({ merchantId: shop.merchant.id, livemode: false }, { paymentId: payment.id, amount: 250n }, 'seed-of-a-crashed-request');
      const again = await api.runtime.services.refunds.create({ merchantId: shop.merchant.id, livemode: false }, { paymentId: payment.id, amount: 250n }, 'seed-of-a-crashed-request');
      assert.ok(rerun.ok && again.ok);
      assert.equal(rerun.refund.id, again.refund.id);
      const paid = (await api.call('GET', `/v1/payments/${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(paid.amount_refunded, 500);
    });

    it('keeps a keyed buyer request to one refund', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 300);
      const headers = { 'idempotency-key': `request-${payment.id}` };
      const [first, second] = await Promise.all([
        api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: payment.id, reason: 'other' }, headers }),
        api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: payment.id, reason: 'other' }, headers }),
      ]);
      const statuses = [first.statusCode, second.statusCode].sort();
      assert.ok(statuses[0] === 200 && (statuses[1] === 200 || statuses[1] === 409), `${first.body} ${second.body}`);
      const list = (await api.call('GET', `/v1/refunds?payment=${payment.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(list.data.length, 1);
    });
  });

  describe(`the automatic refund window on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind, { env: { ...POLICY_ENV, REFUND_AUTO_WINDOW_SECONDS: '0' } });
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    it('leaves a request after the window pending, whatever its size', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 100);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const response = await api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: payment.id, amount: 10, reason: 'other' } });
      assert.equal(response.json().status, 'pending', response.body);
      assert.equal(response.json().pending_reason, 'outside_automatic_window');
    });
  });
}
