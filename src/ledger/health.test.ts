// GET /v1/ledger/health on both stores: the verification's verdict with totals per asset, who may
// call it, the minute's cache, drift found when a stored balance is wrong, and the time limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, expectError, openShop, pay } from '../../test/support/refund-fixtures.ts';
import { createLedgerHealth } from './health.ts';
import { ledgerHealthJson } from './routes.ts';

for (const kind of STORE_KINDS) {
  describe(`ledger health on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind);
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    it('reports a sound ledger with totals per asset, keeps the result a minute, and is for the operator only', async () => {
      const shop = await openShop(api, { feeBps: 100 });
      await pay(api, shop, 2500);
      const response = await api.call('GET', '/v1/ledger/health', { key: api.operatorKey });
      assert.equal(response.statusCode, 200, response.body);
      const health = response.json();
      assert.equal(health.object, 'ledger_health');
      assert.equal(health.ok, true);
      assert.equal(health.cached, false);
      assert.equal(health.drift_count, 0);
      assert.deepEqual(health.drift, []);
      assert.deepEqual(health.asset_imbalance, []);
      assert.equal(health.limit_violation_count, 0);
      assert.ok(health.accounts_checked >= 4, response.body);
      // The wallet's funding and the payment (with its fee) are transfers in USD.
      const usd = health.assets.find((asset: { asset: string }) => asset.asset === 'USD');
      assert.ok(usd, response.body);
      assert.equal(usd.balanced, true);
      assert.ok(usd.transfers >= 2, response.body);
      assert.equal(usd.debits_posted, usd.credits_posted);
      assert.equal(usd.debits_pending, usd.credits_pending);
      assert.ok(BigInt(usd.posted) >= 1_000_000n + 2500n, response.body);
      assert.equal(health.transfers_checked, health.assets.reduce((sum: number, asset: { transfers: number }) => sum + asset.transfers, 0));

      // A second request within the minute answers the same run, even when asking for a refresh within 5 s.
      const again = (await api.call('GET', '/v1/ledger/health', { key: api.operatorKey })).json();
      assert.equal(again.cached, true);
      assert.equal(again.checked_at, health.checked_at);
      assert.deepEqual({ ...again, cached: false }, health);
      assert.equal((await api.call('GET', '/v1/ledger/health?refresh=true', { key: api.operatorKey })).json().cached, true);

      expectError(await api.call('GET', '/v1/ledger/health', { key: shop.merchant.secretKey }), 403, 'operator_key_required');
      expectError(await api.call('GET', '/v1/ledger/health'), 401, 'api_key_missing');
      expectError(await api.call('GET', '/v1/ledger/health?refresh=yes', { key: api.operatorKey }), 400, 'parameter_invalid');
      expectError(await api.call('GET', '/v1/ledger/health?full=true', { key: api.operatorKey }), 400, 'parameter_unknown');
    });

    it('finds drift and an unbalanced asset when a stored balance is wrong', async () => {
      const shop = await openShop(api);
      await pay(api, shop, 700);
      const db = api.runtime.db;
      const { rows } = await db.query<{ id: string }>(`SELECT id FROM ledger_balances WHERE asset = 'USD' AND credits_posted > 0 ORDER BY id LIMIT 1`);
      const accountId = rows[0]!.id;
      await db.query('UPDATE ledger_accounts SET checkpoint_credits_posted = checkpoint_credits_posted + 1 WHERE id = $1', [accountId]);
      try {
        const result = await createLedgerHealth({ db }).check();
        assert.ok(result.ok);
        const health = ledgerHealthJson(result.check);
        assert.equal(health.ok, false);
        assert.equal(health.drift_count, 1);
        assert.equal(health.drift[0]!.field, 'credits_posted');
        assert.equal(BigInt(health.drift[0]!.stored) - BigInt(health.drift[0]!.computed), 1n);
        assert.deepEqual(health.asset_imbalance, [{ asset: 'USD', debits_minus_credits: '-1' }]);
        assert.equal(health.assets.find((asset) => asset.asset === 'USD')!.balanced, false);
      } finally {
        await db.query('UPDATE ledger_accounts SET checkpoint_credits_posted = checkpoint_credits_posted - 1 WHERE id = $1', [accountId]);
      }
    });

    it('answers ledger_verify_timeout when the verification outlasts its time limit (PostgreSQL)', async () => {
      const health = createLedgerHealth({ db: api.runtime.db, timeLimitMs: 0 });
      const result = await health.check();
      if (kind === 'postgres') {
        assert.deepEqual(result, { ok: false, code: 'ledger_verify_timeout' });
      } else {
        // PGlite runs its queries on this thread without yielding to timers, and ignores
        // statement_timeout: the embedded store finishes the verification whatever the limit.
        assert.equal(result.ok, true);
      }
      await health.idle();
    });
  });
}
