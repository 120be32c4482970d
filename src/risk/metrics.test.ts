// GET /v1/risk/metrics on both stores, with the real engine deciding payments: decisions per day by
// outcome, the challenge rate, and fraud caught (labelled as back-tests label it: reviews' verdicts,
// other labels, and step-ups that failed and never succeeded).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, CURRENCY, expectError, openShop } from '../../test/support/refund-fixtures.ts';

for (const kind of STORE_KINDS) {
  describe(`risk metrics on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(kind, { env: { MICROPAY_RISK_ENGINE: 'on', RISK_RELOAD_INTERVAL_MS: '0' } });
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    const operator = (method: 'GET' | 'POST' | 'PUT', url: string, body?: object) =>
      api.app.inject({ method, url, headers: { authorization: `Bearer ${api.operatorKey}` }, ...(body ? { payload: body } : {}) });

    it('counts decisions per day by outcome, the challenge rate and the fraud caught', async () => {
      const shop = await openShop(api, { funds: 100_000n });
      const here = `:merchant_id: = '${shop.merchant.id}'`;
      for (const [id, source] of [
        ['metrics_block', `block if :amount: > 5000 and ${here}`],
        ['metrics_review', `review if :amount: > 1000 and ${here}`],
        ['metrics_challenge', `challenge if :amount: = 777 and ${here}`],
      ]) {
        assert.equal((await operator('PUT', `/v1/risk/rules/${id}`, { source, mode: 'live' })).statusCode, 200);
      }
      const payments: Record<string, { id: string; status: string }[]> = { allow: [], review: [], block: [], challenge: [] };
      for (const [amount, decision] of [[100, 'allow'], [150, 'allow'], [2000, 'review'], [3000, 'review'], [6000, 'block'], [777, 'challenge'], [777, 'challenge']] as const) {
        const response = await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount, currency: CURRENCY, confirm: true } });
        assert.equal(response.statusCode, decision === 'block' ? 402 : 200, response.body);
        if (decision !== 'block') payments[decision]!.push(response.json());
      }
      assert.deepEqual(payments.challenge!.map((payment) => payment.status), ['requires_action', 'requires_action']);

      // The first review is rejected (fraud, stopped), the second approved (good).
      const reviews = (await operator('GET', '/v1/risk/reviews?status=open&limit=100')).json().data;
      const reviewOf = (paymentId: string) => reviews.find((review: { subject: string }) => review.subject === paymentId).id;
      assert.equal((await operator('POST', `/v1/risk/reviews/${reviewOf(payments.review![0]!.id)}/reject`, {})).statusCode, 200);
      assert.equal((await operator('POST', `/v1/risk/reviews/${reviewOf(payments.review![1]!.id)}/approve`, {})).statusCode, 200);
      // The checkout records the first challenge's passkey confirmation as failed (as it does when the
      // assertion does not verify), and a chargeback labels the first allowed payment fraud: missed.
      const db = api.runtime.db;
      await db.query(
        `INSERT INTO checkout_authentications (payment_id, buyer_id, livemode, currency, amount, method, outcome)
         VALUES ($1, $2, false, $3, 777, 'passkey', 'failed')`,
        [payments.challenge![0]!.id, shop.buyerId, CURRENCY],
      );
      await db.query(`INSERT INTO risk_labels (subject_id, source, fraud, buyer_id) VALUES ($1, 'chargeback', true, $2)`, [payments.allow![0]!.id, shop.buyerId]);

      const response = await operator('GET', '/v1/risk/metrics?days=7&livemode=false');
      assert.equal(response.statusCode, 200, response.body);
      const metrics = response.json();
      assert.equal(metrics.object, 'risk_metrics');
      assert.equal(metrics.livemode, false);
      assert.equal(metrics.days, 7);
      assert.equal(metrics.data.length, 7);
      const today = new Date().toISOString().slice(0, 10);
      assert.equal(metrics.data.at(-1).date, today);
      assert.equal(metrics.since, Date.parse(`${metrics.data[0].date}T00:00:00Z`) / 1000);
      const expected = {
        decisions: { allow: 2, challenge: 2, review: 2, block: 1, total: 7 },
        challenge_rate: 2 / 7,
        // Fraud: the rejected review (2000), the failed step-up (777), the charged-back payment (100).
        fraud_labelled: 3,
        fraud_labelled_value_usd_cents: 2877,
        // Caught: the review nobody approved and the challenge never passed; the allowed one was missed.
        fraud_caught: 2,
        fraud_caught_value_usd_cents: 2777,
        fraud_value_caught_rate: 2777 / 2877,
      };
      assert.deepEqual({ ...metrics.data.at(-1), date: undefined }, { ...expected, date: undefined });
      assert.deepEqual(metrics.totals, expected);
      for (const day of metrics.data.slice(0, -1)) {
        assert.deepEqual(day.decisions, { allow: 0, challenge: 0, review: 0, block: 0, total: 0 });
        assert.equal(day.challenge_rate, null);
        assert.equal(day.fraud_value_caught_rate, null);
      }

      // A decision of three days ago counts on its day, and only in windows that reach it.
      await db.query(`UPDATE risk_decisions SET created_at = now() - interval '3 days' WHERE subject_id = $1`, [payments.allow![1]!.id]);
      const week = (await operator('GET', '/v1/risk/metrics?days=7&livemode=false')).json();
      assert.equal(week.data.at(-4).decisions.allow, 1);
      assert.equal(week.data.at(-1).decisions.allow, 1);
      assert.equal(week.totals.decisions.total, 7);
      const twoDays = (await operator('GET', '/v1/risk/metrics?days=2&livemode=false')).json();
      assert.equal(twoDays.totals.decisions.total, 6);

      // The operator key of the tests is a live one: without livemode, the live decisions (none).
      const live = (await operator('GET', '/v1/risk/metrics')).json();
      assert.equal(live.livemode, true);
      assert.equal(live.days, 30);
      assert.equal(live.data.length, 30);
      assert.equal(live.totals.decisions.total, 0);
    });

    it('refuses bad windows, unknown parameters, merchant keys and anonymous callers', async () => {
      for (const days of ['0', '91', 'abc', '-1', '1000']) {
        expectError(await operator('GET', `/v1/risk/metrics?days=${days}`), 400, 'parameter_invalid');
      }
      expectError(await operator('GET', '/v1/risk/metrics?livemode=yes'), 400, 'parameter_invalid');
      expectError(await operator('GET', '/v1/risk/metrics?merchant=x'), 400, 'parameter_unknown');
      const shop = await openShop(api);
      expectError(await api.call('GET', '/v1/risk/metrics', { key: shop.merchant.secretKey }), 403, 'operator_key_required');
      expectError(await api.call('GET', '/v1/risk/metrics'), 401, 'api_key_missing');
      assert.equal((await operator('GET', '/v1/risk/metrics?days=90')).json().data.length, 90);
    });
  });
}
