// The buyer read endpoints keep tenants apart (src/wallet/reach.ts), on both stores: a buyer with
// purchases at Alpha and Beta is signed in by Alpha on its own page with a one-time code (Alpha's
// publishable key). Through Alpha's key the history, its CSV, the receipt links, points, badges,
// points per merchant and spending show only what the buyer did at Alpha, and Beta's payment or refund
// is missing (404); through the platform's wallet key, a session opened through that key sees both
// merchants, while Alpha's session sent with the (public) wallet key is refused. The wallet balance is
// one balance at every merchant and stays the same through either key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';
import { BUYER_SESSION_HEADER } from '../buyers/model.ts';

const CURRENCY = 'USD';

for (const kind of STORE_KINDS) {
  describe(`buyer read endpoints within the key's reach on ${kind}`, () => {
    let api: TestApi;
    let wallet: TestMerchant;
    let alpha: TestMerchant;
    let beta: TestMerchant;
    /** The session Alpha got by signing the buyer in on its own page. */
    let headers: Record<string, string>;
    /** The session the buyer opened in the wallet (through the wallet key). */
    let walletHeaders: Record<string, string>;
    const ids = {} as { atAlpha: string; atBeta: string; refundAtAlpha: string; refundAtBeta: string };

    // Each key with the session opened through it: Alpha's page with Alpha's, the wallet with the wallet's.
    const get = (url: string, key: string): Promise<LightMyRequestResponse> =>
      api.call('GET', url, { key, headers: key === wallet.publishableKey ? walletHeaders : headers });
    async function ok(url: string, key: string): Promise<LightMyRequestResponse> {
      const response = await get(url, key);
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      return response;
    }
    const historyIds = async (query: string, key: string): Promise<string[]> => (await ok(`/v1/buyer/history${query}`, key)).json().data.map((entry: { id: string }) => entry.id);
    const merchantsOf = (data: Array<{ merchant: { id: string } }>): string[] => data.map((one) => one.merchant.id).sort();

    before(async () => {
      api = await startTestApi(kind);
      wallet = await api.createMerchant({ name: 'Micropay Wallet' });
      api.runtime.config.walletPublishableKey = wallet.publishableKey;
      alpha = await api.createMerchant({ name: 'Alpha News' });
      beta = await api.createMerchant({ name: 'Beta Games' });
      // Both merchants give points: 1 per 10 cents, spendable at once.
      for (const merchant of [alpha, beta]) {
        const program = await api.app.inject({ method: 'PUT', url: '/v1/loyalty/program', headers: { authorization: `Bearer ${merchant.secretKey}` }, payload: { earn: { per_amount: 10, currency: CURRENCY, points: 1 } } });
        assert.equal(program.statusCode, 200, program.body);
      }
      const buyer = await signUpBuyer(api, wallet.publishableKey);
      walletHeaders = buyer.headers;
      const paid: string[] = [];
      for (const [index, merchant] of [alpha, beta].entries()) {
        const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
        if (index === 0) await api.fundWallet(merchant, customer.id, 10_000n, CURRENCY);
        const response = await api.call('POST', '/v1/payments', {
          key: merchant.secretKey,
          body: { customer: customer.id, amount: index === 0 ? 300 : 500, currency: CURRENCY, confirm: true, description: `At ${merchant.id}` },
        });
        assert.equal(response.json().status, 'succeeded', response.body);
        paid.push(response.json().id);
      }
      [ids.atAlpha, ids.atBeta] = paid as [string, string];
      for (const [merchant, payment, key] of [[alpha, ids.atAlpha, 'refundAtAlpha'], [beta, ids.atBeta, 'refundAtBeta']] as const) {
        const refund = await api.call('POST', '/v1/refunds', { key: merchant.secretKey, body: { payment, amount: 100 } });
        assert.equal(refund.json().status, 'succeeded', refund.body);
        ids[key] = refund.json().id;
      }

      // Alpha signs the buyer in on its own page with a one-time code and its own publishable key.
      const sent = await api.call('POST', '/v1/buyer/codes', { key: alpha.publishableKey, body: { email: buyer.email } });
      assert.equal(sent.statusCode, 200, sent.body);
      const outbox = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(buyer.email.toLowerCase())}` });
      const code = /\b(\d{6})\b/.exec(outbox.json().data[0].body)![1]!;
      const verified = await api.call('POST', '/v1/buyer/codes/verify', { key: alpha.publishableKey, body: { code_request: sent.json().code_request, code } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().buyer.id, buyer.id);
      headers = { [BUYER_SESSION_HEADER]: verified.json().session.token };
    });
    after(async () => {
      assert.deepEqual((await api.runtime.ledger.verify()).drift, []);
      await api.close();
    });

    it("through Alpha's key the history and its CSV show only Alpha's entries; a filter naming Beta finds nothing", async () => {
      assert.deepEqual(await historyIds('', alpha.publishableKey), [ids.refundAtAlpha, ids.atAlpha]);
      assert.deepEqual(await historyIds(`?merchant=${beta.id}`, alpha.publishableKey), []);
      assert.deepEqual(await historyIds(`?starting_after=${ids.refundAtBeta}`, alpha.publishableKey), []);
      const csv = await ok('/v1/buyer/history.csv', alpha.publishableKey);
      const rows = csv.body.split('\r\n').slice(1, -1);
      assert.deepEqual(rows.map((row) => row.split(',')[0]), [ids.refundAtAlpha, ids.atAlpha]);
      assert.ok(!csv.body.includes(beta.id) && !csv.body.includes('Beta Games'));
      assert.equal((await ok(`/v1/buyer/history.csv?merchant=${beta.id}`, alpha.publishableKey)).body.split('\r\n').length, 2, 'the header row only');
      // Through the wallet key the same session sees both merchants.
      assert.deepEqual(await historyIds('', wallet.publishableKey), [ids.refundAtBeta, ids.refundAtAlpha, ids.atBeta, ids.atAlpha]);
      assert.deepEqual(await historyIds(`?merchant=${beta.id}`, wallet.publishableKey), [ids.refundAtBeta, ids.atBeta]);
      assert.equal((await ok('/v1/buyer/history.csv', wallet.publishableKey)).body.split('\r\n').length, 1 + 4 + 1);
    });

    it("through Alpha's key Beta's payment and refund have no receipt (404); through the wallet key both do", async () => {
      for (const id of [ids.atAlpha, ids.refundAtAlpha]) assert.match((await ok(`/v1/buyer/receipts/${id}`, alpha.publishableKey)).json().url, /\/receipts\/rct_/);
      for (const id of [ids.atBeta, ids.refundAtBeta]) {
        for (const key of [alpha.publishableKey, alpha.secretKey]) {
          const response = await get(`/v1/buyer/receipts/${id}`, key);
          assert.equal(response.statusCode, 404, response.body);
          assert.equal(response.json().error.code, 'resource_missing');
          assert.equal(response.json().error.param, 'id');
        }
        assert.match((await ok(`/v1/buyer/receipts/${id}`, wallet.publishableKey)).json().url, /\/receipts\/rct_/);
      }
    });

    it("through Alpha's key points, badges, points per merchant and spending are Alpha's only; through the wallet key, both merchants'", async () => {
      // Points were always the key's merchant's: 30 earned at Alpha less 10 clawed back by its refund.
      assert.equal((await ok('/v1/buyer/points', alpha.publishableKey)).json().balance, 20);
      assert.equal((await ok('/v1/buyer/points', beta.publishableKey)).json().balance, 40);

      assert.deepEqual(merchantsOf((await ok('/v1/buyer/badges', alpha.publishableKey)).json().data), [alpha.id]);
      assert.deepEqual(merchantsOf((await ok('/v1/buyer/badges', wallet.publishableKey)).json().data), [alpha.id, beta.id].sort());

      const alphaPoints = (await ok('/v1/buyer/merchant_points', alpha.publishableKey)).json().data;
      assert.deepEqual(alphaPoints.map((one: { merchant: { id: string }; points: { balance: number } }) => [one.merchant.id, one.points.balance]), [[alpha.id, 20]]);
      const everyPoints = (await ok('/v1/buyer/merchant_points', wallet.publishableKey)).json().data;
      assert.deepEqual(merchantsOf(everyPoints), [alpha.id, beta.id].sort());

      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual((await ok('/v1/buyer/spending', alpha.publishableKey)).json().days, [{ date: today, currency: CURRENCY, spent: 300, refunded: 100 }]);
      assert.deepEqual((await ok('/v1/buyer/spending', wallet.publishableKey)).json().days, [{ date: today, currency: CURRENCY, spent: 800, refunded: 200 }]);
    });

    it("refuses Alpha's session sent with the wallet key, which is public: it never reaches Beta", async () => {
      for (const url of ['/v1/buyer/history', '/v1/buyer/history.csv', `/v1/buyer/receipts/${ids.atBeta}`, '/v1/buyer/spending', '/v1/buyer/badges']) {
        const response = await api.call('GET', url, { key: wallet.publishableKey, headers });
        assert.equal(response.statusCode, 401, `${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'buyer_session_required', url);
        assert.match(response.json().error.message, /opened on a merchant's pages/);
      }
      // Nor can it act as the buyer at Beta: no dispute is opened against Beta's payment.
      const dispute = await api.call('POST', `/v1/buyer/payments/${ids.atBeta}/disputes`, {
        key: wallet.publishableKey,
        headers: { ...headers, 'idempotency-key': `reach-${kind}` },
        body: { reason: 'fraudulent', amount: 100 },
      });
      assert.equal(dispute.statusCode, 401, dispute.body);
      const opened = await api.runtime.db.query(`SELECT id FROM disputes WHERE payment_id = $1`, [ids.atBeta]);
      assert.equal(opened.rows.length, 0);
      // The wallet's own session reaches both merchants.
      assert.equal((await ok('/v1/buyer/history', wallet.publishableKey)).json().data.length, 4);
    });

    it('the wallet balance is one balance at every merchant: the same through either key', async () => {
      const balances = await Promise.all([alpha.publishableKey, beta.publishableKey, wallet.publishableKey].map(async (key) => (await ok('/v1/buyer/wallet', key)).json().balances));
      // 10,000 funded, 300 and 500 paid, 100 and 100 refunded.
      for (const each of balances) assert.deepEqual(each.find((one: { currency: string }) => one.currency === CURRENCY)?.available, 9_400);
    });
  });
}
