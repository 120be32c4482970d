// The console's own endpoints called with staff sessions, on both stores: who of the operator's staff
// may read ledger health, risk metrics and every merchant's disputes, and who may decide a dispute;
// a merchant's staff may call none of them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, expectError, openShop, pay } from '../../test/support/refund-fixtures.ts';
import { staffCall, staffToken } from '../../test/support/staff.ts';

for (const kind of STORE_KINDS) {
  describe(`console endpoints with staff sessions on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind);
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    it('lets every operator role read, only deciders decide, and no merchant staff in', async () => {
      const shop = await openShop(api);
      const payment = await pay(api, shop, 900);
      const opened = await api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: payment.id, reason: 'general' } });
      assert.equal(opened.statusCode, 200, opened.body);
      const disputeId = opened.json().id as string;

      const viewer = await staffToken(api, { merchantId: null, role: 'viewer' });
      const analyst = await staffToken(api, { merchantId: null, role: 'risk_analyst' });
      const owner = await staffToken(api, { merchantId: shop.merchant.id, role: 'owner' });

      for (const url of ['/v1/ledger/health', '/v1/risk/metrics?days=7', '/v1/disputes', `/v1/disputes?merchant=${shop.merchant.id}`]) {
        const response = await staffCall(api, 'GET', url, { key: viewer });
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      }
      // Staff sessions act in test mode by default: the test-mode dispute is in the viewer's list.
      assert.deepEqual((await staffCall(api, 'GET', '/v1/disputes', { key: viewer })).json().data.map((dispute: { id: string }) => dispute.id), [disputeId]);
      assert.equal((await staffCall(api, 'GET', '/v1/risk/metrics', { key: viewer })).json().livemode, false);
      assert.deepEqual((await staffCall(api, 'GET', '/v1/disputes', { key: viewer, headers: { 'micropay-livemode': 'true' } })).json().data, []);

      expectError(await staffCall(api, 'POST', `/v1/disputes/${disputeId}/decide`, { key: viewer, body: { outcome: 'won' } }), 403, 'staff_permission_missing');
      for (const url of ['/v1/ledger/health', '/v1/risk/metrics']) {
        expectError(await staffCall(api, 'GET', url, { key: owner }), 403, 'staff_route_not_allowed');
      }
      // The merchant's owner still lists its own disputes, and may not name a merchant.
      assert.equal((await staffCall(api, 'GET', '/v1/disputes', { key: owner })).json().data.length, 1);
      expectError(await staffCall(api, 'GET', `/v1/disputes?merchant=${shop.merchant.id}`, { key: owner }), 400, 'parameter_invalid');

      const decided = await staffCall(api, 'POST', `/v1/disputes/${disputeId}/decide`, { key: analyst, body: { outcome: 'won' } });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.equal(decided.json().status, 'won');
    });
  });
}
