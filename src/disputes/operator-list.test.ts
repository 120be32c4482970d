// GET /v1/disputes with the operator key (the console's queue), on both stores: every merchant's
// disputes in the key's mode with their evidence and merchant, filtered by merchant and status, paged;
// a merchant still sees only its own and cannot ask for another's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, expectError, openShop, pay } from '../../test/support/refund-fixtures.ts';

for (const kind of STORE_KINDS) {
  describe(`the operator's dispute list on ${kind}`, () => {
    let api: TestApi;
    let testOperatorKey: string;
    before(async () => {
      api = await startTestApi(kind);
      testOperatorKey = (await api.runtime.services.auth.createKey({ merchantId: null, kind: 'operator', livemode: false })).secret;
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    it("lists every merchant's disputes of its mode, filtered by merchant and status, with evidence", async () => {
      const first = await openShop(api);
      const second = await openShop(api);
      const opened: string[] = [];
      for (const shop of [first, second, first]) {
        const payment = await pay(api, shop, 1200);
        const response = await api.call('POST', '/v1/disputes', { key: api.testOperatorKey, body: { payment: payment.id, reason: 'fraudulent' } });
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().merchant, shop.merchant.id);
        opened.push(response.json().id);
      }
      const evidence = await api.call('POST', `/v1/disputes/${opened[1]}/evidence`, { key: second.merchant.secretKey, body: { text: 'Signed delivery note.', uris: ['https://shop.example/note'] } });
      assert.equal(evidence.statusCode, 200, evidence.body);

      const all = await api.call('GET', '/v1/disputes?limit=100', { key: testOperatorKey });
      assert.equal(all.statusCode, 200, all.body);
      assert.deepEqual(all.json().data.map((dispute: { id: string }) => dispute.id), [...opened].reverse());
      const underReview = (await api.call('GET', '/v1/disputes?status=under_review', { key: testOperatorKey })).json().data;
      assert.equal(underReview.length, 1);
      assert.equal(underReview[0].id, opened[1]);
      assert.equal(underReview[0].merchant, second.merchant.id);
      assert.deepEqual(underReview[0].evidence, { text: 'Signed delivery note.', uris: ['https://shop.example/note'] });
      const ofFirst = (await api.call('GET', `/v1/disputes?merchant=${first.merchant.id}&status=needs_response`, { key: testOperatorKey })).json().data;
      assert.deepEqual(ofFirst.map((dispute: { id: string }) => dispute.id), [opened[2], opened[0]]);

      const page = (await api.call('GET', '/v1/disputes?limit=2', { key: testOperatorKey })).json();
      assert.equal(page.has_more, true);
      const next = (await api.call('GET', `/v1/disputes?limit=2&starting_after=${page.data[1].id}`, { key: testOperatorKey })).json();
      assert.deepEqual(next.data.map((dispute: { id: string }) => dispute.id), [opened[0]]);
      assert.equal(next.has_more, false);

      // The live operator key sees live disputes only: these are test-mode ones.
      assert.deepEqual((await api.call('GET', '/v1/disputes', { key: api.operatorKey })).json().data, []);
      // A merchant sees its own only, and may not name another merchant.
      assert.deepEqual((await api.call('GET', '/v1/disputes?limit=100', { key: second.merchant.secretKey })).json().data.map((dispute: { id: string }) => dispute.id), [opened[1]]);
      expectError(await api.call('GET', `/v1/disputes?merchant=${first.merchant.id}`, { key: second.merchant.secretKey }), 400, 'parameter_invalid');
      expectError(await api.call('GET', `/v1/disputes?payment=pay_x`, { key: testOperatorKey }), 400, 'parameter_invalid');
      expectError(await api.call('GET', '/v1/disputes'), 401, 'api_key_missing');

      // Deciding from the queue: the operator closes one.
      const decided = await api.call('POST', `/v1/disputes/${opened[1]}/decide`, { key: testOperatorKey, body: { outcome: 'won' } });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.deepEqual((await api.call('GET', '/v1/disputes?status=under_review', { key: testOperatorKey })).json().data, []);
      for (const id of [opened[0], opened[2]]) {
        assert.equal((await api.call('POST', `/v1/disputes/${id}/decide`, { key: testOperatorKey, body: { outcome: 'lost' } })).statusCode, 200);
      }
    });
  });
}
