// The merchant's checkout origins: the settings API, and what they decide in live mode (the exemption).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ledgerId, newId } from '../api/ids.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';
import { parseOrigin } from './origins.ts';
import { checkoutBuilt } from '../server/web-assets.ts';

describe('checkout origins: parsing', () => {
  it('takes an origin (scheme, host, port) and nothing more; https only in live mode, http on localhost in test mode', () => {
    assert.deepEqual(parseOrigin('https://shop.example', true), { origin: 'https://shop.example' });
    assert.deepEqual(parseOrigin('https://shop.example/', true), { origin: 'https://shop.example' });
    assert.deepEqual(parseOrigin('https://Shop.Example:8443', true), { origin: 'https://shop.example:8443' });
    assert.deepEqual(parseOrigin('http://localhost:5173', false), { origin: 'http://localhost:5173' });
    for (const [value, livemode] of [
      ['http://localhost:5173', true],
      ['http://shop.example', false],
      ['https://shop.example/pay', true],
      ['https://shop.example?x=1', true],
      ['https://user@shop.example', true],
      ['shop.example', true],
      ['javascript:alert(1)', false],
      ['*', false],
    ] as const) {
      assert.ok('error' in parseOrigin(value, livemode), `${value} (live ${livemode}) is refused`);
    }
  });
});

