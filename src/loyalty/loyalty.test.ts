// Loyalty over HTTP on both stores: earn rules, points earned in the payment's own group commit (bonus
// categories, manual capture), nothing on a refused payment, claw-back on refunds (with a shortfall when
// the buyer already spent the points), expiry by correcting transfers, idempotency and tenancy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';
import { createAllowAllRiskHook, type RiskHook } from '../risk/hook.ts';
import { randomUUID } from 'node:crypto';
import { ledgerId } from '../api/ids.ts';
import { LOYALTY_TRANSFER_CODES } from './model.ts';
import { issuanceAccountId, pointsAccountId } from './service.ts';

const CURRENCY = 'KRW';
const BLOCKED_AMOUNT = 6666;
const REVIEWED_AMOUNT = 7700;
const DAY_MS = 24 * 3600 * 1000;

/** Allows everything except payments of BLOCKED_AMOUNT. */
function testRiskHook(): RiskHook {
  const allow = createAllowAllRiskHook();
  return {
    async score(context) {
      const decision = await allow.score(context);
      if (context.action === 'payment' && context.amount === BigInt(BLOCKED_AMOUNT)) {
        return { ...decision, decision: 'block', reasons: [{ code: 'test_block', message: 'Blocked by the test.' }] };
      }
      if (context.action === 'payment' && context.amount === BigInt(REVIEWED_AMOUNT)) {
        return { ...decision, decision: 'review', reasons: [{ code: 'test_review', message: 'Reviewed by the test.' }] };
      }
      return decision;
    },
  };
}

