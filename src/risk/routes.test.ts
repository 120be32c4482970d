// The risk engine's operator API through HTTP, on both stores, with the real engine scoring payments:
// rules and their versions, rule errors, rules and lists that block, shadow rules, back-tests, the
// review queue end to end (holds, capture, release), the policy and the models.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi } from '../../test/support/api.ts';
import { assertLedgerSound, CURRENCY, expectError, merchantAvailable, newCustomer, openShop, wallet, type Shop } from '../../test/support/refund-fixtures.ts';
import { DEFAULT_POLICY } from './engine.ts';
import { SANDBOX_BANK_ACCOUNTS } from '../rails/bank-sandbox.ts';
import { MODEL_FORMAT } from './learned-model.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

for (const kind of STORE_KINDS) {
  describe(`risk operator API on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      // No `risk` option: the payments are scored by the risk engine itself, not the allow-all hook.
      api = await startTestApi(kind, { env: { MICROPAY_RISK_ENGINE: 'on', RISK_RELOAD_INTERVAL_MS: '0' } });
    });
    after(async () => {
      await assertLedgerSound(api);
      await api.close();
    });

    function send(method: Method, url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
      return api.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? api.operatorKey}`, ...options.headers },
        ...(options.body === undefined ? {} : { payload: options.body as object }),
      });
    }
    const putRule = (id: string, body: object) => send('PUT', `/v1/risk/rules/${id}`, { body });
    /** Rules of one test name its merchant, so that they leave the other tests' payments alone. */
    const onlyAt = (shop: Shop) => `:merchant_id: = '${shop.merchant.id}'`;

    async function pay(shop: Shop, amount: number): Promise<LightMyRequestResponse> {
      return api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: shop.customerId, amount, currency: CURRENCY, confirm: true } });
    }
    async function payments(shop: Shop): Promise<Array<{ id: string; status: string; amount: number; risk_decision: string; last_payment_error: { code: string; message: string } | null }>> {
      const response = await api.call('GET', `/v1/payments?customer=${shop.customerId}&limit=100`, { key: shop.merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data;
    }

    it('refuses merchant keys and missing keys on every route', async () => {
      const shop = await openShop(api);
      const routes: Array<[Method, string, object?]> = [
        ['GET', '/v1/risk/rules'],
        ['GET', '/v1/risk/rules/some_rule'],
        ['GET', '/v1/risk/rules/some_rule/versions'],
        ['PUT', '/v1/risk/rules/some_rule', { source: 'block if :amount: > 1', mode: 'live' }],
        ['POST', '/v1/risk/rules/backtest', { source: 'block if :amount: > 1' }],
        ['GET', '/v1/risk/lists'],
        ['POST', '/v1/risk/lists/block_buyers/items', { value: 'x' }],
        ['DELETE', '/v1/risk/lists/block_buyers/items/x'],
        ['GET', '/v1/risk/reviews'],
        ['GET', '/v1/risk/reviews/rev_1'],
        ['POST', '/v1/risk/reviews/rev_1/claim', {}],
        ['POST', '/v1/risk/reviews/rev_1/approve', {}],
        ['POST', '/v1/risk/reviews/rev_1/reject', {}],
        ['GET', '/v1/risk/policy'],
        ['GET', '/v1/risk/models'],
        ['POST', '/v1/risk/models/1/activate', {}],
        ['GET', '/v1/risk/decisions/rsk_1'],
      ];
      for (const [method, url, body] of routes) {
        for (const key of [shop.merchant.secretKey, shop.merchant.readKey, shop.merchant.liveSecretKey]) {
          expectError(await send(method, url, { key, ...(body ? { body } : {}) }), 403, 'operator_key_required');
        }
        const anonymous = await api.app.inject({ method, url, ...(body ? { payload: body } : {}) });
        expectError(anonymous, 401, 'api_key_missing');
      }
    });

    it('creates a rule, adds versions, refuses a stale expected_version, and lists rules and versions', async () => {
      const created = await putRule('large_amounts', { source: 'review if :amount_usd: > 1_000_000', mode: 'shadow', description: 'Very large payments' });
      assert.equal(created.statusCode, 200, created.body);
      const rule = created.json();
      assert.deepEqual({ ...rule, created: 0 }, {
        id: 'large_amounts', object: 'risk_rule', version: 1, source: 'review if :amount_usd: > 1_000_000', action: 'review', mode: 'shadow',
        position: 0, description: 'Very large payments', created: 0,
      });
      // The same PUT again (a retry) adds no version.
      assert.deepEqual((await putRule('large_amounts', { source: 'review if :amount_usd: > 1_000_000', mode: 'shadow' })).json(), rule);

      const second = await putRule('large_amounts', { source: 'block if :amount_usd: > 2_000_000', mode: 'shadow', position: 5, expected_version: 1 });
      assert.equal(second.statusCode, 200, second.body);
      assert.equal(second.json().version, 2);
      assert.equal(second.json().action, 'block');
      assert.equal(second.json().position, 5);
      assert.equal(second.json().description, 'Very large payments');

      const stale = await putRule('large_amounts', { source: 'block if :amount_usd: > 3_000_000', mode: 'live', expected_version: 1 });
      expectError(stale, 409, 'concurrent_modification');
      assert.equal(stale.json().error.param, 'expected_version');
      expectError(await putRule('never_made', { source: 'block if :amount_usd: > 3_000_000', mode: 'live', expected_version: 1 }), 409, 'concurrent_modification');

      // Deleting is disabling: a new version, the old ones stay.
      const disabled = await putRule('large_amounts', { source: 'block if :amount_usd: > 2_000_000', mode: 'disabled', expected_version: 2 });
      assert.equal(disabled.json().version, 3);
      assert.equal(disabled.json().mode, 'disabled');

      const current = await send('GET', '/v1/risk/rules/large_amounts');
      assert.deepEqual(current.json(), disabled.json());
      const versions = (await send('GET', '/v1/risk/rules/large_amounts/versions')).json();
      assert.deepEqual(versions.data.map((version: { version: number; mode: string }) => [version.version, version.mode]), [[3, 'disabled'], [2, 'shadow'], [1, 'shadow']]);
      assert.equal(versions.has_more, false);
      const list = (await send('GET', '/v1/risk/rules')).json();
      assert.equal(list.object, 'list');
      assert.deepEqual(list.data.find((entry: { id: string }) => entry.id === 'large_amounts'), disabled.json());

      expectError(await send('GET', '/v1/risk/rules/nothing_here'), 404, 'resource_missing');
      expectError(await send('GET', '/v1/risk/rules/nothing_here/versions'), 404, 'resource_missing');
      for (const id of ['Large', '9lives', 'with-dash', 'a'.repeat(64)]) {
        const refused = await putRule(id, { source: 'block if :amount: > 1', mode: 'live' });
        expectError(refused, 400, 'parameter_invalid');
        assert.equal(refused.json().error.param, 'id');
      }
      expectError(await putRule('no_mode', { source: 'block if :amount: > 1' }), 400, 'parameter_missing');
      expectError(await putRule('bad_mode', { source: 'block if :amount: > 1', mode: 'deleted' }), 400, 'parameter_invalid');
      expectError(await putRule('extra', { source: 'block if :amount: > 1', mode: 'live', owner: 'me' }), 400, 'parameter_unknown');
      expectError(await send('GET', '/v1/risk/rules?mode=live'), 400, 'parameter_unknown');
    });

    it('answers 400 rule_invalid with each problem and its position', async () => {
      const unknown = await putRule('typo', { source: 'block if :amout: > 1000', mode: 'live' });
      expectError(unknown, 400, 'rule_invalid');
      const body = unknown.json().error;
      assert.equal(body.type, 'invalid_request_error');
      assert.equal(body.param, 'source');
      assert.equal(typeof body.request_id, 'string');
      assert.equal(body.errors.length, 1);
      assert.deepEqual({ ...body.errors[0], message: '' }, { code: 'rule_unknown_signal', message: '', offset: 9, line: 1, column: 10 });
      assert.match(body.errors[0].message, /did you mean :amount:\?/);
      assert.match(body.message, /did you mean :amount:\?/);

      const mismatch = await putRule('mismatch', { source: "block if :amount: > 'high'\n  and :country: > 3", mode: 'live' });
      expectError(mismatch, 400, 'rule_invalid');
      const problems = mismatch.json().error.errors;
      assert.deepEqual(problems.map((problem: { code: string }) => problem.code), ['rule_type_mismatch', 'rule_type_mismatch']);
      assert.equal(problems[1].line, 2);

      const syntax = await putRule('syntax', { source: 'block when :amount: > 1', mode: 'live' });
      expectError(syntax, 400, 'rule_invalid');
      assert.deepEqual(syntax.json().error.errors.map((problem: { code: string; offset: number }) => [problem.code, problem.offset]), [['rule_syntax', 6]]);

      const list = await putRule('unknown_list', { source: 'block if :device_id: in @nowhere', mode: 'live' });
      expectError(list, 400, 'rule_invalid');
      assert.equal(list.json().error.errors[0].code, 'rule_unknown_list');

      // A back-test of a source that does not compile answers the same way; nothing was saved.
      expectError(await send('POST', '/v1/risk/rules/backtest', { body: { source: 'block if :amout: > 1' } }), 400, 'rule_invalid');
      expectError(await send('GET', '/v1/risk/rules/typo'), 404, 'resource_missing');
    });

    it('blocks payments by a live rule at once, naming the rule in the decision (the merchant reads a plain message)', async () => {
      const shop = await openShop(api, { funds: 10_000n });
      const saved = await putRule('block_big', { source: `block if :amount: > 1000 and ${onlyAt(shop)}`, mode: 'live' });
      assert.equal(saved.statusCode, 200, saved.body);

      expectError(await pay(shop, 2000), 402, 'payment_blocked');
      const [blocked] = await payments(shop);
      assert.equal(blocked!.status, 'failed');
      assert.equal(blocked!.last_payment_error!.code, 'payment_blocked');
      assert.doesNotMatch(blocked!.last_payment_error!.message, /block_big|:amount:/);
      const decision = (await send('GET', `/v1/risk/decisions/${blocked!.risk_decision}`)).json();
      assert.equal(decision.decision, 'block');
      assert.match(JSON.stringify(decision.reasons), /Rule block_big \(version 1\) matched/);
      assert.equal(decision.subject, blocked!.id);
      assert.deepEqual(decision.reasons.map((reason: { code: string }) => reason.code), ['rule:block_big']);

      const small = await pay(shop, 500);
      assert.equal(small.statusCode, 200, small.body);
      assert.equal(small.json().status, 'succeeded');
      assert.equal((await wallet(api, shop.merchant, shop.customerId)).available, 9_500);

      // Disabled, the rule blocks no more.
      await putRule('block_big', { source: `block if :amount: > 1000 and ${onlyAt(shop)}`, mode: 'disabled' });
      assert.equal((await pay(shop, 2000)).json().status, 'succeeded');
    });

    it('records a shadow rule that matches without acting on it', async () => {
      const shop = await openShop(api, { funds: 10_000n });
      assert.equal((await putRule('shadow_big', { source: `block if :amount: > 100 and ${onlyAt(shop)}`, mode: 'shadow' })).statusCode, 200);
      const paid = await pay(shop, 300);
      assert.equal(paid.json().status, 'succeeded', paid.body);
      const decision = await send('GET', `/v1/risk/decisions/${paid.json().risk_decision}`);
      assert.equal(decision.statusCode, 200, decision.body);
      const body = decision.json();
      assert.equal(body.object, 'risk_decision');
      assert.equal(body.decision, 'allow');
      assert.deepEqual(body.shadow, [{ rule: 'shadow_big', version: 1, action: 'block' }]);
      assert.equal(body.amount, 300);
      assert.equal(body.currency, CURRENCY);
      assert.equal(body.merchant, shop.merchant.id);
      assert.equal(body.buyer, shop.buyerId);
      assert.equal(body.signals.amount, 300);
      assert.equal(body.signals.merchant_id, shop.merchant.id);
      assert.equal(body.segment, 'new');
      assert.equal(body.signals.segment, 'new');
      expectError(await send('GET', '/v1/risk/decisions/rsk_nothing'), 404, 'resource_missing');
      await putRule('shadow_big', { source: `block if :amount: > 100 and ${onlyAt(shop)}`, mode: 'disabled' });
    });

    it('blocks a buyer on block_buyers until the value is removed, and keeps named lists for rules', async () => {
      const shop = await openShop(api, { funds: 10_000n });
      const added = await send('POST', '/v1/risk/lists/block_buyers/items', { body: { value: shop.buyerId, note: 'stolen account' } });
      assert.equal(added.statusCode, 200, added.body);
      assert.deepEqual({ ...(added.json() as object), created: 0 }, { object: 'risk_list_item', list: 'block_buyers', value: shop.buyerId, note: 'stolen account', created: 0 });

      expectError(await pay(shop, 100), 402, 'payment_blocked');
      const [blocked] = await payments(shop);
      assert.doesNotMatch(blocked!.last_payment_error!.message, /block_buyers/);
      const decision = (await send('GET', `/v1/risk/decisions/${blocked!.risk_decision}`)).json();
      assert.match(JSON.stringify(decision.reasons), /block list block_buyers/);
      // Another buyer of the same merchant pays.
      const other = await newCustomer(api, shop.merchant);
      await api.fundWallet(shop.merchant, other.customerId, 1_000n, CURRENCY);
      assert.equal((await api.call('POST', '/v1/payments', { key: shop.merchant.secretKey, body: { customer: other.customerId, amount: 100, currency: CURRENCY, confirm: true } })).json().status, 'succeeded');

      // A named list exists once it has a value, and rules may then name it.
      expectError(await putRule('vip_devices', { source: 'allow if :device_id: in @vip_devices', mode: 'live' }), 400, 'rule_invalid');
      assert.equal((await send('POST', '/v1/risk/lists/vip_devices/items', { body: { value: 'device-1' } })).statusCode, 200);
      assert.equal((await putRule('vip_devices', { source: 'allow if :device_id: in @vip_devices', mode: 'shadow' })).statusCode, 200);

      const lists = (await send('GET', '/v1/risk/lists')).json();
      const byName = new Map(lists.data.map((list: { name: string }) => [list.name, list]));
      for (const name of ['block_buyers', 'allow_buyers', 'block_devices', 'allow_devices', 'block_ips', 'block_card_bins', 'block_phones']) {
        assert.equal((byName.get(name) as { built_in: boolean }).built_in, true, name);
      }
      assert.deepEqual((byName.get('allow_buyers') as { items: unknown[]; item_count: number }).item_count, 0);
      const blockBuyers = byName.get('block_buyers') as { items: Array<{ value: string; note: string }>; item_count: number; has_more: boolean };
      assert.deepEqual(blockBuyers.items.map((item) => [item.value, item.note]), [[shop.buyerId, 'stolen account']]);
      assert.equal(blockBuyers.has_more, false);
      assert.deepEqual(byName.get('vip_devices'), { object: 'risk_list', name: 'vip_devices', built_in: false, item_count: 1, has_more: false, items: [{ ...(byName.get('vip_devices') as { items: object[] }).items[0], object: 'risk_list_item', list: 'vip_devices', value: 'device-1', note: null }] });

      const removed = await send('DELETE', `/v1/risk/lists/block_buyers/items/${encodeURIComponent(shop.buyerId)}`);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json(), { object: 'risk_list_item', list: 'block_buyers', value: shop.buyerId, deleted: true });
      expectError(await send('DELETE', `/v1/risk/lists/block_buyers/items/${encodeURIComponent(shop.buyerId)}`), 404, 'resource_missing');
      assert.equal((await pay(shop, 100)).json().status, 'succeeded');

      expectError(await send('POST', '/v1/risk/lists/Bad-Name/items', { body: { value: 'x' } }), 400, 'parameter_invalid');
      expectError(await send('POST', '/v1/risk/lists/block_ips/items', { body: { value: '' } }), 400, 'parameter_invalid');
      expectError(await send('POST', '/v1/risk/lists/block_ips/items', { body: { value: 'x'.repeat(201) } }), 400, 'parameter_invalid');
    });

    it('holds a payment for review; approve captures it, reject releases it; decided reviews and other operators are refused', async () => {
      const shop = await openShop(api, { funds: 10_000n });
      assert.equal((await putRule('review_big', { source: `review if :amount: > 1000 and ${onlyAt(shop)}`, mode: 'live' })).statusCode, 200);

      const held = await pay(shop, 2000);
      assert.equal(held.statusCode, 200, held.body);
      assert.equal(held.json().status, 'processing');
      // The hold is an outgoing pending transfer of the wallet: its pending balance is negative.
      assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), { currency: CURRENCY, available: 8_000, pending: -2_000, posted: 10_000 });
      assert.equal(await merchantAvailable(api, shop.merchant), 0);

      const open = (await send('GET', '/v1/risk/reviews?status=open&limit=100')).json();
      const review = open.data.find((entry: { subject: string }) => entry.subject === held.json().id);
      assert.ok(review, 'the review is listed as open');
      assert.equal(review.object, 'risk_review');
      assert.equal(review.status, 'open');
      assert.equal(review.amount, 2000);
      assert.equal(review.merchant, shop.merchant.id);
      assert.equal(review.buyer, shop.buyerId);
      assert.equal(review.risk_decision, held.json().risk_decision);
      assert.deepEqual(review.reasons.map((reason: { code: string }) => reason.code), ['rule:review_big']);
      assert.deepEqual((await send('GET', `/v1/risk/reviews/${review.id}`)).json(), review);

      const claimed = await send('POST', `/v1/risk/reviews/${review.id}/claim`);
      assert.equal(claimed.statusCode, 200, claimed.body);
      assert.equal(claimed.json().status, 'claimed');
      const operatorKeyId = claimed.json().claimed_by as string;
      assert.match(operatorKeyId, /^key_/);
      assert.equal(typeof claimed.json().claimed_at, 'number');
      // Claiming again is harmless for the same operator; another operator cannot claim or decide it.
      assert.equal((await send('POST', `/v1/risk/reviews/${review.id}/claim`)).json().claimed_by, operatorKeyId);
      const other = await api.runtime.services.auth.createKey({ merchantId: null, kind: 'operator', livemode: true });
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/claim`, { key: other.secret }), 409, 'review_unexpected_state');
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/approve`, { key: other.secret, body: {} }), 409, 'review_unexpected_state');
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/reject`, { key: other.secret }), 409, 'review_unexpected_state');

      const approved = await send('POST', `/v1/risk/reviews/${review.id}/approve`, { body: { note: 'Known customer, called back' } });
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(approved.json().status, 'approved');
      assert.equal(approved.json().note, 'Known customer, called back');
      assert.equal(typeof approved.json().decided_at, 'number');
      const captured = (await api.call('GET', `/v1/payments/${held.json().id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(captured.status, 'succeeded');
      assert.equal(captured.amount_captured, 2000);
      assert.equal(await merchantAvailable(api, shop.merchant), 2000);
      assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), { currency: CURRENCY, available: 8_000, pending: 0, posted: 8_000 });
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/approve`, { body: {} }), 409, 'review_unexpected_state');
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/reject`, { body: {} }), 409, 'review_unexpected_state');
      expectError(await send('POST', `/v1/risk/reviews/${review.id}/claim`), 409, 'review_unexpected_state');

      // Rejected without a claim: the hold is released and the payment canceled as fraudulent.
      const second = await pay(shop, 3000);
      assert.equal(second.json().status, 'processing', second.body);
      assert.equal((await wallet(api, shop.merchant, shop.customerId)).available, 5_000);
      const secondReview = (await send('GET', '/v1/risk/reviews?status=open')).json().data.find((entry: { subject: string }) => entry.subject === second.json().id);
      const headers = { 'idempotency-key': `reject-${secondReview.id}` };
      const rejected = await send('POST', `/v1/risk/reviews/${secondReview.id}/reject`, { body: { note: 'Stolen card pattern' }, headers });
      assert.equal(rejected.statusCode, 200, rejected.body);
      assert.equal(rejected.json().status, 'rejected');
      // The same request with its Idempotency-Key answers the same, without deciding again.
      const replayed = await send('POST', `/v1/risk/reviews/${secondReview.id}/reject`, { body: { note: 'Stolen card pattern' }, headers });
      assert.equal(replayed.statusCode, 200);
      assert.equal(replayed.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replayed.json(), rejected.json());
      expectError(await send('POST', `/v1/risk/reviews/${secondReview.id}/reject`, { body: {} }), 409, 'review_unexpected_state');
      const canceled = (await api.call('GET', `/v1/payments/${second.json().id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(canceled.status, 'canceled');
      assert.equal(canceled.cancellation_reason, 'fraudulent');
      assert.deepEqual(await wallet(api, shop.merchant, shop.customerId), { currency: CURRENCY, available: 8_000, pending: 0, posted: 8_000 });
      assert.equal(await merchantAvailable(api, shop.merchant), 2000);

      const decided = (await send('GET', '/v1/risk/reviews?limit=100')).json().data.filter((entry: { merchant: string }) => entry.merchant === shop.merchant.id);
      assert.deepEqual(decided.map((entry: { status: string }) => entry.status), ['rejected', 'approved']);
      const firstPage = (await send('GET', '/v1/risk/reviews?limit=1')).json();
      assert.equal(firstPage.data.length, 1);
      assert.equal(firstPage.has_more, true);
      const nextPage = (await send('GET', `/v1/risk/reviews?limit=1&starting_after=${firstPage.data[0].id}`)).json();
      assert.notEqual(nextPage.data[0].id, firstPage.data[0].id);
      expectError(await send('GET', '/v1/risk/reviews?status=pending'), 400, 'parameter_invalid');
      expectError(await send('GET', '/v1/risk/reviews/rev_nothing'), 404, 'resource_missing');
      expectError(await send('POST', '/v1/risk/reviews/rev_nothing/approve', { body: {} }), 404, 'resource_missing');

      // The back-test reads the recorded decisions with their labels: the reviews labelled one
      // payment good (approved) and one fraud (rejected).
      const backtest = await send('POST', '/v1/risk/rules/backtest', { body: { source: `block if :amount: >= 2000 and ${onlyAt(shop)}` } });
      assert.equal(backtest.statusCode, 200, backtest.body);
      const result = backtest.json();
      assert.equal(result.object, 'risk_backtest');
      assert.equal(result.action, 'block');
      assert.ok(result.decisions >= 2);
      assert.equal(result.matched, 2);
      assert.deepEqual(result.matched_by_recorded_decision, { allow: 0, challenge: 0, review: 2, block: 0 });
      assert.equal(result.labelled_fraud, 1);
      assert.equal(result.fraud_matched, 1);
      assert.equal(result.labelled_good, 1);
      assert.equal(result.good_matched, 1);
      assert.equal(result.precision, 0.5);
      assert.equal(result.recall, 1);
      assert.equal(result.false_positive_rate, 1);
      assert.equal(result.match_rate, 2 / result.decisions);
      const narrower = (await send('POST', '/v1/risk/rules/backtest', { body: { source: `review if :amount: >= 3000 and ${onlyAt(shop)}` } })).json();
      assert.deepEqual([narrower.matched, narrower.fraud_matched, narrower.good_matched, narrower.precision, narrower.recall, narrower.false_positive_rate], [1, 1, 0, 1, 1, 0]);
      const future = (await send('POST', '/v1/risk/rules/backtest', { body: { source: 'block if :amount: > 0', since: Math.floor(Date.now() / 1000) + 3600 } })).json();
      assert.deepEqual([future.decisions, future.matched, future.match_rate, future.precision], [0, 0, null, null]);
      const limited = (await send('POST', '/v1/risk/rules/backtest', { body: { source: 'block if :amount: > 0', limit: 1 } })).json();
      assert.equal(limited.decisions, 1);
      expectError(await send('POST', '/v1/risk/rules/backtest', { body: { source: 'block if :amount: > 0', limit: 0 } }), 400, 'parameter_invalid');
      await putRule('review_big', { source: `review if :amount: > 1000 and ${onlyAt(shop)}`, mode: 'disabled' });
    });

    it('holds a payout for review: approve sends it to the bank, reject voids its hold', async () => {
      const shop = await openShop(api, { funds: 20_000n });
      const settings = await api.call('POST', '/v1/payout_settings', {
        key: shop.merchant.secretKey,
        body: { bank_account: { account_number: SANDBOX_BANK_ACCOUNTS.settles, account_holder_name: 'Pixel Forge Games' }, schedule: { interval: 'manual' } },
      });
      assert.equal(settings.statusCode, 200, settings.body);
      assert.equal((await pay(shop, 5000)).json().status, 'succeeded');
      assert.equal((await putRule('review_payouts', { source: `review if :action: = 'payout' and ${onlyAt(shop)}`, mode: 'live' })).statusCode, 200);
      const earned = await merchantAvailable(api, shop.merchant);

      const payout = async (amount: number) => {
        const response = await api.call('POST', '/v1/payouts', { key: shop.merchant.secretKey, body: { amount, currency: CURRENCY } });
        assert.equal(response.statusCode, 200, response.body);
        return response.json();
      };
      const reviewOf = async (subject: string) =>
        (await send('GET', '/v1/risk/reviews?status=open&limit=100')).json().data.find((entry: { subject: string }) => entry.subject === subject);

      const first = await payout(1500);
      assert.equal(first.status, 'pending');
      assert.equal(await merchantAvailable(api, shop.merchant), earned - 1500, 'the payout holds its amount while in review');
      // The dispatcher leaves a payout in review alone.
      await api.runtime.services.payouts.dispatch(100);
      assert.equal((await api.call('GET', `/v1/payouts/${first.id}`, { key: shop.merchant.secretKey })).json().status, 'pending');
      const firstReview = await reviewOf(first.id);
      assert.equal(firstReview.subject_type, 'payout');
      assert.equal(firstReview.buyer, null);
      const approved = await send('POST', `/v1/risk/reviews/${firstReview.id}/approve`, { body: {} });
      assert.equal(approved.statusCode, 200, approved.body);
      let status = 'pending';
      const deadline = Date.now() + 20_000; // a bank answer lost under load backs the payout off for seconds
      while (Date.now() < deadline && status !== 'paid') {
        await api.runtime.services.payouts.dispatch(100);
        status = (await api.call('GET', `/v1/payouts/${first.id}`, { key: shop.merchant.secretKey })).json().status;
        if (status !== 'paid') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.notEqual(status, 'pending', 'an approved payout goes to the bank');

      const second = await payout(1000);
      const available = await merchantAvailable(api, shop.merchant);
      const rejected = await send('POST', `/v1/risk/reviews/${(await reviewOf(second.id)).id}/reject`, { body: { note: 'Mule pattern' } });
      assert.equal(rejected.statusCode, 200, rejected.body);
      const failed = (await api.call('GET', `/v1/payouts/${second.id}`, { key: shop.merchant.secretKey })).json();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_code, 'payout_blocked');
      assert.equal(await merchantAvailable(api, shop.merchant), available + 1000, 'the hold is voided: the balance is the merchant\'s again');
    });

    it("shows a buyer's segment, its thresholds and the history behind it", async () => {
      const shop = await openShop(api, { funds: 10_000n });
      assert.equal((await pay(shop, 700)).json().status, 'succeeded');
      assert.equal((await pay(shop, 300)).json().status, 'succeeded');
      const profile = await send('GET', `/v1/risk/buyers/${shop.buyerId}?livemode=false`);
      assert.equal(profile.statusCode, 200, profile.body);
      const body = profile.json();
      assert.equal(body.object, 'risk_buyer_profile');
      assert.equal(body.buyer, shop.buyerId);
      assert.equal(body.segment, 'new');
      assert.deepEqual(body.thresholds, DEFAULT_POLICY.thresholds.new);
      assert.equal(body.signals.buyer_payments_30d, 2);
      assert.equal(body.signals.buyer_amount_30d, 1000);
      expectError(await send('GET', `/v1/risk/buyers/${shop.buyerId}`, { key: shop.merchant.secretKey }), 403, 'operator_key_required');
      expectError(await send('GET', '/v1/risk/buyers/not-a-buyer'), 400, 'parameter_invalid');
    });

    it('shows the policy', async () => {
      const response = await send('GET', '/v1/risk/policy');
      assert.equal(response.statusCode, 200, response.body);
      const policy = response.json();
      assert.deepEqual(policy.thresholds, DEFAULT_POLICY.thresholds);
      assert.equal(policy.low_value_usd_cents, DEFAULT_POLICY.lowValueUsdCents);
      assert.equal(policy.large_amount_usd_cents, DEFAULT_POLICY.largeAmountUsdCents);
      assert.equal(policy.cash_out_decision, DEFAULT_POLICY.cashOutDecision);
      assert.equal(policy.segments.trusted_payments_min, DEFAULT_POLICY.segments.trustedPaymentsMin);
      assert.equal(policy.segments.watch_refund_rate, DEFAULT_POLICY.segments.watchRefundRate);
    });

    it('lists the models and activates one; an unknown version answers 404', async () => {
      const empty = (await send('GET', '/v1/risk/models')).json();
      assert.deepEqual(empty, { object: 'list', data: [], has_more: false, active_version: null, loaded_version: null });
      expectError(await send('POST', '/v1/risk/models/1/activate'), 404, 'resource_missing');
      expectError(await send('POST', '/v1/risk/models/first/activate'), 400, 'parameter_invalid');

      // A model that scores everything near 0, so that activating it changes no other test's payment.
      const quiet = { format: MODEL_FORMAT, bias: -20, features: [], trainedAt: new Date().toISOString(), rows: 0, fraudRows: 0 } as const;
      const version = await api.runtime.services.riskEngine.saveModel({ ...quiet, features: [] }, { average_precision: 0.42, rows: 0 }, false);
      const listed = (await send('GET', '/v1/risk/models')).json();
      assert.deepEqual(listed.data.map((model: { version: number; active: boolean; loaded: boolean; metrics: object }) => [model.version, model.active, model.loaded, model.metrics]), [[version, false, false, { average_precision: 0.42, rows: 0 }]]);
      assert.equal(listed.active_version, null);

      const activated = await send('POST', `/v1/risk/models/${version}/activate`);
      assert.equal(activated.statusCode, 200, activated.body);
      assert.equal(activated.json().object, 'risk_model');
      assert.equal(activated.json().active, true);
      assert.equal(activated.json().loaded, true);
      const after = (await send('GET', '/v1/risk/models')).json();
      assert.equal(after.active_version, version);
      assert.equal(after.loaded_version, version);
      expectError(await send('POST', `/v1/risk/models/${version + 1}/activate`, { body: {} }), 404, 'resource_missing');

      // Scored with the model now: a score is recorded, and it is tiny.
      const shop = await openShop(api, { funds: 1_000n });
      const paid = await pay(shop, 100);
      assert.equal(paid.json().status, 'succeeded');
      const decision = (await send('GET', `/v1/risk/decisions/${paid.json().risk_decision}`)).json();
      assert.ok(decision.score !== null && decision.score < 0.001, String(decision.score));
    });
  });
}