for (const kind of STORE_KINDS) {
  describe(`checkout origins on ${kind}`, () => {
    let api: TestApi;
    let shop: TestMerchant;
    let livePublishableKey: string;

    before(async () => {
      api = await startTestApi(kind, { env: { CHECKOUT_EXEMPTIONS: 'USD:100:250:2', CHECKOUT_TRA_EXEMPTIONS: '' } });
      shop = await api.createMerchant({ name: 'Live Games' });
      const created = await api.call('POST', `/v1/merchants/${shop.id}/api_keys`, { key: api.operatorKey, body: { type: 'publishable', livemode: true } });
      assert.equal(created.statusCode, 200, created.body);
      livePublishableKey = created.json().secret;
    });
    after(() => api.close());

    const settings = (key: string, body?: unknown) => api.call(body === undefined ? 'GET' : 'POST', '/v1/checkout_settings', { key, body });

    /** The frame-ancestors the checkout frame is served with for this key (null: none, any page). */
    async function frameAncestorsOf(publishableKey: string): Promise<string[] | null> {
      const page = await api.call('GET', `/checkout/frame.html?pk=${encodeURIComponent(publishableKey)}&payment=pay_x&client_secret=x&origin=https%3A%2F%2Fgames.example`);
      assert.equal(page.statusCode, 200, page.body);
      const policy = String(page.headers['content-security-policy']);
      assert.match(policy, /script-src 'self'/);
      const ancestors = policy.split(';').map((part) => part.trim()).find((part) => part.startsWith('frame-ancestors '));
      return ancestors ? ancestors.split(/\s+/).slice(1) : null;
    }

    it('serves the frame with frame-ancestors naming the registered origins of its key\'s merchant and mode', { skip: !checkoutBuilt() && 'web/dist is not built' }, async () => {
      assert.equal(await frameAncestorsOf(shop.publishableKey), null, 'none registered: any page');
      assert.equal((await settings(shop.secretKey, { allowed_origins: ['https://games.example', 'http://localhost:5173'] })).statusCode, 200);
      assert.deepEqual(await frameAncestorsOf(shop.publishableKey), ['https://games.example', 'http://localhost:5173']);
      assert.equal(await frameAncestorsOf(livePublishableKey), null, 'the live list is its own');
      assert.equal(await frameAncestorsOf('pk_test_unknown'), null, 'an unknown key: the frame answers it itself');
      assert.equal(await frameAncestorsOf(shop.secretKey), null, 'only a publishable key names a frame');
      assert.equal((await settings(shop.secretKey, { allowed_origins: [] })).statusCode, 200);
    });

    it('keeps a list per mode, normalised and without repeats, for the secret write key only', async () => {
      const empty = await settings(shop.secretKey);
      assert.equal(empty.statusCode, 200, empty.body);
      assert.deepEqual(empty.json(), { object: 'checkout_settings', livemode: false, allowed_origins: [] });
      const set = await settings(shop.secretKey, { allowed_origins: ['https://games.example/', 'http://localhost:5173', 'https://games.example'] });
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json().allowed_origins, ['https://games.example', 'http://localhost:5173']);
      assert.deepEqual((await settings(shop.readKey)).json().allowed_origins, ['https://games.example', 'http://localhost:5173']);
      // The live list is its own, and refuses plain http even on localhost.
      assert.deepEqual((await settings(shop.liveSecretKey)).json(), { object: 'checkout_settings', livemode: true, allowed_origins: [] });
      const refused = await settings(shop.liveSecretKey, { allowed_origins: ['https://games.example', 'http://localhost:5173'] });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.deepEqual([refused.json().error.code, refused.json().error.param], ['parameter_invalid', 'allowed_origins[1]']);
      assert.deepEqual((await settings(shop.liveSecretKey)).json().allowed_origins, [], 'nothing half-written');
      // Neither a read key nor the publishable key changes it.
      assert.equal((await settings(shop.readKey, { allowed_origins: [] })).statusCode, 403);
      assert.equal((await settings(shop.publishableKey)).statusCode, 403);
      assert.equal((await settings(shop.secretKey, { allowed_origins: Array.from({ length: 21 }, (_, i) => `https://s${i}.example`) })).statusCode, 400);
      assert.deepEqual((await settings(shop.secretKey, { allowed_origins: [] })).json().allowed_origins, []);
    });

    it('pays a live checkout payment without a prompt only once the merchant registered its origins', async () => {
      const buyer = await signUpBuyer(api, livePublishableKey);
      // Fund the buyer's live wallet as a settled live top-up would.
      const { books } = api.runtime.services;
      const wallet = books.account('wallet', buyer.id, true, 'USD');
      const settlement = books.account('card_settlement', 'platform', true, 'USD');
      await books.ensure([wallet, settlement]);
      const [funded] = await api.runtime.ledger.createTransfers([{ id: ledgerId(newId('top')), debitAccountId: settlement.id, creditAccountId: wallet.id, amount: 1_000n, code: TRANSFER_CODES.top_up }]);
      assert.equal(funded?.result, 'created');

      const livePayment = async () => {
        const created = await api.call('POST', '/v1/payments', { key: shop.liveSecretKey, body: { amount: 60, currency: 'USD', line_items: [{ description: 'Gems', category: 'article', unit_amount: 60 }] } });
        assert.equal(created.statusCode, 200, created.body);
        return created.json() as { id: string; client_secret: string };
      };
      const confirm = (payment: { id: string; client_secret: string }) =>
        api.call('POST', `/v1/checkout/payments/${payment.id}/confirm`, { key: livePublishableKey, headers: buyer.headers, body: { client_secret: payment.client_secret } });

      // Inside the exemption's limits, but no registered origins: a confirmation is asked, nothing moves.
      const first = await livePayment();
      const asked = await confirm(first);
      assert.equal(asked.statusCode, 200, asked.body);
      assert.equal(asked.json().status, 'requires_action');
      assert.equal(asked.json().next_action.type, 'passkey');
      assert.equal((await books.balanceIfOpen(wallet))?.available, 1_000n);

      assert.equal((await settings(shop.liveSecretKey, { allowed_origins: ['https://games.example'] })).statusCode, 200);
      const second = await livePayment();
      assert.deepEqual(await frameAncestorsOf(livePublishableKey), ['https://games.example']);
      const paid = await confirm(second);
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal(paid.json().status, 'succeeded');
      assert.equal((await books.balanceIfOpen(wallet))?.available, 940n);
    });
  });
}
