// The buyer read endpoints keep tenants apart (src/wallet/reach.ts), on both stores: a buyer with
// purchases at Alpha and Beta is signed in by Alpha on its own page with a one-time code (Alpha's
// publishable key). Through Alpha's key the history, its CSV, the receipt links, points, badges,
// points per merchant and spending show only what the buyer did at Alpha, and Beta's payment or refund
// is missing (404); through the platform's wallet key, a session opened through that key sees both
// merchants, while Alpha's session sent with the (public) wallet key, or with Beta's (public) key, is
// refused: it was opened with Alpha's code, so Alpha's page holds its token. A one-time code verifies only
// through the key that asked for it. A passkey session is bound to no merchant and works with any key
// (within that key's reach). The wallet balance is one balance at every merchant and stays the same
// through every key a session may use.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signInBuyer, signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';
import { BUYER_SESSION_HEADER } from '../buyers/model.ts';
import { tokenDigest } from '../buyers/service.ts';

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
    let buyer: TestBuyer;
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
      buyer = await signUpBuyer(api, wallet.publishableKey);
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
      const sent = await requestCode(alpha.publishableKey);
      const verified = await api.call('POST', '/v1/buyer/codes/verify', { key: alpha.publishableKey, body: { code_request: sent.codeRequest, code: sent.code } });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().buyer.id, buyer.id);
      headers = { [BUYER_SESSION_HEADER]: verified.json().session.token };
    });
    after(async () => {
      assert.deepEqual((await api.runtime.ledger.verify()).drift, []);
      await api.close();
    });

    /** A sign-in code for the buyer asked for through `key`, and the message it came in. */
    async function requestCode(key: string): Promise<{ codeRequest: string; code: string; text: string }> {
      const sent = await api.call('POST', '/v1/buyer/codes', { key, body: { email: buyer.email } });
      assert.equal(sent.statusCode, 200, sent.body);
      const outbox = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(buyer.email.toLowerCase())}` });
      const text: string = outbox.json().data[0].body;
      return { codeRequest: sent.json().code_request, code: /\b(\d{6})\b/.exec(text)![1]!, text };
    }
    const sessionRow = async (token: string) =>
      (await api.runtime.db.query<{ merchant_id: string | null; wallet: boolean }>('SELECT merchant_id, wallet FROM buyer_sessions WHERE token_digest = $1', [tokenDigest(token)])).rows[0];
    const attemptsOf = async (codeRequest: string) =>
      (await api.runtime.db.query<{ attempts: number; used_at: Date | null }>('SELECT attempts, used_at FROM buyer_codes WHERE id = $1', [codeRequest])).rows[0];

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
      // (Alpha's session does not work with Beta's key: the wallet's, bound to no merchant, does.)
      const atBeta = await api.call('GET', '/v1/buyer/points', { key: beta.publishableKey, headers: walletHeaders });
      assert.equal(atBeta.json().balance, 40, atBeta.body);

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

    it('the wallet balance is one balance at every merchant: the same through every key', async () => {
      const balances = await Promise.all([alpha.publishableKey, wallet.publishableKey].map(async (key) => (await ok('/v1/buyer/wallet', key)).json().balances));
      // The wallet's own session (bound to no merchant) through Beta's key.
      const atBeta = await api.call('GET', '/v1/buyer/wallet', { key: beta.publishableKey, headers: walletHeaders });
      assert.equal(atBeta.statusCode, 200, atBeta.body);
      balances.push(atBeta.json().balances);
      // 10,000 funded, 300 and 500 paid, 100 and 100 refunded.
      for (const each of balances) assert.deepEqual(each.find((one: { currency: string }) => one.currency === CURRENCY)?.available, 9_400);
    });

    it("refuses Alpha's session with Beta's (public) key: it was opened with Alpha's code, so Alpha's page holds its token", async () => {
      const refused = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
        const response = await api.call(method, url, {
          key: beta.publishableKey,
          headers: { ...headers, ...(method === 'POST' ? { 'idempotency-key': `beta-${kind}-${url}` } : {}) },
          ...(body === undefined ? {} : { body }),
        });
        assert.equal(response.statusCode, 401, `${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'buyer_session_required', url);
        assert.match(response.json().error.message, /opened on another merchant's pages; sign in again/, url);
      };
      for (const url of ['/v1/buyer/history', '/v1/buyer/history.csv', `/v1/buyer/receipts/${ids.atBeta}`, `/v1/buyer/receipts/${ids.refundAtBeta}`, '/v1/buyer/spending',
        '/v1/buyer/badges', '/v1/buyer/merchant_points', '/v1/buyer/points', '/v1/buyer/wallet', '/v1/buyer/payment_methods', '/v1/buyer/tickets', '/v1/buyer/me', '/v1/buyer/devices']) {
        await refused('GET', url);
      }
      // Nor can Alpha act as the buyer at Beta: no dispute, refund request, ticket or top-up.
      await refused('POST', `/v1/buyer/payments/${ids.atBeta}/disputes`, { reason: 'fraudulent', amount: 100 });
      await refused('POST', `/v1/buyer/payments/${ids.atBeta}/refund_requests`, { amount: 100 });
      await refused('POST', '/v1/buyer/tickets', { payment: ids.atBeta, subject: 'Hello', message: 'Hello' });
      await refused('POST', '/v1/buyer/top_ups', { amount: 1000, currency: CURRENCY, payment_method: 'card_none' });
      const { rows: disputes } = await api.runtime.db.query(`SELECT id FROM disputes WHERE payment_id = $1`, [ids.atBeta]);
      assert.equal(disputes.length, 0);
      const { rows: requests } = await api.runtime.db.query(`SELECT id FROM refunds WHERE payment_id = $1 AND id <> $2`, [ids.atBeta, ids.refundAtBeta]);
      assert.equal(requests.length, 0);
      // Beta's secret key is another merchant's key too.
      assert.equal((await api.call('GET', '/v1/buyer/history', { key: beta.secretKey, headers })).statusCode, 401);
      // With Alpha's own keys it goes on working.
      assert.equal((await api.call('GET', '/v1/buyer/history', { key: alpha.secretKey, headers })).statusCode, 200);
      assert.equal((await api.call('GET', '/v1/buyer/me', { key: alpha.publishableKey, headers })).statusCode, 200);
    });

    it("a passkey session opened on Alpha's page is bound to no merchant: with Beta's key it reaches Beta's purchases, as before", async () => {
      const passkey = await signInBuyer(api, alpha.publishableKey, buyer);
      assert.deepEqual({ ...(await sessionRow(passkey.token)) }, { merchant_id: null, wallet: false });
      const history = await api.call('GET', '/v1/buyer/history', { key: beta.publishableKey, headers: passkey.headers });
      assert.equal(history.statusCode, 200, history.body);
      assert.deepEqual(history.json().data.map((entry: { id: string }) => entry.id), [ids.refundAtBeta, ids.atBeta]);
      assert.equal((await api.call('GET', '/v1/buyer/me', { key: beta.publishableKey, headers: passkey.headers })).json().id, buyer.id);
      assert.equal((await api.call('GET', '/v1/buyer/wallet', { key: beta.publishableKey, headers: passkey.headers })).statusCode, 200);
      // It is not a wallet session: the wallet key still refuses it.
      assert.equal((await api.call('GET', '/v1/buyer/history', { key: wallet.publishableKey, headers: passkey.headers })).statusCode, 401);
    });

    it("a code asked for with Alpha's key verifies only with Alpha's key, neither used up nor counted as a wrong try by another key", async () => {
      const sent = await requestCode(alpha.publishableKey);
      assert.doesNotMatch(sent.text, /wallet/i);
      for (const key of [wallet.publishableKey, beta.publishableKey]) {
        const response = await api.call('POST', '/v1/buyer/codes/verify', { key, body: { code_request: sent.codeRequest, code: sent.code } });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, 'code_invalid');
      }
      assert.deepEqual({ ...(await attemptsOf(sent.codeRequest)) }, { attempts: 0, used_at: null });
      const verified = await api.call('POST', '/v1/buyer/codes/verify', { key: alpha.publishableKey, body: { code_request: sent.codeRequest, code: sent.code } });
      assert.equal(verified.statusCode, 200, verified.body);
      const token: string = verified.json().session.token;
      assert.deepEqual({ ...(await sessionRow(token)) }, { merchant_id: alpha.id, wallet: false });
      const atAlpha = await api.call('GET', '/v1/buyer/history', { key: alpha.publishableKey, headers: { [BUYER_SESSION_HEADER]: token } });
      assert.equal(atAlpha.statusCode, 200, atAlpha.body);
      assert.equal((await api.call('GET', '/v1/buyer/history', { key: wallet.publishableKey, headers: { [BUYER_SESSION_HEADER]: token } })).statusCode, 401);
    });

    it('a code asked for with the wallet key says so and verifies only with the wallet key: a wallet session, bound to no merchant', async () => {
      const sent = await requestCode(wallet.publishableKey);
      assert.match(sent.text, /^Micropay wallet: your sign-in code is \d{6}\. Enter it only on the Micropay wallet page, never on a shop's site\./);
      const throughAlpha = await api.call('POST', '/v1/buyer/codes/verify', { key: alpha.publishableKey, body: { code_request: sent.codeRequest, code: sent.code } });
      assert.equal(throughAlpha.statusCode, 400, throughAlpha.body);
      assert.equal(throughAlpha.json().error.code, 'code_invalid');
      // The wallet merchant's secret key is not the wallet key.
      const throughSecret = await api.call('POST', '/v1/buyer/codes/verify', { key: wallet.secretKey, body: { code_request: sent.codeRequest, code: sent.code } });
      assert.equal(throughSecret.json().error?.code, 'code_invalid', throughSecret.body);
      const verified = await api.call('POST', '/v1/buyer/codes/verify', { key: wallet.publishableKey, body: { code_request: sent.codeRequest, code: sent.code } });
      assert.equal(verified.statusCode, 200, verified.body);
      const token: string = verified.json().session.token;
      assert.deepEqual({ ...(await sessionRow(token)) }, { merchant_id: null, wallet: true });
      const everywhere = await api.call('GET', '/v1/buyer/history', { key: wallet.publishableKey, headers: { [BUYER_SESSION_HEADER]: token } });
      assert.equal(everywhere.json().data.length, 4, everywhere.body);
    });
  });
}
