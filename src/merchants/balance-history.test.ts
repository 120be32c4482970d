import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { CURRENCY, expectError, merchantAvailable, openShop, pay } from '../../test/support/refund-fixtures.ts';
import { lastUtcDays } from '../ledger/service.ts';
import { staffToken } from '../../test/support/staff.ts';

interface Day {
  date: string;
  available: number;
  pending: number;
}

for (const kind of STORE_KINDS) {
  describe(`balance history on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind);
    });
    after(async () => {
      await api.close();
    });

    const history = (key: string, query: string) => api.call('GET', `/v1/balance/history?${query}`, { key });

    it("gives one closing balance per UTC day, today's equal to the balance now", async () => {
      const shop = await openShop(api, { feeBps: 1000 });
      await pay(api, shop, 1000);
      await pay(api, shop, 500);
      const response = await history(shop.merchant.readKey, `currency=${CURRENCY}&days=7`);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.object, 'balance_history');
      assert.equal(body.livemode, false);
      assert.equal(body.currency, CURRENCY);
      assert.deepEqual(
        body.days.map((day: Day) => day.date),
        lastUtcDays(new Date(), 7),
      );
      const today = body.days.at(-1) as Day;
      assert.equal(today.available, await merchantAvailable(api, shop.merchant));
      assert.equal(today.available, 1350);
      // Everything happened today: every earlier day closed at zero.
      assert.ok(body.days.slice(0, -1).every((day: Day) => day.available === 0 && day.pending === 0));
      // Thirty days when not asked.
      assert.equal((await history(shop.merchant.secretKey, `currency=${CURRENCY}`)).json().days.length, 30);
    });

    it('walks back through the transfers of earlier days, counting older ones in every day (transfers dated back in the store)', async () => {
      const shop = await openShop(api);
      await pay(api, shop, 50);
      await pay(api, shop, 700);
      await pay(api, shop, 200);
      await pay(api, shop, 100);
      // The ledger dates transfers by the database clock; the test moves two of them into the past, as
      // if they had been made then (the sums, and so the balances now, do not change).
      const account = api.runtime.services.books.account('merchant', shop.merchant.id, false, CURRENCY).id;
      await api.runtime.db.query(
        `UPDATE ledger_transfers SET created_at = created_at - make_interval(days => (CASE amount WHEN 50 THEN 40 WHEN 700 THEN 3 ELSE 1 END))
         WHERE credit_account_id = $1::uuid AND amount IN (50, 700, 200)`,
        [account],
      );
      const days = (await history(shop.merchant.secretKey, `currency=${CURRENCY}&days=5`)).json().days as Day[];
      assert.deepEqual(
        days.map((day) => day.available),
        // The payment of 40 days ago is in every day's balance; the others arrive on their days.
        [50, 750, 750, 950, 1050],
      );
    });

    it("shows a dispute's hold leaving the available balance today", async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 1000);
      const opened = await api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: payment.id, reason: 'fraudulent' } });
      assert.equal(opened.statusCode, 200, opened.body);
      const today = (await history(shop.merchant.secretKey, `currency=${CURRENCY}&days=1`)).json().days as Day[];
      assert.equal(today.length, 1);
      assert.equal(today[0]!.available, 0);
      assert.equal(today[0]!.pending, -1000);
    });

    it("shows only the caller's own balance, in the caller's mode", async () => {
      const shop = await openShop(api);
      await pay(api, shop, 400);
      const other = await openShop(api);
      const theirs = (await history(other.merchant.secretKey, `currency=${CURRENCY}&days=2`)).json();
      assert.ok(theirs.days.every((day: Day) => day.available === 0));
      const live = (await history(shop.merchant.liveSecretKey, `currency=${CURRENCY}&days=2`)).json();
      assert.equal(live.livemode, true);
      assert.ok(live.days.every((day: Day) => day.available === 0));
      // A currency the merchant never used: zeros, not an error.
      const yen = (await history(shop.merchant.secretKey, 'currency=JPY&days=2')).json();
      assert.deepEqual(yen.days.map((day: Day) => day.available), [0, 0]);
      // No parameter names another account.
      expectError(await history(shop.merchant.secretKey, `currency=${CURRENCY}&merchant=${other.merchant.id}`), 400, 'parameter_unknown');
    });

    it('refuses bad parameters and callers with a stable code naming the field', async () => {
      const shop = await openShop(api);
      const key = shop.merchant.secretKey;
      const param = async (query: string) => {
        const response = await history(key, query);
        expectError(response, 400, 'parameter_invalid');
        return response.json().error.param;
      };
      assert.equal(await param('currency=XYZ'), 'currency');
      assert.equal(await param(`currency=${CURRENCY}&days=0`), 'days');
      assert.equal(await param(`currency=${CURRENCY}&days=366`), 'days');
      expectError(await history(key, 'days=3'), 400, 'parameter_missing');
      expectError(await api.call('GET', `/v1/balance/history?currency=${CURRENCY}`), 401, 'api_key_missing');
      expectError(await history(shop.merchant.publishableKey, `currency=${CURRENCY}`), 403, 'secret_key_required');
      expectError(await history(api.operatorKey, `currency=${CURRENCY}`), 403, 'merchant_key_required');
    });

    it("answers merchant staff with payments:read, in the mode the session asks for, and no operator staff", async () => {
      const shop = await openShop(api);
      await pay(api, shop, 300);
      const analyst = await staffToken(api, { merchantId: shop.merchant.id, role: 'analyst' });
      const test = await history(analyst, `currency=${CURRENCY}&days=1`);
      assert.equal(test.statusCode, 200, test.body);
      assert.equal(test.json().days[0].available, 300);
      const live = await api.call('GET', `/v1/balance/history?currency=${CURRENCY}&days=1`, { key: analyst, headers: { 'micropay-livemode': 'true' } });
      assert.equal(live.json().livemode, true);
      assert.equal(live.json().days[0].available, 0);
      const operator = await staffToken(api, { merchantId: null, role: 'admin' });
      expectError(await history(operator, `currency=${CURRENCY}`), 403, 'staff_route_not_allowed');
    });
  });
}
