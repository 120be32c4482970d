import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { staffCall, staffToken } from '../../test/support/staff.ts';
import { API_ERRORS } from './errors.ts';
import { isFinalAnswer, malformedStringPath, toApiError } from './http.ts';

describe('the error table', () => {
  it('documents every code in docs/errors.md with its status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(API_ERRORS)) {
      assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${spec.status} \\|`), `docs/errors.md lacks a row for ${code}`);
    }
  });
});

describe('which answers an Idempotency-Key keeps', () => {
  it('keeps answers about the request (errors included), not about the moment: 5xx, 429, concurrent_modification', () => {
    const error = (code: string) => ({ error: { type: 'invalid_request_error', code, message: '', request_id: 'req_1' } });
    assert.equal(isFinalAnswer(200, { id: 'pay_1' }), true);
    assert.equal(isFinalAnswer(402, error('insufficient_funds')), true);
    assert.equal(isFinalAnswer(409, error('payment_unexpected_state')), true);
    assert.equal(isFinalAnswer(400, error('parameter_invalid')), true);
    assert.equal(isFinalAnswer(409, error('concurrent_modification')), false);
    assert.equal(isFinalAnswer(429, error('codes_rate_limited')), false);
    assert.equal(isFinalAnswer(503, error('card_processor_unavailable')), false);
    assert.equal(isFinalAnswer(500, null), false);
  });

  it('keeps no refusal of the caller\'s credentials (401, 403): the right key retrying runs the request', () => {
    const error = (code: string) => ({ error: { type: 'permission_error', code, message: '', request_id: 'req_1' } });
    assert.equal(isFinalAnswer(403, error('api_key_scope_insufficient')), false);
    assert.equal(isFinalAnswer(403, error('staff_permission_missing')), false);
    assert.equal(isFinalAnswer(401, error('buyer_session_required')), false);
  });
});

describe('strings PostgreSQL cannot store', () => {
  it('finds an unpaired surrogate anywhere in a body, named by its path', () => {
    assert.equal(malformedStringPath({ name: 'ok', emoji: '\ud83d\ude00' }), null);
    assert.equal(malformedStringPath({ name: 'a\ud800' }), 'name');
    assert.equal(malformedStringPath({ line_items: [{ description: 'ok' }, { description: '\udc00b' }] }), 'line_items[1].description');
    assert.equal(malformedStringPath({ metadata: { ['k\ud800']: 'v' } }), 'metadata');
    assert.equal(malformedStringPath('\ud800'), 'body');
    let deep: unknown = '\ud800';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    assert.match(malformedStringPath(deep)!, /^\[0\]/);
  });
});

for (const kind of STORE_KINDS) {
  describe(`API keys, errors and idempotency on ${kind}`, () => {
    let api: TestApi;
    let alpha: TestMerchant;
    let beta: TestMerchant;

    before(async () => {
      api = await startTestApi(kind);
      alpha = await api.createMerchant({ name: 'Alpha' });
      beta = await api.createMerchant({ name: 'Beta' });
    });
    after(() => api.close());

    it('authenticates: no key, a malformed key, an unknown key', async () => {
      const none = await api.call('GET', '/v1/customers');
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'api_key_missing');
      assert.match(none.json().error.request_id, /^req_/);
      for (const header of ['Basic abc', 'Bearer sk_test_doesnotexist', 'Bearer ']) {
        const response = await api.call('GET', '/v1/customers', { headers: { authorization: header } });
        assert.equal(response.statusCode, 401, header);
        assert.equal(response.json().error.code, 'api_key_invalid', header);
      }
    });

    it('enforces key kinds and scopes', async () => {
      const read = await api.call('POST', '/v1/customers', { key: alpha.readKey, body: {} });
      assert.equal(read.statusCode, 403);
      assert.equal(read.json().error.code, 'api_key_scope_insufficient');
      assert.equal((await api.call('GET', '/v1/customers', { key: alpha.readKey })).statusCode, 200);
      const publishable = await api.call('GET', '/v1/customers', { key: alpha.publishableKey });
      assert.equal(publishable.json().error.code, 'secret_key_required');
      assert.equal((await api.call('GET', '/v1/account', { key: alpha.publishableKey })).statusCode, 200);
      const merchantAsOperator = await api.call('POST', '/v1/merchants', { key: alpha.secretKey, body: { name: 'Evil' } });
      assert.equal(merchantAsOperator.statusCode, 403);
      assert.equal(merchantAsOperator.json().error.code, 'operator_key_required');
      const operatorAsMerchant = await api.call('GET', '/v1/customers', { key: api.operatorKey });
      assert.equal(operatorAsMerchant.json().error.code, 'merchant_key_required');
    });

    it('shows a key secret once, stores only its digest, rolls with an overlap and revokes', async () => {
      const created = await api.call('POST', '/v1/api_keys', { key: alpha.secretKey, body: { type: 'secret', name: 'ci' } });
      assert.equal(created.statusCode, 200, created.body);
      const { id, secret } = created.json();
      assert.match(secret, /^sk_test_[0-9A-Za-z]{30,}$/);
      const stored = await api.runtime.db.query<Record<string, unknown>>(`SELECT * FROM api_keys WHERE id = $1`, [id]);
      assert.ok(!JSON.stringify(stored.rows, (_key, value) => (typeof value === 'bigint' ? String(value) : value)).includes(secret));
      const listed = await api.call('GET', '/v1/api_keys', { key: alpha.secretKey });
      assert.ok(!listed.body.includes(secret));
      assert.ok(listed.json().data.some((key: { id: string; last4: string }) => key.id === id && key.last4 === secret.slice(-4)));

      const rolled = await api.call('POST', `/v1/api_keys/${id}/roll`, { key: alpha.secretKey, body: { expires_in_seconds: 3600 } });
      assert.equal(rolled.statusCode, 200, rolled.body);
      assert.equal((await api.call('GET', '/v1/account', { key: secret })).statusCode, 200, 'the old key works during the overlap');
      assert.equal((await api.call('GET', '/v1/account', { key: rolled.json().secret })).statusCode, 200);

      const revoked = await api.call('POST', `/v1/api_keys/${rolled.json().id}/revoke`, { key: alpha.secretKey });
      assert.equal(revoked.json().revoked, true);
      assert.equal((await api.call('GET', '/v1/account', { key: rolled.json().secret })).statusCode, 401);

      const immediate = await api.call('POST', `/v1/api_keys/${id}/roll`, { key: alpha.secretKey });
      assert.equal(immediate.statusCode, 200);
      assert.equal((await api.call('GET', '/v1/account', { key: secret })).statusCode, 401, 'a roll without overlap ends the old key');
    });

    it("manages the keys of the calling key's mode only: a test key cannot list, roll or revoke a live key", async () => {
      const merchant = await api.createMerchant({ name: 'Modes' });
      const liveKeys = (await api.call('GET', '/v1/api_keys', { key: merchant.liveSecretKey })).json().data;
      assert.ok(liveKeys.length > 0 && liveKeys.every((key: { livemode: boolean }) => key.livemode === true), JSON.stringify(liveKeys));
      const liveId = liveKeys[0].id as string;
      const testKeys = (await api.call('GET', '/v1/api_keys', { key: merchant.secretKey })).json().data;
      assert.ok(testKeys.length > 0 && testKeys.every((key: { livemode: boolean }) => key.livemode === false), JSON.stringify(testKeys));
      assert.ok(!testKeys.some((key: { id: string }) => key.id === liveId));

      for (const action of ['roll', 'revoke']) {
        const refused = await api.call('POST', `/v1/api_keys/${liveId}/${action}`, { key: merchant.secretKey, body: {} });
        assert.equal(refused.statusCode, 404, `${action} → ${refused.body}`);
        assert.equal(refused.json().error.code, 'resource_missing');
        assert.ok(!refused.body.includes('sk_live_'));
      }
      const testId = testKeys.find((key: { type: string; scope: string }) => key.type === 'secret' && key.scope === 'read').id;
      const fromLive = await api.call('POST', `/v1/api_keys/${testId}/revoke`, { key: merchant.liveSecretKey, body: {} });
      assert.equal(fromLive.statusCode, 404, fromLive.body);
      assert.equal((await api.call('GET', '/v1/account', { key: merchant.liveSecretKey })).statusCode, 200, 'the live key still works');
      assert.equal((await api.call('GET', '/v1/account', { key: merchant.readKey })).statusCode, 200, 'the test read key still works');
      const stored = await api.runtime.db.query<{ revoked: boolean }>(`SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1`, [liveId]);
      assert.equal(stored.rows[0]!.revoked, false);
      const liveCount = await api.runtime.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE merchant_id = $1 AND livemode`, [merchant.id]);
      assert.equal(liveCount.rows[0]!.n, 1, 'no live key was minted by a roll');

      // A test key creates test keys only; a staff session acts in the mode its Micropay-Livemode header names.
      const created = await api.call('POST', '/v1/api_keys', { key: merchant.secretKey, body: { type: 'secret' } });
      assert.equal(created.json().livemode, false);
      assert.match(created.json().secret, /^sk_test_/);
      const owner = await staffToken(api, { merchantId: merchant.id, role: 'owner' });
      const staffTest = await staffCall(api, 'GET', '/v1/api_keys', { key: owner });
      assert.ok(staffTest.json().data.every((key: { livemode: boolean }) => key.livemode === false), staffTest.body);
      const staffRoll = await staffCall(api, 'POST', `/v1/api_keys/${liveId}/roll`, { key: owner, body: {} });
      assert.equal(staffRoll.statusCode, 404, staffRoll.body);
      const live = { 'micropay-livemode': 'true' };
      const staffLive = await staffCall(api, 'GET', '/v1/api_keys', { key: owner, headers: live });
      assert.deepEqual(staffLive.json().data.map((key: { id: string }) => key.id), [liveId]);
      const staffLiveRoll = await staffCall(api, 'POST', `/v1/api_keys/${liveId}/roll`, { key: owner, headers: live, body: { expires_in_seconds: 60 } });
      assert.equal(staffLiveRoll.statusCode, 200, staffLiveRoll.body);
      assert.match(staffLiveRoll.json().secret, /^sk_live_/);
    });

    it("answers 404 for another merchant's objects on every endpoint", async () => {
      const customer = (await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {} })).json().id;
      await api.fundWallet(alpha, customer, 500n, 'USD');
      const payment = (await api.call('POST', '/v1/payments', { key: alpha.secretKey, body: { customer, amount: 100, currency: 'USD', capture_method: 'manual' } })).json().id;
      const keyId = (await api.call('GET', '/v1/api_keys', { key: alpha.secretKey })).json().data[0].id;
      const attempts: Array<['GET' | 'POST', string, unknown?]> = [
        ['GET', `/v1/customers/${customer}`],
        ['GET', `/v1/customers/${customer}/wallet`],
        ['GET', `/v1/payments/${payment}`],
        ['POST', `/v1/payments/${payment}/confirm`],
        ['POST', `/v1/payments/${payment}/capture`],
        ['POST', `/v1/payments/${payment}/cancel`],
        ['POST', '/v1/payments', { customer, amount: 100, currency: 'USD' }],
        ['POST', `/v1/api_keys/${keyId}/roll`],
        ['POST', `/v1/api_keys/${keyId}/revoke`],
      ];
      for (const [method, url, body] of attempts) {
        const response = await api.call(method, url, { key: beta.secretKey, body });
        assert.equal(response.statusCode, 404, `${method} ${url} → ${response.body}`);
        assert.equal(response.json().error.code, 'resource_missing');
      }
      const lists = ['/v1/customers', '/v1/payments'];
      for (const url of lists) {
        const response = await api.call('GET', url, { key: beta.secretKey });
        assert.ok(!response.body.includes(customer), url);
      }
      const still = await api.call('GET', `/v1/payments/${payment}`, { key: alpha.secretKey });
      assert.equal(still.json().status, 'requires_confirmation');
    });

    it('replays the first response of an Idempotency-Key, errors included, and refuses other parameters', async () => {
      const headers = { 'idempotency-key': 'create-customer-1' };
      const first = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: { name: 'Ana' }, headers });
      const second = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: { name: 'Ana' }, headers });
      assert.equal(second.statusCode, 200);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.deepEqual(second.json(), first.json());
      const other = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: { name: 'Bo' }, headers });
      assert.equal(other.statusCode, 400);
      assert.equal(other.json().error.code, 'idempotency_key_reused');
      // The same key belongs to each merchant separately.
      const beta1 = await api.call('POST', '/v1/customers', { key: beta.secretKey, body: { name: 'Bo' }, headers });
      assert.equal(beta1.statusCode, 200);

      const failing = { 'idempotency-key': 'pay-too-much' };
      const customer = first.json().id;
      const refused = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body: { customer, amount: 100, currency: 'USD', confirm: true }, headers: failing });
      assert.equal(refused.statusCode, 402);
      await api.fundWallet(alpha, customer, 1_000n, 'USD');
      const replayed = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body: { customer, amount: 100, currency: 'USD', confirm: true }, headers: failing });
      assert.equal(replayed.statusCode, 402, 'the stored error is replayed even though the wallet is now funded');
      assert.equal(replayed.json().error.request_id, refused.json().error.request_id);

      // A response that showed a secret is stored without it: the replay shows it redacted.
      const keyHeaders = { 'idempotency-key': 'new-key-1' };
      const minted = await api.call('POST', '/v1/api_keys', { key: alpha.secretKey, body: { type: 'secret' }, headers: keyHeaders });
      assert.match(minted.json().secret, /^sk_test_/);
      const mintedAgain = await api.call('POST', '/v1/api_keys', { key: alpha.secretKey, body: { type: 'secret' }, headers: keyHeaders });
      assert.equal(mintedAgain.json().id, minted.json().id);
      assert.equal(mintedAgain.json().secret, '[redacted]');
      const stored = await api.runtime.db.query<{ body: string }>(`SELECT response_body::text AS body FROM idempotency_keys WHERE key = 'new-key-1'`);
      assert.ok(!stored.rows[0]!.body.includes(minted.json().secret));

      const invalid = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {}, headers: { 'idempotency-key': 'x'.repeat(300) } });
      assert.equal(invalid.json().error.code, 'idempotency_key_invalid');
    });

    it("keeps a read key's refusal and a write key's answer apart under one Idempotency-Key", async () => {
      const headers = { 'idempotency-key': 'scope-first-read' };
      const body = { name: 'Scoped' };
      const refused = await api.call('POST', '/v1/customers', { key: alpha.readKey, body, headers });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'api_key_scope_insufficient');
      const written = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body, headers });
      assert.equal(written.statusCode, 200, `the write key's retry runs, not the read key's 403 replayed: ${written.body}`);
      assert.equal(written.headers['idempotent-replayed'], undefined);
      const again = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body, headers });
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.json().id, written.json().id);

      // The read key never gets the write key's stored answer.
      const writeFirst = { 'idempotency-key': 'scope-first-write' };
      const created = await api.call('POST', '/v1/api_keys', { key: alpha.secretKey, body: { type: 'secret', name: 'scoped' }, headers: writeFirst });
      assert.equal(created.statusCode, 200, created.body);
      for (const attempt of [1, 2]) {
        const read = await api.call('POST', '/v1/api_keys', { key: alpha.readKey, body: { type: 'secret', name: 'scoped' }, headers: writeFirst });
        assert.equal(read.statusCode, 403, `attempt ${attempt}: ${read.body}`);
        assert.equal(read.json().error.code, 'api_key_scope_insufficient');
        assert.equal(read.headers['idempotent-replayed'], undefined);
        assert.ok(!read.body.includes(created.json().id));
      }
    });

    it("stores no payment client secret with an Idempotency-Key's answer, and replays the same answer", async () => {
      const customer = (await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {} })).json().id;
      await api.fundWallet(alpha, customer, 1_000n, 'USD');
      const created = { 'idempotency-key': `client-secret-${customer}` };
      const body = { customer, amount: 100, currency: 'USD', capture_method: 'manual' };
      const first = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers: created });
      assert.equal(first.statusCode, 200, first.body);
      const id = first.json().id as string;
      assert.match(first.json().client_secret, new RegExp(`^${id}_secret_`));
      const confirmed = { 'idempotency-key': `client-secret-confirm-${customer}` };
      const confirm = await api.call('POST', `/v1/payments/${id}/confirm`, { key: alpha.secretKey, headers: confirmed });
      assert.equal(confirm.statusCode, 200, confirm.body);
      const stored = await api.runtime.db.query<{ body: string }>(`SELECT response_body::text AS body FROM idempotency_keys WHERE key = ANY($1)`, [
        [created['idempotency-key'], confirmed['idempotency-key']],
      ]);
      assert.equal(stored.rows.length, 2);
      for (const row of stored.rows) {
        assert.ok(!row.body.includes(first.json().client_secret), row.body);
        assert.ok(!row.body.includes('_secret_'), row.body);
      }
      const replayed = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers: created });
      assert.equal(replayed.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replayed.json(), first.json());
      const confirmReplayed = await api.call('POST', `/v1/payments/${id}/confirm`, { key: alpha.secretKey, headers: confirmed });
      assert.equal(confirmReplayed.headers['idempotent-replayed'], 'true');
      assert.deepEqual(confirmReplayed.json(), confirm.json());
      // An error answer has no client secret to derive.
      const failing = { 'idempotency-key': `client-secret-capture-${customer}` };
      const refused = await api.call('POST', `/v1/payments/pay_missing/capture`, { key: alpha.secretKey, headers: failing });
      const refusedAgain = await api.call('POST', `/v1/payments/pay_missing/capture`, { key: alpha.secretKey, headers: failing });
      assert.equal(refusedAgain.headers['idempotent-replayed'], 'true');
      assert.deepEqual(refusedAgain.json(), refused.json());
    });

    it('resumes a keyed request whose first run never answered on the same objects, and starts afresh after 24 hours', async () => {
      const customer = (await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {} })).json().id;
      await api.fundWallet(alpha, customer, 1_000n, 'USD');
      const headers = { 'idempotency-key': `crash-${customer}` };
      const body = { customer, amount: 100, currency: 'USD', confirm: true };
      const first = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers });
      assert.equal(first.statusCode, 200, first.body);
      // As if the process died after its commit and before storing the answer, and the lease ran out.
      await api.runtime.db.query(
        `UPDATE idempotency_keys SET state = 'running', response_status = NULL, response_body = NULL,
           locked_until = now() - interval '1 second' WHERE key = $1`,
        [headers['idempotency-key']],
      );
      const resumed = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers });
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.equal(resumed.json().id, first.json().id);
      const wallet = async () => (await api.call('GET', `/v1/customers/${customer}/wallet`, { key: alpha.secretKey })).json().balances[0].available;
      assert.equal(await wallet(), 900, 'charged once');
      await api.runtime.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [headers['idempotency-key']]);
      const later = await api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers });
      assert.equal(later.statusCode, 200, later.body);
      assert.notEqual(later.json().id, first.json().id, 'a key reused after its record expired makes a new payment');
      assert.equal(await wallet(), 800);
    });

    it('gives concurrent requests with one key one effect', async () => {
      const customer = (await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {} })).json().id;
      await api.fundWallet(alpha, customer, 1_000n, 'USD');
      const headers = { 'idempotency-key': `race-${customer}` };
      const body = { customer, amount: 100, currency: 'USD', confirm: true };
      const responses = await Promise.all(Array.from({ length: 8 }, () => api.call('POST', '/v1/payments', { key: alpha.secretKey, body, headers })));
      const statuses = responses.map((response) => response.statusCode);
      assert.ok(statuses.every((status) => status === 200 || status === 409), statuses.join());
      for (const response of responses.filter((candidate) => candidate.statusCode === 409)) {
        assert.equal(response.json().error.code, 'idempotency_key_in_use');
      }
      const payments = (await api.call('GET', `/v1/payments?customer=${customer}`, { key: alpha.secretKey })).json().data;
      assert.equal(payments.length, 1);
      const wallet = (await api.call('GET', `/v1/customers/${customer}/wallet`, { key: alpha.secretKey })).json();
      assert.equal(wallet.balances[0].available, 900);
    });

    it('answers malformed requests with the error shape, never a 5xx', async () => {
      const notJson = await api.app.inject({ method: 'POST', url: '/v1/customers', headers: { authorization: `Bearer ${alpha.secretKey}`, 'content-type': 'application/json' }, payload: '{"name":' });
      assert.equal(notJson.statusCode, 400);
      assert.equal(notJson.json().error.code, 'body_invalid');
      const text = await api.app.inject({ method: 'POST', url: '/v1/customers', headers: { authorization: `Bearer ${alpha.secretKey}`, 'content-type': 'text/plain' }, payload: 'hello' });
      assert.equal(text.statusCode, 415);
      assert.equal(text.json().error.code, 'media_type_unsupported');
      const huge = await api.app.inject({ method: 'POST', url: '/v1/customers', headers: { authorization: `Bearer ${alpha.secretKey}`, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) });
      assert.equal(huge.statusCode, 413);
      assert.equal(huge.json().error.code, 'body_too_large');
      const nulPath = await api.call('GET', '/v1/payments/pay_%00', { key: alpha.secretKey });
      assert.equal(nulPath.statusCode, 400, nulPath.body);
      assert.equal(nulPath.json().error.code, 'parameter_invalid');
      const nulBody = await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: { name: 'a\u0000b' } });
      assert.equal(nulBody.statusCode, 400, nulBody.body);
      // An unpaired UTF-16 surrogate (JSON "\ud800"): PostgreSQL's jsonb refuses it, its text would hold U+FFFD.
      const customer = (await api.call('POST', '/v1/customers', { key: alpha.secretKey, body: {} })).json().id;
      const loneSurrogates: Array<[string, unknown, string]> = [
        ['/v1/payments', { customer, amount: 100, currency: 'USD', line_items: [{ description: 'sword \ud800', category: 'other', unit_amount: 100 }] }, 'line_items[0].description'],
        ['/v1/payments', { customer, amount: 100, currency: 'USD', description: '\udc00' }, 'description'],
        ['/v1/customers', { name: 'Ana \ud83d' }, 'name'],
      ];
      for (const [url, body, param] of loneSurrogates) {
        const refused = await api.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${alpha.secretKey}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        assert.equal(refused.statusCode, 400, `${url} ${param}: ${refused.body}`);
        assert.equal(refused.json().error.code, 'parameter_invalid');
        assert.equal(refused.json().error.param, param);
      }
      // Should one reach the database by another way, its refusal is the caller's input, not a 500; other 22P02s stay ours.
      const jsonbError = await api.runtime.db.query(`SELECT $1::jsonb`, ['{"a": "\\ud800"}']).then(() => null, (error: unknown) => error);
      assert.ok(jsonbError, 'jsonb refuses an unpaired surrogate');
      assert.equal(toApiError(jsonbError)?.code, 'parameter_invalid', String(jsonbError));
      const uuidError = await api.runtime.db.query(`SELECT $1::uuid`, ['not-a-uuid']).then(() => null, (error: unknown) => error);
      assert.equal((uuidError as { code?: string }).code, '22P02');
      assert.equal(toApiError(uuidError), null);
      const route = await api.call('GET', '/v1/nothing-here', { key: alpha.secretKey });
      assert.equal(route.json().error.code, 'route_not_found');
      const limit = await api.call('GET', '/v1/customers?limit=500', { key: alpha.secretKey });
      assert.equal(limit.json().error.code, 'parameter_invalid');
      assert.equal(limit.json().error.param, 'limit');
    });

    it('pages through lists with a cursor', async () => {
      const merchant = await api.createMerchant({ name: 'Pager' });
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push((await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: { name: `c${i}` } })).json().id);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5; page += 1) {
        const response = await api.call('GET', `/v1/customers?limit=2${cursor ? `&starting_after=${cursor}` : ''}`, { key: merchant.secretKey });
        const body = response.json();
        seen.push(...body.data.map((customer: { id: string }) => customer.id));
        if (!body.has_more) break;
        cursor = body.data.at(-1).id;
      }
      assert.deepEqual(seen, ids);
    });

    it('serves the OpenAPI document and the docs page', async () => {
      const document = await api.app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(document.statusCode, 200);
      const openapi = document.json();
      assert.equal(openapi.openapi, '3.1.0');
      for (const path of ['/v1/payments', '/v1/payments/{id}/confirm', '/v1/customers', '/v1/api_keys', '/v1/merchants']) {
        assert.ok(openapi.paths[path], `${path} is in the document`);
      }
      const docs = await api.app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(docs.statusCode, 200);
    });
  });
}
