import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import {
  assertLedgerSound,
  eventTypes,
  expectError,
  merchantAvailable,
  openShop,
  pay,
  platformFees,
  wallet,
  type Shop,
} from '../../test/support/refund-fixtures.ts';

for (const kind of STORE_KINDS) {
  describe(`disputes on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind, { env: { REFUND_AUTO_MAX: 'USD:500' } });
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    const open = (body: object, headers?: Record<string, string>) => api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body, ...(headers ? { headers } : {}) });
    const evidence = (shop: Shop, id: string, body: object) => api.call('POST', `/v1/disputes/${id}/evidence`, { key: shop.merchant.secretKey, body });
    const decide = (id: string, outcome: string) => api.call('POST', `/v1/disputes/${id}/decide`, { key: api.testOperatorKey, body: { outcome } });

    /** A merchant (10% fee) with two payments of 1000 from one buyer: its balance is 1800. */
    async function twoPayments() {
      const shop = await openShop(api, { feeBps: 1000 });
      const first = await pay(api, shop, 1000);
      await pay(api, shop, 1000);
      return { shop, payment: first };
    }

    it('holds the disputed amount, takes evidence, and releases the hold when the merchant wins', async () => {
      const { shop, payment } = await twoPayments();
      const walletBefore = await wallet(api, shop.merchant, shop.customerId);
      const response = await open({ payment: payment.id, reason: 'product_not_received', description: 'Never arrived' });
      assert.equal(response.statusCode, 200, response.body);
      const dispute = response.json();
      assert.equal(dispute.object, 'dispute');
      assert.equal(dispute.status, 'needs_response');
      assert.equal(dispute.amount, 1000);
      assert.equal(dispute.amount_held, 1000);
      assert.equal(await merchantAvailable(api, shop.merchant), 800);
      assert.equal((await wallet(api, shop.merchant, shop.customerId)).pending, walletBefore.pending + 1000);

      const answered = await evidence(shop, dispute.id, { text: 'Delivered to the player inventory at 12:03.', uris: ['https://game.example/logs/1'] });
      assert.equal(answered.statusCode, 200, answered.body);
      assert.equal(answered.json().status, 'under_review');
      assert.deepEqual(answered.json().evidence, { text: 'Delivered to the player inventory at 12:03.', uris: ['https://game.example/logs/1'] });
      assert.equal(typeof answered.json().evidence_submitted_at, 'number');
      expectError(await evidence(shop, dispute.id, { text: 'More' }), 409, 'dispute_unexpected_state');

      // The operator acts in its key's mode: the live key does not reach a test dispute.
      expectError(await api.call('POST', `/v1/disputes/${dispute.id}/decide`, { key: api.operatorKey, body: { outcome: 'lost' } }), 404, 'resource_missing');
      assert.equal(await merchantAvailable(api, shop.merchant), 800);
      const won = await decide(dispute.id, 'won');
      assert.equal(won.statusCode, 200, won.body);
      assert.equal(won.json().status, 'won');
      assert.equal(typeof won.json().closed_at, 'number');
      assert.equal(await merchantAvailable(api, shop.merchant), 1800);
      assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), walletBefore);
      assert.deepEqual(await eventTypes(api, dispute.id), ['dispute.closed', 'dispute.created', 'dispute.updated']);
      expectError(await decide(dispute.id, 'lost'), 409, 'dispute_unexpected_state');
      const read = await api.call('GET', `/v1/disputes/${dispute.id}`, { key: shop.merchant.readKey });
      assert.deepEqual(read.json(), won.json());
      // A won dispute no longer stands in the way of a refund.
      assert.equal((await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id, amount: 100 } })).statusCode, 200);
    });

    it('pays the buyer from the hold when the merchant loses, and the platform keeps its fee', async () => {
      const { shop, payment } = await twoPayments();
      const walletBefore = await wallet(api, shop.merchant, shop.customerId);
      const feesBefore = await platformFees(api);
      const dispute = (await open({ payment: payment.id, reason: 'fraudulent' })).json();
      const lost = await decide(dispute.id, 'lost');
      assert.equal(lost.statusCode, 200, lost.body);
      assert.equal(lost.json().status, 'lost');
      assert.equal(lost.json().amount_from_merchant, 1000);
      assert.equal(lost.json().amount_from_platform, 0);
      assert.equal(await merchantAvailable(api, shop.merchant), 800);
      const after = await wallet(api, shop.merchant, shop.customerId);
      assert.equal(after.available, walletBefore.available + 1000);
      assert.equal(after.pending, 0);
      assert.equal(await platformFees(api), feesBefore);
      assert.deepEqual(await eventTypes(api, dispute.id), ['dispute.closed', 'dispute.created']);
      // The buyer got the money back through the dispute: nothing remains to refund.
      expectError(await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id } }), 400, 'refund_amount_too_large');
    });

    it('labels the payment for the risk model when an unauthorised-payment dispute is decided, and only then', async () => {
      const labels = async (paymentId: string) =>
        (await api.runtime.db.query<{ source: string; fraud: boolean; buyer_id: string | null }>('SELECT source, fraud, buyer_id FROM risk_labels WHERE subject_id = $1', [paymentId])).rows;
      const lostShop = await twoPayments();
      const lost = (await open({ payment: lostShop.payment.id, reason: 'fraudulent' })).json();
      assert.equal((await decide(lost.id, 'lost')).statusCode, 200);
      assert.deepEqual(await labels(lostShop.payment.id), [{ source: 'dispute', fraud: true, buyer_id: lostShop.shop.buyerId }]);
      const wonShop = await twoPayments();
      const won = (await open({ payment: wonShop.payment.id, reason: 'fraudulent' })).json();
      assert.equal((await decide(won.id, 'won')).statusCode, 200);
      assert.deepEqual(await labels(wonShop.payment.id), [{ source: 'dispute', fraud: false, buyer_id: wonShop.shop.buyerId }]);
      // A dispute over the goods says nothing about who paid.
      const goodsShop = await twoPayments();
      const goods = (await open({ payment: goodsShop.payment.id, reason: 'product_not_received' })).json();
      assert.equal((await decide(goods.id, 'lost')).statusCode, 200);
      assert.deepEqual(await labels(goodsShop.payment.id), []);
    });

    it("holds what the merchant's balance has, and settles the rest from it or from the platform when lost", async () => {
      const shop = await openShop(api, { feeBps: 1000 });
      const payment = await pay(api, shop, 1000);
      const dispute = (await open({ payment: payment.id, reason: 'duplicate' })).json();
      assert.equal(dispute.amount, 1000);
      assert.equal(dispute.amount_held, 900);
      assert.equal(await merchantAvailable(api, shop.merchant), 0);
      const feesBefore = await platformFees(api);
      const lost = (await decide(dispute.id, 'lost')).json();
      assert.equal(lost.amount_from_merchant, 900);
      assert.equal(lost.amount_from_platform, 100);
      assert.equal(await platformFees(api), feesBefore - 100n);

      // When the merchant's balance grew before the decision, the rest comes from it.
      const second = await openShop(api, { feeBps: 1000 });
      const disputed = await pay(api, second, 1000);
      const held = (await open({ payment: disputed.id, reason: 'duplicate' })).json();
      assert.equal(held.amount_held, 900);
      await pay(api, second, 500);
      const settled = (await decide(held.id, 'lost')).json();
      assert.equal(settled.amount_from_merchant, 1000);
      assert.equal(settled.amount_from_platform, 0);
      assert.equal(await merchantAvailable(api, second.merchant), 350);
    });

    it('refuses refunds while a dispute is open, a second dispute, and amounts beyond what remains', async () => {
      const { shop, payment } = await twoPayments();
      assert.equal((await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id, amount: 300 } })).statusCode, 200);
      expectError(await open({ payment: payment.id, amount: 701, reason: 'general' }), 400, 'dispute_amount_too_large');
      const dispute = (await open({ payment: payment.id, reason: 'general' })).json();
      assert.equal(dispute.amount, 700);
      expectError(await open({ payment: payment.id, reason: 'general' }), 409, 'dispute_exists');
      expectError(await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id } }), 409, 'payment_disputed');
      expectError(await api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: payment.id, amount: 10, reason: 'other' } }), 409, 'payment_disputed');

      const refunded = await pay(api, shop, 200);
      assert.equal((await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: refunded.id } })).statusCode, 200);
      expectError(await open({ payment: refunded.id, reason: 'general' }), 400, 'dispute_amount_too_large');
      const unpaid = await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount: 100, currency: 'USD' } });
      expectError(await open({ payment: unpaid.json().id, reason: 'general' }), 409, 'payment_unexpected_state');
    });

    it("puts a buyer with an open dispute, or one decided against them, out of the automatic refunds' reach", async () => {
      const { shop, payment } = await twoPayments();
      const small = await pay(api, shop, 100);
      const dispute = (await open({ payment: payment.id, reason: 'general' })).json();
      const whileOpen = (await api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: small.id, amount: 10, reason: 'other' } })).json();
      assert.equal(whileOpen.status, 'pending');
      assert.equal(whileOpen.pending_reason, 'buyer_standing');
      await decide(dispute.id, 'won');
      const afterLoss = (await api.call('POST', '/v1/refund_requests', { key: api.operatorKey, body: { payment: small.id, amount: 10, reason: 'other' } })).json();
      assert.equal(afterLoss.pending_reason, 'buyer_standing');
    });

    it('lets one of a refund and a dispute decided at once over the same money land, never both', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      const [refund, dispute] = await Promise.all([
        api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: payment.id, amount: 1000 } }),
        open({ payment: payment.id, amount: 1000, reason: 'general' }),
      ]);
      const landed = [refund, dispute].filter((response) => response.statusCode === 200);
      assert.equal(landed.length, 1, `${refund.body}\n${dispute.body}`);
      assert.equal(await merchantAvailable(api, shop.merchant), 0);
      await assertLedgerSound(api);
    });

    it('answers every caller and validation error with its code', async () => {
      const { shop, payment } = await twoPayments();
      expectError(await api.call('POST', '/v1/disputes', { key: shop.merchant.secretKey, body: { payment: payment.id, reason: 'general' } }), 403, 'operator_key_required');
      expectError(await open({ payment: payment.id }), 400, 'parameter_missing');
      expectError(await open({ payment: payment.id, reason: 'bored' }), 400, 'parameter_invalid');
      expectError(await open({ payment: 'pay_nope', reason: 'general' }), 404, 'resource_missing');
      const dispute = (await open({ payment: payment.id, reason: 'general' })).json();
      expectError(await evidence(shop, dispute.id, {}), 400, 'parameter_missing');
      expectError(await evidence(shop, dispute.id, { text: 'x'.repeat(20_001) }), 400, 'parameter_invalid');
      expectError(await evidence(shop, dispute.id, { text: 'x', uris: Array.from({ length: 11 }, (_, index) => `https://example.com/${index}`) }), 400, 'parameter_invalid');
      expectError(await evidence(shop, dispute.id, { text: 'x', uris: ['javascript:alert(1)'] }), 400, 'parameter_invalid');
      expectError(await evidence(shop, dispute.id, { text: 'x', attachments: [] }), 400, 'parameter_unknown');
      expectError(await api.call('POST', `/v1/disputes/${dispute.id}/evidence`, { key: shop.merchant.readKey, body: { text: 'x' } }), 403, 'api_key_scope_insufficient');
      expectError(await api.call('POST', `/v1/disputes/${dispute.id}/decide`, { key: shop.merchant.secretKey, body: { outcome: 'won' } }), 403, 'operator_key_required');
      expectError(await decide(dispute.id, 'draw'), 400, 'parameter_invalid');
      expectError(await decide('dp_nope', 'won'), 404, 'resource_missing');
      expectError(await api.call('GET', '/v1/disputes/dp_nope', { key: shop.merchant.secretKey }), 404, 'resource_missing');
      // The operator lists every merchant's disputes (operator-list.test.ts), by merchant, not by payment.
      expectError(await api.call('GET', `/v1/disputes?payment=${dispute.payment}`, { key: api.operatorKey }), 400, 'parameter_invalid');
    });

    it("hides one merchant's disputes from another", async () => {
      const { shop, payment } = await twoPayments();
      const intruder = await api.createMerchant();
      const dispute = (await open({ payment: payment.id, reason: 'general' })).json();
      expectError(await api.call('GET', `/v1/disputes/${dispute.id}`, { key: intruder.secretKey }), 404, 'resource_missing');
      expectError(await api.call('POST', `/v1/disputes/${dispute.id}/evidence`, { key: intruder.secretKey, body: { text: 'mine' } }), 404, 'resource_missing');
      assert.deepEqual((await api.call('GET', `/v1/disputes?payment=${payment.id}`, { key: intruder.secretKey })).json().data, []);
      expectError(await api.call('GET', `/v1/disputes/${dispute.id}`, { key: shop.merchant.liveSecretKey }), 404, 'resource_missing');
      const list = (await api.call('GET', `/v1/disputes?payment=${payment.id}&status=needs_response`, { key: shop.merchant.secretKey })).json();
      assert.deepEqual(list.data.map((entry: { id: string }) => entry.id), [dispute.id]);
      assert.equal((await api.call('GET', `/v1/disputes/${dispute.id}`, { key: shop.merchant.secretKey })).json().status, 'needs_response');
    });

    it('replays a keyed dispute instead of opening or holding twice', async () => {
      const { shop, payment } = await twoPayments();
      const headers = { 'idempotency-key': `dispute-${payment.id}` };
      const first = await open({ payment: payment.id, reason: 'general' }, headers);
      const second = await open({ payment: payment.id, reason: 'general' }, headers);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.deepEqual(second.json(), first.json());
      assert.equal(await merchantAvailable(api, shop.merchant), 800);
      // A keyed request run again after a crash (the same id seed) finds the dispute its first run created.
      const fresh = await pay(api, shop, 100);
      const rerun = await api.runtime.services.disputes.openByBuyer({ paymentId: fresh.id, buyerId: null, reason: 'general' }, 'seed-of-a-crashed-request');
      const again = await api.runtime.services.disputes.openByBuyer({ paymentId: fresh.id, buyerId: null, reason: 'general' }, 'seed-of-a-crashed-request');
      assert.ok(rerun.ok && again.ok);
      assert.equal(again.dispute.id, rerun.dispute.id);
      // 800, plus 90 from the new payment (net of the fee), less one hold of 100.
      assert.equal(await merchantAvailable(api, shop.merchant), 790);
    });

    it('refuses a dispute opened for another buyer than the payment’s', async () => {
      const { shop, payment } = await twoPayments();
      const result = await api.runtime.services.disputes.openByBuyer({ paymentId: payment.id, buyerId: 'buy_someone_else', reason: 'general' });
      assert.ok(!result.ok && result.code === 'resource_missing');
      const own = await api.runtime.services.disputes.openByBuyer({ paymentId: payment.id, buyerId: shop.buyerId, reason: 'general' });
      assert.ok(own.ok);
    });
  });
}
