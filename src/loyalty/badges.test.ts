// Badges over HTTP on both stores: first purchase, streaks, creator supporter, each awarded once in the
// payment's commit with one `loyalty.badge_awarded` event, kept but marked revoked when the qualifying
// payment is refunded in full; the buyer's own view and the merchant's, apart per merchant.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';
import { streakEndingOn } from './badges.ts';

const CURRENCY = 'EUR';
const DAY_MS = 24 * 3600 * 1000;

describe('streaks count consecutive UTC days ending today', () => {
  it('counts the run, not the total', () => {
    assert.equal(streakEndingOn('2026-03-10', []), 1);
    assert.equal(streakEndingOn('2026-03-10', ['2026-03-09', '2026-03-08']), 3);
    assert.equal(streakEndingOn('2026-03-10', ['2026-03-09', '2026-03-07', '2026-03-06']), 2);
    assert.equal(streakEndingOn('2026-03-01', ['2026-02-28', '2026-02-27']), 3);
  });
});

for (const kind of STORE_KINDS) {
  describe(`badges on ${kind}`, () => {
    let api: TestApi;
    let shop: TestMerchant;
    let other: TestMerchant;

    const putProgram = (merchant: TestMerchant, payload: object) =>
      api.app.inject({ method: 'PUT', url: '/v1/loyalty/program', headers: { authorization: `Bearer ${merchant.secretKey}` }, payload });

    before(async () => {
      api = await startTestApi(kind);
      shop = await api.createMerchant({ name: 'Badge shop' });
      other = await api.createMerchant({ name: 'Other shop' });
      // Badges belong to a merchant's loyalty program.
      for (const merchant of [shop, other]) {
        const program = await putProgram(merchant, { earn: { per_amount: 100, currency: CURRENCY, points: 1 } });
        assert.equal(program.statusCode, 200, program.body);
      }
    });

    it('awards nothing at a merchant without a loyalty program, or with it switched off', async () => {
      const plain = await api.createMerchant({ name: 'No program' });
      const customer = await customerOf(plain);
      await paid(plain, customer, { metadata: { category: 'tip' } });
      assert.deepEqual(await badgesOf(plain, customer), []);
      assert.deepEqual(await awardedEvents(plain), []);
      const off = await putProgram(plain, { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, enabled: false });
      assert.equal(off.statusCode, 200, off.body);
      await paid(plain, customer);
      assert.deepEqual(await badgesOf(plain, customer), []);
    });
    after(async () => {
      assert.equal((await api.runtime.ledger.verify()).ok, true);
      await api.close();
    });

    async function customerOf(merchant: TestMerchant): Promise<string> {
      const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: { name: 'Buyer' } });
      assert.equal(response.statusCode, 200, response.body);
      await api.fundWallet(merchant, response.json().id, 1_000_000n, CURRENCY);
      return response.json().id;
    }

    async function paid(merchant: TestMerchant, customer: string, body: Record<string, unknown> = {}): Promise<string> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount: 500, currency: CURRENCY, confirm: true, ...body } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'succeeded', response.body);
      return response.json().id;
    }

    async function badgesOf(merchant: TestMerchant, customer: string): Promise<Array<Record<string, unknown>>> {
      const response = await api.call('GET', `/v1/loyalty/badges?customer=${customer}`, { key: merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data;
    }

    async function awardedEvents(merchant: TestMerchant): Promise<Array<{ code: string; customer: string }>> {
      const { rows } = await api.runtime.db.query<{ data: { object: { code: string; customer: string } } | string }>(
        `SELECT data FROM events WHERE merchant_id = $1 AND type = 'loyalty.badge_awarded' ORDER BY created_at, id`,
        [merchant.id],
      );
      return rows.map((row) => (typeof row.data === 'string' ? JSON.parse(row.data) : row.data).object);
    }

    /** Moves the customer's payments back by `days` (their purchase days), as if made then. */
    async function backdate(paymentId: string, days: number): Promise<void> {
      await api.runtime.db.query(`UPDATE payments SET created_at = created_at - make_interval(days => $2) WHERE id = $1`, [paymentId, days]);
    }

    it('awards the first purchase once, with one event, and not at another merchant', async () => {
      const customer = await customerOf(shop);
      const first = await paid(shop, customer);
      await paid(shop, customer);
      const badges = await badgesOf(shop, customer);
      assert.deepEqual(badges.map((badge) => badge.code), ['first_purchase']);
      assert.equal(badges[0]!.payment, first);
      assert.equal(badges[0]!.customer, customer);
      assert.deepEqual(badges[0]!.merchant, { id: shop.id, name: 'Badge shop' });
      assert.equal(badges[0]!.revoked_at, null);
      const events = (await awardedEvents(shop)).filter((event) => event.customer === customer);
      assert.deepEqual(events.map((event) => event.code), ['first_purchase']);
      // Another merchant cannot read this merchant's customer.
      const foreign = await api.call('GET', `/v1/loyalty/badges?customer=${customer}`, { key: other.secretKey });
      assert.equal(foreign.statusCode, 404, foreign.body);
      assert.equal(foreign.json().error.code, 'resource_missing');
    });

    it('awards streaks of 3 and 7 consecutive days, not for gaps', async () => {
      const customer = await customerOf(shop);
      // Purchases 6, 5, 4, 2 and 1 days ago (a gap at 3), then today: a run of 3 (today, 1, 2).
      for (const days of [6, 5, 4, 2, 1]) await backdate(await paid(shop, customer), days);
      await paid(shop, customer);
      let codes = (await badgesOf(shop, customer)).map((badge) => badge.code).sort();
      assert.deepEqual(codes, ['first_purchase', 'streak_3']);
      // Filling the gap (3 days ago) and buying again today makes 7 days in a row.
      await backdate(await paid(shop, customer), 3);
      await paid(shop, customer);
      codes = (await badgesOf(shop, customer)).map((badge) => badge.code).sort();
      assert.deepEqual(codes, ['first_purchase', 'streak_3', 'streak_7']);
    });

    it('does not count a purchase day whose payment was wholly lost in a dispute toward a streak', async () => {
      const customer = await customerOf(shop);
      // Purchases 2 and 1 days ago; the one of yesterday is lost in a dispute for its whole amount.
      await backdate(await paid(shop, customer), 2);
      const disputed = await paid(shop, customer);
      const opened = await api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: disputed, reason: 'fraudulent' } });
      assert.equal(opened.statusCode, 200, opened.body);
      const lost = await api.call('POST', `/v1/disputes/${opened.json().id}/decide`, { key: api.testOperatorKey, body: { outcome: 'lost' } });
      assert.equal(lost.statusCode, 200, lost.body);
      assert.equal(lost.json().status, 'lost');
      await backdate(disputed, 1);
      // Today's purchase makes 2, 1 and 0 days ago, but yesterday's was taken back: no 3-day streak.
      await paid(shop, customer);
      assert.deepEqual((await badgesOf(shop, customer)).map((badge) => badge.code), ['first_purchase']);
    });

    it('makes a tipper a creator supporter (a tip line item or metadata category tip)', async () => {
      const customer = await customerOf(shop);
      await paid(shop, customer, { line_items: [{ description: 'Tip', category: 'tip', unit_amount: 500 }] });
      assert.ok((await badgesOf(shop, customer)).some((badge) => badge.code === 'creator_supporter'));
      const second = await customerOf(shop);
      await paid(shop, second, { metadata: { category: 'tip' } });
      assert.ok((await badgesOf(shop, second)).some((badge) => badge.code === 'creator_supporter'));
    });

    it('keeps a badge whose payment is refunded in full, marked revoked, and never awards it again', async () => {
      const customer = await customerOf(shop);
      const payment = await paid(shop, customer);
      const partial = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment, amount: 100 } });
      assert.equal(partial.json().status, 'succeeded', partial.body);
      assert.equal((await badgesOf(shop, customer))[0]!.revoked_at, null);
      const rest = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment } });
      assert.equal(rest.json().status, 'succeeded', rest.body);
      const [badge] = await badgesOf(shop, customer);
      assert.equal(badge!.code, 'first_purchase');
      assert.equal(typeof badge!.revoked_at, 'number');
      await paid(shop, customer);
      assert.equal((await badgesOf(shop, customer)).length, 1);
    });

    it("shows the buyer their own badges: at every merchant through the wallet key, at the key's merchant otherwise; nobody else's", async () => {
      const wallet = await api.createMerchant({ name: 'Micropay Wallet' });
      api.runtime.config.walletPublishableKey = wallet.publishableKey;
      // Signed up in the wallet: only a session opened through the wallet key gets its reach.
      const buyer = await signUpBuyer(api, wallet.publishableKey);
      for (const merchant of [shop, other]) {
        const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
        await api.fundWallet(merchant, customer.id, 10_000n, CURRENCY);
        await paid(merchant, customer.id);
      }
      const mine = await api.call('GET', '/v1/buyer/badges', { key: wallet.publishableKey, headers: buyer.headers });
      assert.equal(mine.statusCode, 200, mine.body);
      const badges = mine.json().data as Array<{ code: string; merchant: { id: string }; customer: string | null; earned_at: number }>;
      assert.deepEqual(badges.map((badge) => badge.merchant.id).sort(), [shop.id, other.id].sort());
      assert.ok(badges.every((badge) => badge.code === 'first_purchase' && badge.customer === null));
      assert.ok(badges.every((badge) => Math.abs(badge.earned_at * 1000 - Date.now()) < DAY_MS));
      // A merchant's key (say the buyer signed in on that merchant's page) shows only that merchant's badges.
      for (const [merchant, key] of [[shop, shop.publishableKey], [other, other.publishableKey], [shop, shop.secretKey]] as const) {
        const own = await api.call('GET', '/v1/buyer/badges', { key, headers: buyer.headers });
        assert.equal(own.statusCode, 200, own.body);
        assert.deepEqual(own.json().data.map((badge: { merchant: { id: string } }) => badge.merchant.id), [merchant.id]);
      }
      // A session opened on the shop's page, sent with the (public) wallet key, reaches nothing.
      const onShop = await signUpBuyer(api, shop.publishableKey);
      const widened = await api.call('GET', '/v1/buyer/badges', { key: wallet.publishableKey, headers: onShop.headers });
      assert.equal(widened.statusCode, 401, widened.body);
      const stranger = await signUpBuyer(api, shop.publishableKey);
      const theirs = await api.call('GET', '/v1/buyer/badges', { key: shop.publishableKey, headers: stranger.headers });
      assert.deepEqual(theirs.json().data, []);
      const anonymous = await api.call('GET', '/v1/buyer/badges', { key: shop.publishableKey });
      assert.equal(anonymous.statusCode, 401, anonymous.body);
      assert.equal(anonymous.json().error.code, 'buyer_session_required');
      // The merchant's secret key is not a buyer's session.
      const merchantKey = await api.call('GET', '/v1/buyer/badges', { key: shop.secretKey });
      assert.equal(merchantKey.statusCode, 401, merchantKey.body);
    });
  });
}
