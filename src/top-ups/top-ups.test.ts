import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { captureLogs } from '../../test/support/log-capture.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../api/ids.ts';
import { requestDigest } from '../api/idempotency.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { claimProcessing, getTopUp } from './store.ts';
import type { RiskHook, RiskVerdict } from '../risk/hook.ts';

// A healthy loopback answer never outlives the timeout, even on a loaded CI machine; a slow one always does.
const PROCESSOR_TIMEOUT_MS = 1000;
const SLOW_MS = 1500;
const nextYear = new Date().getUTCFullYear() + 1;
const CARDS = {
  success: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  challenge: '4000000000003220',
  challengeFails: '4000008400001629',
  mastercard: '5555555555554444',
};
const CVC = '947';
/** Every key and every scalar value of a JSON document, as strings. */
function jsonLeaves(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [String(value)];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...jsonLeaves(inner)]);
}
const card = (number: string, extra: Record<string, unknown> = {}) => ({ number, exp_month: 12, exp_year: nextYear, cvc: CVC, ...extra });

describe('top-up configuration', () => {
  it('reads TOP_UP_MINIMUMS and the card processor settings, and refuses production without a vault key or a processor', () => {
    assert.equal(loadConfig({}).topUps.minimums.KRW, 5000n);
    assert.deepEqual(loadConfig({ TOP_UP_MINIMUMS: 'USD:100,JPY:50' }).topUps.minimums, { USD: 100n, JPY: 50n });
    assert.throws(() => loadConfig({ TOP_UP_MINIMUMS: 'USD=100' }), ConfigError);
    assert.throws(() => loadConfig({ VAULT_MASTER_KEY: 'c2hvcnQ=' }), /VAULT_MASTER_KEY must be base64 of exactly 32 bytes/);
    const production = { MICROPAY_MODE: 'production', DATABASE_URL: 'postgres://u@h/db' };
    assert.throws(() => loadConfig(production), /VAULT_MASTER_KEY is required in production/);
    const key = Buffer.alloc(32, 7).toString('base64');
    assert.throws(() => loadConfig({ ...production, VAULT_MASTER_KEY: key }), /CARD_PROCESSOR_URL and CARD_PROCESSOR_API_KEY are required/);
    const config = loadConfig({ ...production, VAULT_MASTER_KEY: key, CARD_PROCESSOR_URL: 'https://acquirer.example', CARD_PROCESSOR_API_KEY: 'k', REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.equal(config.cardProcessor.url, 'https://acquirer.example');
    assert.equal(config.vault.masterKey?.length, 32);
  });
});

for (const kind of STORE_KINDS) {
  describe(`top-ups over HTTP on ${kind}`, () => {
    let api: TestApi;
    let alpha: TestMerchant;
    let beta: TestMerchant;
    let verdict: RiskVerdict = 'allow';
    const risk: RiskHook = {
      async score(context) {
        return { id: newId('rsk'), decision: verdict, score: 0.5, reasons: [{ code: 'test_rule', message: `The test said ${verdict}.` }], context };
      },
    };
    // Everything the server logs during the suite (at trace level), and every response body it sends.
    const captured = captureLogs();
    const logLines = captured.lines;
    const bodies: string[] = [];

    before(async () => {
      api = await startTestApi(kind, { risk, logger: captured.logger, env: { CARD_PROCESSOR_TIMEOUT_MS: String(PROCESSOR_TIMEOUT_MS) } });
      alpha = await api.createMerchant({ name: 'Alpha' });
      beta = await api.createMerchant({ name: 'Beta' });
    });
    after(() => api.close());

    async function call(method: 'GET' | 'POST', url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
      const response = await api.call(method, url, { key: alpha.secretKey, ...options });
      bodies.push(response.body);
      return response;
    }

    async function customer(merchant: TestMerchant = alpha): Promise<string> {
      const response = await call('POST', '/v1/customers', { key: merchant.secretKey, body: {} });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().id;
    }

    async function walletAvailable(customerId: string, currency = 'USD'): Promise<number> {
      const response = await call('GET', `/v1/customers/${customerId}/wallet`);
      assert.equal(response.statusCode, 200, response.body);
      return response.json().balances.find((balance: { currency: string }) => balance.currency === currency)?.available ?? 0;
    }

    async function eventsOf(id: string): Promise<string[]> {
      const { rows } = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq`, [id]);
      return rows.map((row) => row.type);
    }

    const topUp = (body: Record<string, unknown>, options: { key?: string; headers?: Record<string, string> } = {}) => call('POST', '/v1/top_ups', { body, ...options });

    async function completeChallenge(url: string, outcome: 'pass' | 'fail'): Promise<void> {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outcome }) });
      assert.equal(response.status, 200);
    }

    it('tokenises a card: brand, last four, expiry and fingerprint, never the number', async () => {
      const buyer = await customer();
      const created = await call('POST', '/v1/payment_methods', { body: { customer: buyer, card: card('4242 4242 4242 4242') } });
      assert.equal(created.statusCode, 200, created.body);
      const method = created.json();
      assert.match(method.id, /^card_/);
      assert.equal(method.object, 'payment_method');
      assert.equal(method.customer, buyer);
      assert.deepEqual({ ...method.card, fingerprint: undefined }, { brand: 'visa', last4: '4242', exp_month: 12, exp_year: nextYear, fingerprint: undefined });
      assert.equal(method.card.fingerprint.length, 16);
      // The security code is three digits, which a timestamp or a random id can hold by chance ("created"
      // was 1795947xxx for a quarter of an hour): look for it as a value of its own, not as a substring.
      assert.ok(!created.body.includes(CARDS.success));
      assert.ok(!jsonLeaves(method).includes(CVC), 'the security code is not a value of the answer');

      // The same card again, even typed differently, has the same fingerprint under a new token.
      const again = (await call('POST', '/v1/payment_methods', { key: alpha.publishableKey, body: { customer: buyer, card: card(CARDS.success, { cvc: undefined }) } })).json();
      assert.notEqual(again.id, method.id);
      assert.equal(again.card.fingerprint, method.card.fingerprint);
      const other = (await call('POST', '/v1/payment_methods', { body: { customer: buyer, card: card(CARDS.mastercard) } })).json();
      assert.equal(other.card.brand, 'mastercard');
      assert.notEqual(other.card.fingerprint, method.card.fingerprint);
      // Another merchant's fingerprint of the same card differs: merchants cannot correlate buyers' cards.
      const elsewhere = (await call('POST', '/v1/payment_methods', { key: beta.secretKey, body: { customer: await customer(beta), card: card(CARDS.success) } })).json();
      assert.notEqual(elsewhere.card.fingerprint, method.card.fingerprint);

      assert.equal((await call('GET', `/v1/payment_methods/${method.id}`)).json().card.last4, '4242');
      const listed = (await call('GET', `/v1/payment_methods?customer=${buyer}`)).json();
      assert.deepEqual(listed.data.map((item: { id: string }) => item.id), [other.id, again.id, method.id]);
    });

    it('refuses invalid card data with clear codes and the field at fault', async () => {
      const buyer = await customer();
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [card('4242424242424241'), 'card_number_invalid', 'card.number'],
        [card('4242'), 'card_number_invalid', 'card.number'],
        [card('4242-4242-abcd-4242'), 'card_number_invalid', 'card.number'],
        [card(CARDS.success, { exp_year: 2001 }), 'card_expired', 'card.exp_year'],
        [card(CARDS.success, { exp_year: nextYear + 40 }), 'card_expiry_invalid', 'card.exp_year'],
        [card(CARDS.success, { cvc: '12' }), 'card_cvc_invalid', 'card.cvc'],
        [card(CARDS.success, { exp_month: 13 }), 'parameter_invalid', 'card.exp_month'],
        [card(CARDS.success, { pin: '1234' }), 'parameter_unknown', 'card.pin'],
      ];
      for (const [input, code, param] of cases) {
        const response = await call('POST', '/v1/payment_methods', { body: { customer: buyer, card: input } });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, code, JSON.stringify(input));
        assert.equal(response.json().error.param, param);
        // (The random request id is left out: '4242' can occur in it by chance, 1 response in about 2,300.)
        const { request_id: _requestId, ...shown } = response.json().error;
        assert.ok(!JSON.stringify(shown).includes(String(input.number)), 'the error never repeats the number');
      }
      const topUpCase = await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card('4242424242424241') });
      assert.equal(topUpCase.json().error.code, 'card_number_invalid');
      assert.equal((await call('GET', `/v1/top_ups?customer=${buyer}`)).json().data.length, 0, 'nothing was created');
    });

    it('funds the wallet from a card: risk, processor, ledger credit, event', async () => {
      const buyer = await customer();
      const response = await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success), metadata: { order: 'o-1' } });
      assert.equal(response.statusCode, 200, response.body);
      const created = response.json();
      assert.match(created.id, /^top_/);
      assert.equal(created.status, 'succeeded');
      assert.equal(created.amount, 1000);
      assert.match(created.payment_method, /^card_/);
      assert.equal(created.next_action, null);
      assert.equal(created.failure_code, null);
      assert.match(created.risk_decision, /^rsk_/);
      assert.deepEqual(created.metadata, { order: 'o-1' });
      assert.equal(await walletAvailable(buyer), 1000);
      assert.deepEqual(await eventsOf(created.id), ['top_up.succeeded']);
      const decisions = await api.runtime.db.query<{ action: string }>(`SELECT action FROM risk_decisions WHERE subject_id = $1`, [created.id]);
      assert.deepEqual(decisions.rows.map((row) => row.action), ['top_up']);

      // A saved card tops up again without its number (or its security code, which was never kept).
      const again = await topUp({ customer: buyer, amount: 2500, currency: 'USD', payment_method: created.payment_method });
      assert.equal(again.json().status, 'succeeded', again.body);
      assert.equal(await walletAvailable(buyer), 3500);
      assert.deepEqual((await call('GET', `/v1/top_ups/${created.id}`)).json(), created);
      const report = await api.runtime.ledger.verify();
      assert.equal(report.drift.length, 0);
    });

    it('refuses live top-ups with 503 top_ups_unavailable when no card processor is configured (development too), recording nothing', async () => {
      assert.equal(api.runtime.config.cardProcessor.url, undefined);
      const created = await call('POST', '/v1/customers', { key: alpha.liveSecretKey, body: {} });
      assert.equal(created.statusCode, 200, created.body);
      const buyer = created.json().id as string;
      for (const body of [
        { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) },
        { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challenge) },
      ]) {
        const refused = await topUp(body, { key: alpha.liveSecretKey });
        assert.equal(refused.statusCode, 503, refused.body);
        assert.equal(refused.json().error.code, 'top_ups_unavailable');
        assert.match(refused.json().error.message, /CARD_PROCESSOR_URL/);
      }
      const { rows } = await api.runtime.db.query<{ top_ups: number; methods: number }>(
        `SELECT (SELECT count(*)::int FROM top_ups WHERE customer_id = $1) AS top_ups,
                (SELECT count(*)::int FROM payment_methods WHERE customer_id = $1) AS methods`,
        [buyer],
      );
      assert.deepEqual(rows, [{ top_ups: 0, methods: 0 }], 'no top-up and no card was recorded');
      const wallet = await call('GET', `/v1/customers/${buyer}/wallet`, { key: alpha.liveSecretKey });
      assert.equal(wallet.statusCode, 200, wallet.body);
      assert.ok(wallet.json().balances.every((balance: { available: number }) => balance.available === 0), wallet.body);
      // Test mode keeps its sandbox.
      const testBuyer = await customer();
      assert.equal((await topUp({ customer: testBuyer, amount: 1000, currency: 'USD', card: card(CARDS.success) })).json().status, 'succeeded');
    });

    it('records declines as failed top-ups with the failure code, crediting nothing', async () => {
      const buyer = await customer();
      for (const [number, code] of [
        [CARDS.declined, 'card_declined'],
        [CARDS.insufficientFunds, 'insufficient_funds'],
      ]) {
        const response = await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(number!) });
        assert.equal(response.statusCode, 200, response.body);
        const failed = response.json();
        assert.equal(failed.status, 'failed');
        assert.equal(failed.failure_code, code);
        assert.ok(failed.failure_message.length > 0);
        assert.deepEqual(await eventsOf(failed.id), ['top_up.failed']);
      }
      assert.equal(await walletAvailable(buyer), 0);
      const failedList = (await call('GET', `/v1/top_ups?customer=${buyer}&status=failed`)).json();
      assert.equal(failedList.data.length, 2);
    });

    it('runs 3-D Secure: requires_action with a challenge URL, then confirm after the buyer passes', async () => {
      const buyer = await customer();
      const created = (await topUp({ customer: buyer, amount: 1500, currency: 'USD', card: card(CARDS.challenge) })).json();
      assert.equal(created.status, 'requires_action');
      assert.equal(created.next_action.type, 'three_d_secure');
      const page = await fetch(created.next_action.url);
      assert.equal(page.status, 200);
      assert.deepEqual(await eventsOf(created.id), ['top_up.requires_action']);

      const early = await call('POST', `/v1/top_ups/${created.id}/confirm`);
      assert.equal(early.statusCode, 409);
      assert.equal(early.json().error.code, 'three_d_secure_incomplete');
      assert.equal(await walletAvailable(buyer), 0);

      await completeChallenge(created.next_action.url, 'pass');
      const confirmed = await call('POST', `/v1/top_ups/${created.id}/confirm`);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal(confirmed.json().status, 'succeeded');
      assert.equal(confirmed.json().next_action, null);
      assert.equal(await walletAvailable(buyer), 1500);
      assert.deepEqual(await eventsOf(created.id), ['top_up.requires_action', 'top_up.succeeded']);

      const twice = await call('POST', `/v1/top_ups/${created.id}/confirm`);
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().error.code, 'top_up_unexpected_state');
      assert.equal(await walletAvailable(buyer), 1500);
    });

    it('gives two confirmations at once one effect', async () => {
      const buyer = await customer();
      const created = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challenge) })).json();
      await completeChallenge(created.next_action.url, 'pass');
      const keys = Array.from({ length: 4 }, (_, index) => `confirm-${created.id}-${index}`);
      const confirm = (key: string) => call('POST', `/v1/top_ups/${created.id}/confirm`, { headers: { 'idempotency-key': key } });
      const responses = await Promise.all(keys.map(confirm));
      const statuses = responses.map((response) => response.statusCode).sort();
      assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join());
      for (const [index, response] of responses.entries()) {
        if (response.statusCode === 200) continue;
        assert.ok(['concurrent_modification', 'top_up_unexpected_state'].includes(response.json().error.code), response.body);
        // A conflict with the other confirmation is not stored: the same key runs again (and finds the
        // top-up succeeded); a state error is final and replayed.
        const again = await confirm(keys[index]!);
        const conflict = response.json().error.code === 'concurrent_modification';
        assert.equal(again.headers['idempotent-replayed'], conflict ? undefined : 'true', again.body);
        assert.equal(again.json().error.code, 'top_up_unexpected_state');
      }
      assert.equal(await walletAvailable(buyer), 1000);
      assert.deepEqual(await eventsOf(created.id), ['top_up.requires_action', 'top_up.succeeded']);
    });

    it('fails a top-up whose 3-D Secure authentication fails', async () => {
      const buyer = await customer();
      const failing = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challenge) })).json();
      await completeChallenge(failing.next_action.url, 'fail');
      const failed = (await call('POST', `/v1/top_ups/${failing.id}/confirm`)).json();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_code, 'authentication_failed');

      const always = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challengeFails) })).json();
      assert.equal(always.status, 'requires_action');
      await completeChallenge(always.next_action.url, 'pass');
      const refused = (await call('POST', `/v1/top_ups/${always.id}/confirm`)).json();
      assert.equal(refused.status, 'failed');
      assert.equal(refused.failure_code, 'authentication_failed');
      assert.equal(await walletAvailable(buyer), 0);
      assert.deepEqual(await eventsOf(always.id), ['top_up.requires_action', 'top_up.failed']);

      // An authorization the processor forgot (a restarted sandbox) fails instead of answering 500.
      const forgotten = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challenge) })).json();
      await api.runtime.db.query(`UPDATE top_ups SET processor_authorization_id = 'auth_forgotten' WHERE id = $1`, [forgotten.id]);
      const lost = (await call('POST', `/v1/top_ups/${forgotten.id}/confirm`)).json();
      assert.equal(lost.status, 'failed');
      assert.equal(lost.failure_code, 'processing_error');
      assert.equal(lost.next_action, null);
    });

    it('lets risk controls block a top-up or ask for 3-D Secure', async () => {
      const buyer = await customer();
      verdict = 'block';
      try {
        const blocked = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) })).json();
        assert.equal(blocked.status, 'failed');
        assert.equal(blocked.failure_code, 'top_up_blocked');
        // The merchant reads a plain refusal, never the risk reason (an operator's rule, a model score);
        // operators keep the reason in risk_decisions.
        assert.equal(blocked.failure_message, 'We could not accept this top-up: our safety checks flagged it.');
        const read = await call('GET', `/v1/top_ups/${blocked.id}`);
        assert.equal(read.json().failure_message, blocked.failure_message);
        const events = await api.runtime.db.query<{ data: unknown }>(`SELECT data FROM events WHERE data->'object'->>'id' = $1`, [blocked.id]);
        assert.ok(events.rows.length > 0 && !JSON.stringify(events.rows).includes('The test said'), JSON.stringify(events.rows));
        const decision = await api.runtime.db.query<{ reasons: unknown }>(`SELECT reasons FROM risk_decisions WHERE id = $1`, [blocked.risk_decision]);
        assert.deepEqual(decision.rows[0]!.reasons, [{ code: 'test_rule', message: 'The test said block.' }]);
        verdict = 'challenge';
        const challenged = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) })).json();
        assert.equal(challenged.status, 'requires_action', 'a card that needs no challenge gets one when risk asks');
      } finally {
        verdict = 'allow';
      }
      assert.equal(await walletAvailable(buyer), 0);
    });

    it('refuses top-ups below the minimum of their currency', async () => {
      const buyer = await customer();
      for (const [amount, currency] of [
        [499, 'USD'],
        [4999, 'KRW'],
        [1999, 'BHD'],
      ] as const) {
        const response = await topUp({ customer: buyer, amount, currency, card: card(CARDS.success) });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, 'amount_too_small');
        assert.equal(response.json().error.param, 'amount');
      }
      const enough = await topUp({ customer: buyer, amount: 5000, currency: 'KRW', card: card(CARDS.success) });
      assert.equal(enough.json().status, 'succeeded', enough.body);
      assert.equal(await walletAvailable(buyer, 'KRW'), 5000);
    });

    it('checks the request: one of payment_method or card, a known customer and payment method, a known currency', async () => {
      const buyer = await customer();
      const method = (await call('POST', '/v1/payment_methods', { body: { customer: buyer, card: card(CARDS.success) } })).json();
      const both = await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success), payment_method: method.id });
      assert.equal(both.json().error.code, 'parameter_invalid');
      const neither = await topUp({ customer: buyer, amount: 1000, currency: 'USD' });
      assert.equal(neither.json().error.code, 'parameter_missing');
      assert.equal(neither.json().error.param, 'payment_method');
      const someoneElses = await topUp({ customer: await customer(), amount: 1000, currency: 'USD', payment_method: method.id });
      assert.equal(someoneElses.statusCode, 404);
      assert.equal(someoneElses.json().error.param, 'payment_method');
      const currency = await topUp({ customer: buyer, amount: 1000, currency: 'XYZ', payment_method: method.id });
      assert.equal(currency.json().error.code, 'currency_unsupported');
      const unknown = await topUp({ customer: 'cus_nobody', amount: 1000, currency: 'USD', payment_method: method.id });
      assert.equal(unknown.statusCode, 404);
    });

    it('replays a top-up for its Idempotency-Key: one charge, one credit; other parameters are refused', async () => {
      const buyer = await customer();
      const headers = { 'idempotency-key': `top-up-${buyer}` };
      const body = { customer: buyer, amount: 1200, currency: 'USD', card: card(CARDS.success) };
      const count = api.runtime.cards.sandbox!.authorizationCount();
      const first = await topUp(body, { headers });
      const second = await topUp(body, { headers });
      assert.equal(second.statusCode, 200);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.deepEqual(second.json(), first.json());
      assert.equal(await walletAvailable(buyer), 1200);
      assert.equal(api.runtime.cards.sandbox!.authorizationCount(), count + 1);
      const other = await topUp({ ...body, amount: 1300 }, { headers });
      assert.equal(other.json().error.code, 'idempotency_key_reused');
      const otherCard = await topUp({ ...body, card: card(CARDS.mastercard) }, { headers });
      assert.equal(otherCard.json().error.code, 'idempotency_key_reused', 'the card is part of what the key was used with');

      // The stored request digest is keyed: it is not the plain hash of a body holding the card number.
      const { rows } = await api.runtime.db.query<{ request_digest: string }>(`SELECT request_digest FROM idempotency_keys WHERE key = $1`, [headers['idempotency-key']]);
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0]!.request_digest, requestDigest('POST', '/v1/top_ups', body));
    });

    it('answers 503 when the processor is unreachable, leaving the top-up processing for a retry with the same key', async () => {
      const buyer = await customer();
      const headers = { 'idempotency-key': `unreachable-${buyer}` };
      const body = { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) };
      api.runtime.cards.sandbox!.injectFault({ count: 3, kind: 'unavailable' });
      const refused = await topUp(body, { headers });
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json().error.code, 'card_processor_unavailable');
      const pending = (await call('GET', `/v1/top_ups?customer=${buyer}`)).json().data;
      assert.equal(pending.length, 1);
      assert.equal(pending[0].status, 'processing');
      const retried = await topUp(body, { headers });
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().id, pending[0].id, 'the retry lands on the same top-up');
      assert.equal(retried.json().status, 'succeeded');
      assert.equal(await walletAvailable(buyer), 1000);
    });

    it('settles a retry from what the processor did, without scoring risk again: a card charged while the answer was lost is credited', async () => {
      const sandbox = api.runtime.cards.sandbox!;
      const buyer = await customer();
      const headers = { 'idempotency-key': `charged-${buyer}` };
      const body = { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) };
      // Every attempt outlives the processor timeout, but the processor still authorizes (and captures) the card.
      sandbox.injectFault({ count: 3, kind: 'delay', delayMs: SLOW_MS });
      const lost = await topUp(body, { headers });
      assert.equal(lost.statusCode, 503, lost.body);
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      // Risk would now block a new top-up: the retry must not, since the card was charged.
      verdict = 'block';
      try {
        const retried = await topUp(body, { headers });
        assert.equal(retried.statusCode, 200, retried.body);
        assert.equal(retried.json().status, 'succeeded');
      } finally {
        verdict = 'allow';
      }
      assert.equal(await walletAvailable(buyer), 1000);
    });

    it('leaves to the reconciler no top-up a retry has taken over, and the retry then settles it', async () => {
      const buyer = await customer();
      const headers = { 'idempotency-key': `claimed-${buyer}` };
      const body = { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) };
      api.runtime.cards.sandbox!.injectFault({ count: 3, kind: 'unavailable' });
      assert.equal((await topUp(body, { headers })).statusCode, 503);
      const id = (await call('GET', `/v1/top_ups?customer=${buyer}`)).json().data[0].id as string;
      // It has waited 20 minutes: stale, by the reconciler's measure...
      await api.runtime.db.query(`UPDATE top_ups SET created_at = now() - interval '20 minutes', updated_at = now() - interval '20 minutes' WHERE id = $1`, [id]);
      // ...until a retry takes it over (as the retry below does first, before asking the processor).
      const taken = await claimProcessing(api.runtime.db, (await getTopUp(api.runtime.db, id))!);
      assert.ok(taken);
      await api.runtime.services.topUps.reconcileStale(100);
      assert.equal((await getTopUp(api.runtime.db, id))!.status, 'processing', 'the reconciler did not fail it under the retry');
      const retried = await topUp(body, { headers });
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().status, 'succeeded');
      assert.equal(await walletAvailable(buyer), 1000);
    });

    it('reconciles top-ups whose request died: settled from the processor, or failed when it never got them', async () => {
      const sandbox = api.runtime.cards.sandbox!;
      const lostAnswer = await customer();
      // Every attempt outlives the processor timeout, but the processor still authorizes the card.
      sandbox.injectFault({ count: 3, kind: 'delay', delayMs: SLOW_MS });
      assert.equal((await topUp({ customer: lostAnswer, amount: 1000, currency: 'USD', card: card(CARDS.success) })).statusCode, 503);
      const neverArrived = await customer();
      sandbox.injectFault({ count: 3, kind: 'unavailable' });
      assert.equal((await topUp({ customer: neverArrived, amount: 1000, currency: 'USD', card: card(CARDS.success) })).statusCode, 503);
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS));

      assert.equal(await api.runtime.services.topUps.reconcileStale(10, new Date(Date.now() - 60_000)), 0, 'recent ones are left to their request');
      assert.equal(await api.runtime.services.topUps.reconcileStale(10, new Date(Date.now() + 1000)), 2);
      const settled = (await call('GET', `/v1/top_ups?customer=${lostAnswer}`)).json().data[0];
      assert.equal(settled.status, 'succeeded');
      assert.equal(await walletAvailable(lostAnswer), 1000);
      const failed = (await call('GET', `/v1/top_ups?customer=${neverArrived}`)).json().data[0];
      assert.equal(failed.status, 'failed');
      assert.equal(failed.failure_code, 'processing_error');
      assert.equal(await walletAvailable(neverArrived), 0);
    });

    it("answers 404 for another merchant's top-ups, payment methods and customers", async () => {
      const buyer = await customer();
      const done = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) })).json();
      const waiting = (await topUp({ customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.challenge) })).json();
      const attempts: Array<['GET' | 'POST', string, unknown?]> = [
        ['GET', `/v1/top_ups/${done.id}`],
        ['POST', `/v1/top_ups/${waiting.id}/confirm`],
        ['GET', `/v1/payment_methods/${done.payment_method}`],
        ['POST', '/v1/top_ups', { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) }],
        ['POST', '/v1/top_ups', { customer: await customer(beta), amount: 1000, currency: 'USD', payment_method: done.payment_method }],
        ['POST', '/v1/payment_methods', { customer: buyer, card: card(CARDS.success) }],
      ];
      for (const [method, url, body] of attempts) {
        const response = await call(method, url, { key: beta.secretKey, body });
        assert.equal(response.statusCode, 404, `${method} ${url} → ${response.body}`);
        assert.equal(response.json().error.code, 'resource_missing');
      }
      for (const url of ['/v1/top_ups', `/v1/payment_methods?customer=${buyer}`]) {
        const response = await call('GET', url, { key: beta.secretKey });
        assert.ok(!response.body.includes(done.id) && !response.body.includes(done.payment_method), url);
      }
      // Test-mode objects are invisible to the live key of the same merchant.
      assert.equal((await call('GET', `/v1/top_ups/${done.id}`, { key: alpha.liveSecretKey })).statusCode, 404);
      assert.equal((await call('GET', `/v1/top_ups/${waiting.id}`)).json().status, 'requires_action');
    });

    it('lets a read-only key read but not top up or tokenise, and a publishable key tokenise only', async () => {
      const buyer = await customer();
      for (const [url, body] of [
        ['/v1/top_ups', { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) }],
        ['/v1/payment_methods', { customer: buyer, card: card(CARDS.success) }],
      ] as const) {
        const response = await call('POST', url, { key: alpha.readKey, body });
        assert.equal(response.statusCode, 403, response.body);
        assert.equal(response.json().error.code, 'api_key_scope_insufficient');
      }
      assert.equal((await call('GET', '/v1/top_ups', { key: alpha.readKey })).statusCode, 200);
      const publishable = await call('POST', '/v1/top_ups', { key: alpha.publishableKey, body: { customer: buyer, amount: 1000, currency: 'USD', card: card(CARDS.success) } });
      assert.equal(publishable.json().error.code, 'secret_key_required');
      assert.equal(await walletAvailable(buyer), 0);
    });

    it('pages through top-ups with a cursor, newest first', async () => {
      const buyer = await customer();
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) ids.push((await topUp({ customer: buyer, amount: 500 + i, currency: 'USD', card: card(CARDS.success) })).json().id);
      const first = (await call('GET', `/v1/top_ups?customer=${buyer}&limit=2`)).json();
      assert.equal(first.has_more, true);
      const second = (await call('GET', `/v1/top_ups?customer=${buyer}&limit=2&starting_after=${first.data[1].id}`)).json();
      assert.equal(second.has_more, false);
      assert.deepEqual([...first.data, ...second.data].map((item: { id: string }) => item.id), ids.reverse());
      const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      for (const path of ['/v1/top_ups', '/v1/top_ups/{id}', '/v1/top_ups/{id}/confirm', '/v1/payment_methods', '/v1/payment_methods/{id}']) {
        assert.ok(document.paths[path], path);
      }
    });

    it('never shows a card number or security code in a response or the logs', () => {
      const logger = api.runtime.logger;
      logger.info({ card: { number: CARDS.success, cvc: CVC }, request: { body: { card: { number: CARDS.success } } } }, 'redaction check');
      const logs = logLines.join('');
      assert.ok(logs.includes('redaction check') && logs.includes('[redacted]'), 'the logs were captured and card fields redacted');
      assert.ok(logs.includes('incoming request'), 'request logs were captured');
      assert.ok(bodies.length > 50);
      const everything = bodies.join('\n');
      for (const number of [...Object.values(CARDS), '4242424242424241']) {
        assert.ok(!everything.includes(number), `a response carried ${number}`);
        assert.ok(!logs.includes(number), `the logs carry ${number}`);
        assert.ok(!logs.includes(number.replace(/(\d{4})(?=\d)/g, '$1 ')), `the logs carry ${number} with spaces`);
      }
      assert.ok(!logs.includes(`"${CVC}"`) && !everything.includes(`"${CVC}"`));
    });
  });
}