for (const kind of STORE_KINDS) {
  describe(`loyalty on ${kind}`, () => {
    let api: TestApi;
    let shop: TestMerchant;
    let other: TestMerchant;

    before(async () => {
      api = await startTestApi(kind, { risk: testRiskHook() });
      shop = await api.createMerchant({ name: 'Points shop' });
      other = await api.createMerchant({ name: 'Other shop' });
      const put = await putProgram(shop, { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, bonus_categories: { game_credit: 2 }, expiry_days: 365 });
      assert.equal(put.statusCode, 200, put.body);
    });
    after(async () => {
      const report = await api.runtime.ledger.verify();
      assert.deepEqual(report.drift, []);
      assert.equal(report.ok, true);
      await api.close();
    });

    function expectError(response: LightMyRequestResponse, status: number, code: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
    }

    const putProgram = (merchant: TestMerchant, body: unknown, key = merchant.secretKey) =>
      api.app.inject({ method: 'PUT', url: '/v1/loyalty/program', headers: { authorization: `Bearer ${key}` }, payload: body as object });

    async function customerOf(merchant: TestMerchant, funds = 1_000_000n): Promise<string> {
      const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: { name: 'Buyer' } });
      assert.equal(response.statusCode, 200, response.body);
      const id = response.json().id as string;
      await api.fundWallet(merchant, id, funds, CURRENCY);
      return id;
    }

    async function points(merchant: TestMerchant, customerId: string): Promise<{ balance: number; upcoming_expiries: Array<{ points: number; expires_at: number }> }> {
      const response = await api.call('GET', `/v1/loyalty/balances/${customerId}`, { key: merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function pay(merchant: TestMerchant, customerId: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
      return api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customerId, currency: CURRENCY, confirm: true, ...body }, headers });
    }

    async function paid(merchant: TestMerchant, customerId: string, amount: number): Promise<string> {
      const response = await pay(merchant, customerId, { amount });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'succeeded');
      return response.json().id;
    }

    async function buyerIdOf(merchant: TestMerchant, customerId: string): Promise<string> {
      return (await api.runtime.services.customers.get({ merchantId: merchant.id, livemode: false }, customerId))!.buyerId;
    }

    it('sets and reads the earn rules, refusing malformed ones', async () => {
      const read = await api.call('GET', '/v1/loyalty/program', { key: shop.secretKey });
      assert.equal(read.statusCode, 200, read.body);
      assert.deepEqual({ ...(read.json() as Record<string, unknown>), updated: 0 }, {
        object: 'loyalty_program',
        livemode: false,
        earn: { per_amount: 100, currency: 'KRW', points: 1 },
        bonus_categories: { game_credit: 2 },
        expiry_days: 365,
        hold_days: 0,
        redemption: null,
        enabled: true,
        version: 1,
        updated: 0,
      });
      expectError(await api.call('GET', '/v1/loyalty/program', { key: other.secretKey }), 404, 'resource_missing');
      expectError(await putProgram(other, { earn: { per_amount: 100, currency: 'XYZ', points: 1 } }), 400, 'currency_unsupported');
      expectError(await putProgram(other, { earn: { per_amount: 100, currency: 'KRW', points: 1 }, bonus_categories: { song: 1.005 } }), 400, 'parameter_invalid');
      expectError(await putProgram(other, { earn: { per_amount: 0, currency: 'KRW', points: 1 } }), 400, 'parameter_invalid');
      expectError(await putProgram(other, { earn: { per_amount: 100, currency: 'KRW', points: 1 }, bonus_categories: { poem: 2 } }), 400, 'parameter_unknown');
      expectError(await putProgram(other, { earn: { per_amount: 100, currency: 'KRW', points: 1 } }, other.readKey), 403, 'api_key_scope_insufficient');
      // The publishable key cannot set rules.
      const publishable = await putProgram(other, { earn: { per_amount: 100, currency: 'KRW', points: 1 } }, other.publishableKey);
      assert.ok(publishable.statusCode === 401 || publishable.statusCode === 403, publishable.body);
    });

    it('refuses a hold as long as the expiry or longer (earned points would never be spendable), naming hold_days', async () => {
      const holding = await api.createMerchant({ name: 'Hold and expiry shop' });
      const rules = { earn: { per_amount: 100, currency: 'KRW', points: 1 } };
      for (const [holdDays, expiryDays] of [[30, 30], [31, 30], [90, 1]]) {
        const refused = await putProgram(holding, { ...rules, hold_days: holdDays, expiry_days: expiryDays });
        expectError(refused, 400, 'parameter_invalid');
        assert.equal(refused.json().error.param, 'hold_days', refused.body);
      }
      expectError(await api.call('GET', '/v1/loyalty/program', { key: holding.secretKey }), 404, 'resource_missing');
      // Shorter than the expiry, or without expiry, a hold is accepted.
      const shorter = await putProgram(holding, { ...rules, hold_days: 29, expiry_days: 30 });
      assert.equal(shorter.statusCode, 200, shorter.body);
      const never = await putProgram(holding, { ...rules, hold_days: 90, expiry_days: null });
      assert.equal(never.statusCode, 200, never.body);
      assert.equal(never.json().hold_days, 90);
      // Refused as a replacement too: the program in place stays.
      expectError(await putProgram(holding, { ...rules, hold_days: 14, expiry_days: 7 }), 400, 'parameter_invalid');
      const kept = (await api.call('GET', '/v1/loyalty/program', { key: holding.secretKey })).json();
      assert.deepEqual([kept.hold_days, kept.expiry_days, kept.version], [90, null, 2]);
    });

    it('earns on an automatic payment, with the bonus category, in the payment\'s own commit', async () => {
      const customer = await customerOf(shop);
      const response = await pay(shop, customer, {
        amount: 10_000,
        line_items: [
          { description: 'Gems', category: 'game_credit', unit_amount: 3000 },
          { description: 'Sword', category: 'virtual_good', unit_amount: 7000 },
        ],
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'succeeded');
      // 3,000 × 2 + 7,000 = 13,000 weighted KRW at 1 point per 100.
      const balance = await points(shop, customer);
      assert.equal(balance.balance, 130);
      assert.equal(balance.upcoming_expiries.length, 1);
      assert.equal(balance.upcoming_expiries[0]!.points, 130);
      const inDays = (balance.upcoming_expiries[0]!.expires_at * 1000 - Date.now()) / DAY_MS;
      assert.ok(inDays > 364.9 && inDays < 365.1, String(inDays));
      const earn = await api.runtime.ledger.getTransfer(ledgerId(`${response.json().id}:points_earn`));
      assert.equal(earn?.amount, 130n);
      assert.equal(earn?.asset, 'PTS');
      assert.equal(earn?.code, LOYALTY_TRANSFER_CODES.earn);
    });

    it('earns on a manual capture only when captured, on the captured amount', async () => {
      const customer = await customerOf(shop);
      const held = await pay(shop, customer, { amount: 10_000, capture_method: 'manual' });
      assert.equal(held.json().status, 'requires_capture', held.body);
      assert.equal((await points(shop, customer)).balance, 0);
      const captured = await api.call('POST', `/v1/payments/${held.json().id}/capture`, { key: shop.secretKey, body: { amount_to_capture: 5000 } });
      assert.equal(captured.statusCode, 200, captured.body);
      assert.equal(captured.json().status, 'succeeded');
      assert.equal((await points(shop, customer)).balance, 50);
    });

    it('earns when a payment held for review is approved, not before', async () => {
      const customer = await customerOf(shop);
      const held = await pay(shop, customer, { amount: REVIEWED_AMOUNT });
      assert.equal(held.json().status, 'processing', held.body);
      assert.equal((await points(shop, customer)).balance, 0);
      const reviews = api.runtime.services.riskReviews;
      const review = (await reviews.list({ limit: 100 })).data.find((candidate) => candidate.subjectId === held.json().id);
      assert.ok(review);
      const decided = await reviews.decide(review.id, { approve: true, note: null, operator: 'test' });
      assert.equal(decided.ok, true, decided.ok ? "" : decided.code);
      assert.equal((await points(shop, customer)).balance, 77);
    });

    it('earns nothing on a blocked or unpaid payment, nor at a merchant without a program or in another currency', async () => {
      const customer = await customerOf(shop, 100n);
      expectError(await pay(shop, customer, { amount: BLOCKED_AMOUNT }), 402, 'payment_blocked');
      expectError(await pay(shop, customer, { amount: 5000 }), 402, 'insufficient_funds');
      assert.equal((await points(shop, customer)).balance, 0);
      const elsewhere = await customerOf(other);
      await paid(other, elsewhere, 10_000);
      assert.equal((await points(other, elsewhere)).balance, 0);
      await api.fundWallet(shop, customer, 10_000n, 'USD');
      const dollars = await api.call('POST', '/v1/payments', { key: shop.secretKey, body: { customer, amount: 5000, currency: 'USD', confirm: true } });
      assert.equal(dollars.json().status, 'succeeded', dollars.body);
      assert.equal((await points(shop, customer)).balance, 0);
    });

    it('never earns twice: a repeated confirm is refused and a keyed retry replays', async () => {
      const customer = await customerOf(shop);
      const first = await pay(shop, customer, { amount: 1000 }, { 'idempotency-key': `earn-${customer}` });
      assert.equal(first.statusCode, 200, first.body);
      const again = await pay(shop, customer, { amount: 1000 }, { 'idempotency-key': `earn-${customer}` });
      assert.equal(again.json().id, first.json().id);
      expectError(await api.call('POST', `/v1/payments/${first.json().id}/confirm`, { key: shop.secretKey }), 409, 'payment_unexpected_state');
      assert.equal((await points(shop, customer)).balance, 10);
    });

    it('claws points back in proportion on partial and full refunds', async () => {
      const customer = await customerOf(shop);
      const paymentId = await paid(shop, customer, 10_000);
      assert.equal((await points(shop, customer)).balance, 100);
      const partial = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: paymentId, amount: 3333 } });
      assert.equal(partial.json().status, 'succeeded', partial.body);
      assert.equal((await points(shop, customer)).balance, 67);
      const rest = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: paymentId } });
      assert.equal(rest.json().status, 'succeeded', rest.body);
      const balance = await points(shop, customer);
      assert.equal(balance.balance, 0);
      assert.deepEqual(balance.upcoming_expiries, []);
      const { rows } = await api.runtime.db.query<{ wanted: string; clawed: string }>(`SELECT wanted::text, clawed::text FROM loyalty_clawbacks WHERE payment_id = $1 ORDER BY created_at, wanted`, [paymentId]);
      assert.deepEqual(rows.map((row) => [row.wanted, row.clawed]).sort(), [['33', '33'], ['67', '67']]);
    });

    it('claws back only what the buyer still holds and records the shortfall', async () => {
      const customer = await customerOf(shop);
      const paymentId = await paid(shop, customer, 10_000);
      const buyerId = await buyerIdOf(shop, customer);
      // The buyer spends 80 of the 100 points (as a burn at the checkout would).
      const [spent] = await api.runtime.ledger.createTransfers([
        { id: randomUUID(), debitAccountId: pointsAccountId(shop.id, buyerId, false), creditAccountId: issuanceAccountId(shop.id, false), amount: 80n, code: 23 },
      ]);
      assert.equal(spent?.result, 'created');
      const refund = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: paymentId } });
      assert.equal(refund.json().status, 'succeeded', refund.body);
      assert.equal((await points(shop, customer)).balance, 0);
      const { rows } = await api.runtime.db.query<{ wanted: string; clawed: string }>(`SELECT wanted::text, clawed::text FROM loyalty_clawbacks WHERE refund_id = $1`, [refund.json().id]);
      assert.deepEqual(rows, [{ wanted: '100', clawed: '20' }]);
    });

    it('expires points FIFO by correcting transfers, once, and the ledger still verifies', async () => {
      const customer = await customerOf(shop);
      await paid(shop, customer, 10_000);
      const buyerId = await buyerIdOf(shop, customer);
      const account = pointsAccountId(shop.id, buyerId, false);
      await api.runtime.ledger.createTransfers([
        { id: randomUUID(), debitAccountId: account, creditAccountId: issuanceAccountId(shop.id, false), amount: 30n, code: 23 },
      ]);
      const loyalty = api.runtime.services.loyalty;
      // Nothing is due before the lot's expiry.
      await loyalty.expirePoints(new Date(Date.now() + 300 * DAY_MS), 100);
      assert.equal((await points(shop, customer)).balance, 70);
      const later = new Date(Date.now() + 366 * DAY_MS);
      assert.ok((await loyalty.expirePoints(later, 1000)) >= 1);
      assert.equal((await points(shop, customer)).balance, 0);
      assert.equal(await loyalty.expirePoints(later, 1000), 0);
      const history = await api.runtime.ledger.listAccountTransfers(account, { limit: 10 });
      const expiry = history.data.find((entry) => entry.transfer.code === LOYALTY_TRANSFER_CODES.expiry);
      assert.equal(expiry?.transfer.amount, 70n);
      assert.equal(expiry?.transfer.debitAccountId, account);
      assert.deepEqual((await api.runtime.ledger.verify()).drift, []);
    });

    it('keeps merchants apart, and shows the buyer their own points', async () => {
      const buyer = await signUpBuyer(api, shop.publishableKey);
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: shop.id, livemode: false }, buyer.id);
      await api.fundWallet(shop, customer.id, 100_000n, CURRENCY);
      await paid(shop, customer.id, 2000);
      const mine = await api.call('GET', '/v1/buyer/points', { key: shop.publishableKey, headers: buyer.headers });
      assert.equal(mine.statusCode, 200, mine.body);
      assert.equal(mine.json().balance, 20);
      assert.equal(mine.json().upcoming_expiries[0].points, 20);
      // At another merchant the same buyer holds none of these points.
      const elsewhere = await api.call('GET', '/v1/buyer/points', { key: other.publishableKey, headers: buyer.headers });
      assert.equal(elsewhere.json().balance, 0, elsewhere.body);
      expectError(await api.call('GET', '/v1/buyer/points', { key: shop.publishableKey }), 401, 'buyer_session_required');
      // Another merchant cannot read this merchant's customer.
      expectError(await api.call('GET', `/v1/loyalty/balances/${customer.id}`, { key: other.secretKey }), 404, 'resource_missing');
    });
  });
}
