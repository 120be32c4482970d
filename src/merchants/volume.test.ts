// A merchant's payment volume per day and currency for the operator (docs/api/merchants.md, "Volume"),
// on both stores: captured payments, amounts, refunds, fees and failures per UTC day, only the window's
// days, only this merchant's and this mode's payments, for operators only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { openShop, pay, type Shop } from '../../test/support/refund-fixtures.ts';
import { createStaffUser } from '../../test/support/staff.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const dateOf = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 10);

for (const kind of STORE_KINDS) {
  describe(`merchant volume on ${kind}`, () => {
    let api: TestApi;
    let shop: Shop;

    before(async () => {
      api = await startTestApi(kind);
      shop = await openShop(api, { feeBps: 1000 });
      // Oldest first, so that seq follows created_at as it does in production: 40 days ago (outside a
      // 30-day window), 3 days ago, then today.
      const backdate = async (paymentId: string, daysAgo: number) =>
        api.runtime.db.query(`UPDATE payments SET created_at = now() - make_interval(days => $2) WHERE id = $1`, [paymentId, daysAgo]);
      await backdate((await pay(api, shop, 5000)).id, 40);
      await backdate((await pay(api, shop, 1000)).id, 3);
      await backdate((await pay(api, shop, 2000)).id, 3);
      const refunded = await pay(api, shop, 700);
      const refund = await api.call('POST', '/v1/refunds', { key: shop.merchant.secretKey, body: { payment: refunded.id, amount: 300 } });
      assert.equal(refund.statusCode, 200, refund.body);
      // More than the wallet holds: the payment fails.
      const failed = await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount: 5_000_000, currency: 'USD', confirm: true } });
      assert.equal(failed.json().error?.code ?? failed.json().status, 'insufficient_funds', failed.body);
      await api.fundWallet(shop.merchant, shop.customerId, 10_000n, 'EUR');
      const euros = await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount: 400, currency: 'EUR', confirm: true } });
      assert.equal(euros.json().status, 'succeeded', euros.body);
      // Another merchant's payment is not counted.
      await pay(api, await openShop(api), 999);
    });
    after(async () => {
      await api?.close();
    });

    // The test helper's operator key is a live one: test payments are asked for by name.
    const volume = (query = '', key = api.operatorKey) =>
      api.call('GET', `/v1/merchants/${shop.merchant.id}/volume${query}${key === api.operatorKey ? `${query ? '&' : '?'}livemode=false` : ''}`, { key });

    it('sums captured payments, refunds, fees and failures per day and currency, in the window only', async () => {
      const response = await volume();
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.object, 'merchant_volume');
      assert.equal(body.merchant, shop.merchant.id);
      assert.equal(body.livemode, false);
      assert.equal(body.days, 30);
      assert.deepEqual(body.currencies.map((entry: { currency: string }) => entry.currency), ['USD', 'EUR'], 'the largest volume first');
      const [usd, eur] = body.currencies;
      assert.deepEqual(usd.totals, { payments: 3, volume: 3700, refunded: 300, fees: 370, failed: 1 });
      assert.deepEqual(eur.totals, { payments: 1, volume: 400, refunded: 0, fees: 40, failed: 0 });
      assert.equal(usd.days.length, 30);
      assert.equal(usd.days.at(-1).date, dateOf(0));
      assert.equal(usd.days[0].date, dateOf(29 * DAY_MS));
      const byDate = new Map(usd.days.map((day: { date: string }) => [day.date, day]));
      assert.deepEqual(byDate.get(dateOf(3 * DAY_MS)), { date: dateOf(3 * DAY_MS), payments: 2, volume: 3000, refunded: 0, fees: 300, failed: 0 });
      assert.deepEqual(byDate.get(dateOf(0)), { date: dateOf(0), payments: 1, volume: 700, refunded: 300, fees: 70, failed: 1 });
      const quiet = usd.days.filter((day: { date: string }) => day.date !== dateOf(0) && day.date !== dateOf(3 * DAY_MS));
      assert.ok(quiet.every((day: { payments: number; volume: number }) => day.payments === 0 && day.volume === 0));
    });

    it('takes the window from days, and counts the 40-day-old payment in a 45-day window', async () => {
      const wide = (await volume('?days=45')).json();
      assert.equal(wide.currencies[0].totals.volume, 8700);
      assert.equal(wide.currencies[0].days.length, 45);
      const today = (await volume('?days=1')).json();
      assert.deepEqual(today.currencies[0].totals, { payments: 1, volume: 700, refunded: 300, fees: 70, failed: 1 });
      for (const days of ['0', '91']) {
        const refused = await volume(`?days=${days}`);
        assert.equal(refused.statusCode, 400);
        assert.equal(refused.json().error.param, 'days');
      }
    });

    it('is for operators: console staff may read it, merchants and their staff may not; an unknown merchant is 404', async () => {
      const viewer = await createStaffUser(api, { merchantId: null, role: 'viewer' });
      assert.equal((await volume('', viewer.token)).statusCode, 200);
      assert.equal((await volume('', shop.merchant.secretKey)).statusCode, 403);
      const owner = await createStaffUser(api, { merchantId: shop.merchant.id, role: 'owner' });
      assert.equal((await volume('', owner.token)).statusCode, 403);
      const missing = await api.call('GET', '/v1/merchants/mer_unknown/volume', { key: api.operatorKey });
      assert.equal(missing.statusCode, 404);
      // Live mode has no payments: the console's switch, and the live operator key's own mode.
      const live = await api.call('GET', `/v1/merchants/${shop.merchant.id}/volume`, { key: viewer.token, headers: { 'micropay-livemode': 'true' } });
      assert.equal(live.statusCode, 200, live.body);
      assert.deepEqual([live.json().livemode, live.json().currencies], [true, []]);
      const keyMode = await api.call('GET', `/v1/merchants/${shop.merchant.id}/volume`, { key: api.operatorKey });
      assert.deepEqual([keyMode.json().livemode, keyMode.json().currencies], [true, []]);
    });
  });
}
