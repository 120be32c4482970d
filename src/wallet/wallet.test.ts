// The wallet's reach over HTTP on both stores: through the platform's wallet key a buyer asks for a
// refund, disputes and opens tickets on their purchases at any merchant, and lists and answers their
// tickets at every merchant; through a merchant's own publishable key only that merchant's purchases are
// reached; another buyer's purchase or ticket is missing either way. Then the wallet's own endpoints:
// spending per day, points per merchant, and a top-up from the wallet with its 3-D Secure confirmation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_KEYS_FILE, walletPublishableKeyResolver } from '../server/bootstrap.ts';

const CURRENCY = 'USD';
const nextYear = new Date().getUTCFullYear() + 1;
const card = (number: string) => ({ number, exp_month: 12, exp_year: nextYear, cvc: '947' });

describe('the wallet key', () => {
  it("is WALLET_PUBLISHABLE_KEY, else in development the wallet merchant's from dev-keys.json (the news merchant's in an older file), else none", () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wallet-key-'));
    try {
      const keysOf = (name: string) => ({ id: `mer_${name}`, name, secret_key: `sk_test_${name}`, publishable_key: `pk_test_${name}` });
      const write = (keys: object) => writeFileSync(join(dataDir, DEV_KEYS_FILE), JSON.stringify(keys));
      const development = { mode: 'development', dataDir, walletPublishableKey: null };
      assert.equal(walletPublishableKeyResolver(development)(), null, 'no file yet');
      write({ operator_key: 'x', merchant: keysOf('studio'), demo: { news: keysOf('news') } });
      assert.equal(walletPublishableKeyResolver(development)(), 'pk_test_news');
      write({ operator_key: 'x', merchant: keysOf('studio'), demo: { news: keysOf('news') }, wallet: keysOf('wallet') });
      assert.equal(walletPublishableKeyResolver(development)(), 'pk_test_wallet');
      assert.equal(walletPublishableKeyResolver({ ...development, walletPublishableKey: 'pk_test_configured' })(), 'pk_test_configured');
      assert.equal(walletPublishableKeyResolver({ ...development, mode: 'production' })(), null);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

for (const kind of STORE_KINDS) {
  describe(`the wallet's buyer-wide reach on ${kind}`, () => {
    let api: TestApi;
    let wallet: TestMerchant;
    let alpha: TestMerchant;
    let beta: TestMerchant;

    before(async () => {
      api = await startTestApi(kind);
      wallet = await api.createMerchant({ name: 'Micropay Wallet' });
      alpha = await api.createMerchant({ name: 'Alpha News' });
      beta = await api.createMerchant({ name: 'Beta Games' });
      // What WALLET_PUBLISHABLE_KEY sets: the key the wallet app is served with.
      api.runtime.config.walletPublishableKey = wallet.publishableKey;
    });
    after(async () => {
      assert.equal((await api.runtime.ledger.verify()).drift.length, 0);
      await api.close();
    });

    function expectError(response: LightMyRequestResponse, status: number, code: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
    }

    /** A buyer who bought something at alpha and at beta (a funded wallet, one succeeded payment at each). */
    async function buyerWithPurchases(amount = 300): Promise<{ buyer: TestBuyer; atAlpha: string; atBeta: string }> {
      const buyer = await signUpBuyer(api, wallet.publishableKey);
      const paid: string[] = [];
      for (const [index, merchant] of [alpha, beta].entries()) {
        const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
        if (index === 0) await api.fundWallet(merchant, customer.id, 50_000n, CURRENCY);
        const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customer.id, amount, currency: CURRENCY, confirm: true, description: `At ${index}` } });
        assert.equal(response.json().status, 'succeeded', response.body);
        paid.push(response.json().id);
      }
      return { buyer, atAlpha: paid[0]!, atBeta: paid[1]! };
    }

    const asBuyer = (buyer: TestBuyer, method: 'GET' | 'POST', url: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
      api.call(method, url, { key, body, headers: { ...buyer.headers, ...headers } });

    it("through the wallet key a buyer asks for a refund of any merchant's purchase; the automatic policy decides at once", async () => {
      const { buyer, atAlpha, atBeta } = await buyerWithPurchases();
      for (const paymentId of [atAlpha, atBeta]) {
        const response = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, wallet.publishableKey, { amount: 100 }, { 'idempotency-key': `wallet-refund-${paymentId}` });
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().status, 'succeeded');
        assert.equal(response.json().automatic, true);
      }
      const payment = await api.call('GET', `/v1/payments/${atBeta}`, { key: beta.secretKey });
      assert.equal(payment.json().amount_refunded, 100, "the refund came out of beta's payment");
    });

    it("a merchant's own key reaches only that merchant's purchases", async () => {
      const { buyer, atAlpha, atBeta } = await buyerWithPurchases();
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/payments/${atBeta}/refund_requests`, alpha.publishableKey, {}), 404, 'resource_missing');
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/payments/${atBeta}/disputes`, alpha.publishableKey, { reason: 'fraudulent' }), 404, 'resource_missing');
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/tickets', alpha.publishableKey, { payment: atBeta, subject: 'Hi', message: 'Hello' }), 404, 'resource_missing');
      // Its own merchant's purchase works as before.
      const ticket = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', alpha.publishableKey, { payment: atAlpha, subject: 'About alpha', message: 'Hello alpha' });
      assert.equal(ticket.statusCode, 200, ticket.body);
      // A ticket at beta (opened through the wallet) is missing through alpha's key, and not in its list.
      const atBetaTicket = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', wallet.publishableKey, { payment: atBeta, subject: 'About beta', message: 'Hello beta' });
      assert.equal(atBetaTicket.statusCode, 200, atBetaTicket.body);
      expectError(await asBuyer(buyer, 'GET', `/v1/buyer/tickets/${atBetaTicket.json().id}`, alpha.publishableKey), 404, 'resource_missing');
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/tickets/${atBetaTicket.json().id}/messages`, alpha.publishableKey, { message: 'Sneaky' }), 404, 'resource_missing');
      const listed = await asBuyer(buyer, 'GET', '/v1/buyer/tickets', alpha.publishableKey);
      assert.deepEqual(listed.json().data.map((one: { subject: string }) => one.subject), ['About alpha']);
      // A secret key of the merchant with the buyer's session is no wallet key either.
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/payments/${atBeta}/refund_requests`, alpha.secretKey, {}), 404, 'resource_missing');
    });

    it('through the wallet key tickets at every merchant are listed, read and answered; each merchant sees only its own', async () => {
      const { buyer, atAlpha, atBeta } = await buyerWithPurchases();
      const opened: Record<string, string> = {};
      for (const [name, paymentId] of [['alpha', atAlpha], ['beta', atBeta]] as const) {
        const response = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', wallet.publishableKey, { payment: paymentId, subject: `Question for ${name}`, message: 'Where is my item?' }, { 'idempotency-key': `ticket-${paymentId}` });
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().payment, paymentId);
        assert.equal(response.json().merchant, name === 'alpha' ? alpha.id : beta.id, "the ticket is the purchase's merchant's");
        opened[name] = response.json().id;
      }
      const listed = await asBuyer(buyer, 'GET', '/v1/buyer/tickets', wallet.publishableKey);
      assert.deepEqual(listed.json().data.map((one: { subject: string }) => one.subject), ['Question for beta', 'Question for alpha']);
      // Paging through the buyer-wide list.
      const first = await asBuyer(buyer, 'GET', '/v1/buyer/tickets?limit=1', wallet.publishableKey);
      assert.equal(first.json().has_more, true);
      const second = await asBuyer(buyer, 'GET', `/v1/buyer/tickets?limit=1&starting_after=${first.json().data[0].id}`, wallet.publishableKey);
      assert.deepEqual(second.json().data.map((one: { id: string }) => one.id), [opened.alpha]);
      // The tickets belong to the purchases' merchants.
      const betaTickets = await api.call('GET', '/v1/support/tickets', { key: beta.secretKey });
      assert.ok(betaTickets.json().data.some((one: { id: string }) => one.id === opened.beta));
      assert.ok(!betaTickets.json().data.some((one: { id: string }) => one.id === opened.alpha));
      expectError(await api.call('GET', `/v1/support/tickets/${opened.alpha}`, { key: beta.secretKey }), 404, 'resource_missing');
      const walletTickets = await api.call('GET', '/v1/support/tickets', { key: wallet.secretKey });
      assert.equal(walletTickets.json().data.length, 0, 'the wallet merchant sees none of them');
      // Beta answers; the buyer reads the thread and replies through the wallet.
      const answered = await api.call('POST', `/v1/support/tickets/${opened.beta}/messages`, { key: beta.secretKey, body: { message: 'Shipped today.' } });
      assert.equal(answered.json().status, 'answered');
      const thread = await asBuyer(buyer, 'GET', `/v1/buyer/tickets/${opened.beta}`, wallet.publishableKey);
      assert.deepEqual(thread.json().messages.map((one: { author: string; body: string }) => [one.author, one.body]), [['buyer', 'Where is my item?'], ['merchant', 'Shipped today.']]);
      const replied = await asBuyer(buyer, 'POST', `/v1/buyer/tickets/${opened.beta}/messages`, wallet.publishableKey, { message: 'Thanks!' });
      assert.equal(replied.json().status, 'open');
    });

    it("another buyer reaches none of the buyer's purchases or tickets, even through the wallet key", async () => {
      const { buyer, atBeta } = await buyerWithPurchases();
      const stranger = await signUpBuyer(api, wallet.publishableKey);
      const ticket = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', wallet.publishableKey, { payment: atBeta, subject: 'Mine', message: 'Mine' });
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/payments/${atBeta}/refund_requests`, wallet.publishableKey, {}), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/payments/${atBeta}/disputes`, wallet.publishableKey, { reason: 'fraudulent' }), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', '/v1/buyer/tickets', wallet.publishableKey, { payment: atBeta, subject: 'x', message: 'y' }), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'GET', `/v1/buyer/tickets/${ticket.json().id}`, wallet.publishableKey), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/tickets/${ticket.json().id}/messages`, wallet.publishableKey, { message: 'x' }), 404, 'resource_missing');
      assert.deepEqual((await asBuyer(stranger, 'GET', '/v1/buyer/tickets', wallet.publishableKey)).json().data, []);
      // Without a session the wallet key grants nothing.
      expectError(await api.call('GET', '/v1/buyer/tickets', { key: wallet.publishableKey }), 401, 'buyer_session_required');
    });

    it("through the wallet key a buyer disputes another merchant's purchase", async () => {
      const { buyer, atBeta } = await buyerWithPurchases();
      const response = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${atBeta}/disputes`, wallet.publishableKey, { reason: 'product_not_received', description: 'Never came' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().payment, atBeta);
      const disputes = await api.call('GET', `/v1/disputes?payment=${atBeta}`, { key: beta.secretKey });
      assert.equal(disputes.json().data.length, 1, disputes.body);
    });

    it("spending per day and points per merchant cover every merchant through the wallet key, the key's merchant otherwise", async () => {
      const { buyer, atAlpha } = await buyerWithPurchases(400);
      const refund = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${atAlpha}/refund_requests`, wallet.publishableKey, { amount: 150 });
      assert.equal(refund.json().status, 'succeeded', refund.body);
      const today = new Date().toISOString().slice(0, 10);
      const spending = await asBuyer(buyer, 'GET', '/v1/buyer/spending?days=30', wallet.publishableKey);
      assert.equal(spending.statusCode, 200, spending.body);
      assert.deepEqual(spending.json().days, [{ date: today, currency: CURRENCY, spent: 800, refunded: 150 }]);
      const atBetaOnly = await asBuyer(buyer, 'GET', '/v1/buyer/spending', beta.publishableKey);
      assert.deepEqual(atBetaOnly.json().days, [{ date: today, currency: CURRENCY, spent: 400, refunded: 0 }]);
      expectError(await asBuyer(buyer, 'GET', '/v1/buyer/spending?days=0', wallet.publishableKey), 400, 'parameter_invalid');
      expectError(await asBuyer(buyer, 'GET', '/v1/buyer/spending?days=abc', wallet.publishableKey), 400, 'parameter_invalid');

      const points = await asBuyer(buyer, 'GET', '/v1/buyer/merchant_points', wallet.publishableKey);
      assert.equal(points.statusCode, 200, points.body);
      assert.deepEqual(points.json().data.map((one: { merchant: { name: string }; points: { balance: number } }) => [one.merchant.name, one.points.balance]), [['Alpha News', 0], ['Beta Games', 0]]);
      const alphaOnly = await asBuyer(buyer, 'GET', '/v1/buyer/merchant_points', alpha.publishableKey);
      assert.deepEqual(alphaOnly.json().data.map((one: { merchant: { id: string } }) => one.merchant.id), [alpha.id]);
      const stranger = await signUpBuyer(api, wallet.publishableKey);
      assert.deepEqual((await asBuyer(stranger, 'GET', '/v1/buyer/spending', wallet.publishableKey)).json().days, []);
      assert.deepEqual((await asBuyer(stranger, 'GET', '/v1/buyer/merchant_points', wallet.publishableKey)).json().data, []);
    });

    it('a top-up from the wallet: at once for a plain card, after 3-D Secure for a challenged one; only its buyer confirms it', async () => {
      const buyer = await signUpBuyer(api, wallet.publishableKey);
      const plain = await asBuyer(buyer, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 2_000, currency: CURRENCY, card: card('4242424242424242') }, { 'idempotency-key': `top-${buyer.id}` });
      assert.equal(plain.statusCode, 200, plain.body);
      assert.equal(plain.json().status, 'succeeded');
      assert.ok(!plain.body.includes('4242424242424242'), 'the card number never comes back');
      const again = await asBuyer(buyer, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 2_000, currency: CURRENCY, card: card('4242424242424242') }, { 'idempotency-key': `top-${buyer.id}` });
      assert.equal(again.json().id, plain.json().id, 'a retry is the same top-up');
      const balances = async () => (await asBuyer(buyer, 'GET', '/v1/buyer/wallet', wallet.publishableKey)).json().balances.find((one: { currency: string }) => one.currency === CURRENCY)?.available;
      assert.equal(await balances(), 2_000);

      const challenged = await asBuyer(buyer, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 1_000, currency: CURRENCY, card: card('4000000000003220') });
      assert.equal(challenged.json().status, 'requires_action', challenged.body);
      const id = challenged.json().id;
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/top_ups/${id}/confirm`, wallet.publishableKey, {}), 409, 'three_d_secure_incomplete');
      const stranger = await signUpBuyer(api, wallet.publishableKey);
      const response = await fetch(challenged.json().next_action.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'pass' }) });
      assert.equal(response.status, 200);
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/top_ups/${id}/confirm`, wallet.publishableKey, {}), 404, 'resource_missing');
      const confirmed = await asBuyer(buyer, 'POST', `/v1/buyer/top_ups/${id}/confirm`, wallet.publishableKey, {});
      assert.equal(confirmed.json().status, 'succeeded', confirmed.body);
      assert.equal(await balances(), 3_000);
      // Recorded at the wallet merchant, for the buyer's customer there.
      // The card is saved at the wallet merchant: the next top-up uses it without the number; another buyer sees none.
      const cards = await asBuyer(buyer, 'GET', '/v1/buyer/payment_methods', wallet.publishableKey);
      assert.equal(cards.statusCode, 200, cards.body);
      assert.deepEqual(cards.json().data.map((one: { card: { last4: string } }) => one.card.last4).sort(), ['3220', '4242']);
      const saved = cards.json().data.find((one: { card: { last4: string } }) => one.card.last4 === '4242');
      const again2 = await asBuyer(buyer, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 500, currency: CURRENCY, payment_method: saved.id });
      assert.equal(again2.json().status, 'succeeded', again2.body);
      assert.equal(await balances(), 3_500);
      assert.deepEqual((await asBuyer(stranger, 'GET', '/v1/buyer/payment_methods', wallet.publishableKey)).json().data, []);
      expectError(await asBuyer(stranger, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 500, currency: CURRENCY, payment_method: saved.id }), 404, 'resource_missing');
      const listed = await api.call('GET', '/v1/top_ups', { key: wallet.secretKey });
      assert.ok(listed.json().data.some((one: { id: string }) => one.id === id));
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/top_ups', wallet.publishableKey, { amount: 1, currency: CURRENCY, card: card('4242424242424242') }), 400, 'amount_too_small');
      expectError(await api.call('POST', '/v1/buyer/top_ups', { key: wallet.publishableKey, body: { amount: 2_000, currency: CURRENCY, card: card('4242424242424242') } }), 401, 'buyer_session_required');
    });
  });
}
