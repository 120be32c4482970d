// What the SDK retries and what it does not, against a scripted sender (the answers a server or a
// broken network would give), and that every attempt of one call carries the same Idempotency-Key.
// These rules do not depend on the store; the live-server tests in client.test.ts run on both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Micropay, MicropayError } from './index.ts';
import { retryDelayMs, RETRY_DEFAULTS } from './retry.ts';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const apiError = (status: number, code: string, type = 'api_error') => json(status, { error: { type, code, message: code, request_id: 'req_test' } });
const customer = { id: 'cus_1', object: 'customer', livemode: false, email: null, name: null, metadata: {}, created: 1 };

/** A client whose sender answers from `script` in order and records each attempt's key. */
function scripted(script: Array<Response | Error | 'hang'>, options: { maxRetries?: number; timeoutMs?: number } = {}) {
  const keys: Array<string | null> = [];
  const micropay = new Micropay({
    apiKey: 'sk_test_x',
    baseUrl: 'http://127.0.0.1:9',
    retryDelayMs: 1,
    retryDelayMsMax: 5,
    ...options,
    fetch: async (request) => {
      keys.push(request.headers.get('idempotency-key'));
      const next = script.shift();
      if (next === undefined) throw new Error('the script ran out');
      if (next === 'hang') {
        return new Promise<Response>((_resolve, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
      }
      if (next instanceof Error) throw next;
      return next;
    },
  });
  return { micropay, keys };
}

describe('SDK retries', () => {
  it('retries 503, 429, 409 idempotency_key_in_use and network failures with one key', async () => {
    const { micropay, keys } = scripted([
      apiError(503, 'service_overloaded'),
      new TypeError('fetch failed'),
      apiError(409, 'idempotency_key_in_use', 'idempotency_error'),
      json(429, {}),
      json(200, customer),
    ], { maxRetries: 4 });
    assert.deepEqual(await micropay.customers.create(), customer);
    assert.equal(keys.length, 5);
    assert.equal(new Set(keys).size, 1);
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
  });

  it('does not retry other errors, and a GET carries no Idempotency-Key', async () => {
    for (const [status, code] of [[409, 'concurrent_modification'], [402, 'insufficient_funds'], [400, 'parameter_invalid'], [500, 'internal_error']] as const) {
      const { micropay, keys } = scripted([apiError(status, code), json(200, customer)]);
      await assert.rejects(micropay.customers.create(), (error: unknown) => error instanceof MicropayError && error.code === code && error.status === status);
      assert.equal(keys.length, 1);
    }
    const { micropay, keys } = scripted([json(200, customer)]);
    await micropay.customers.retrieve('cus_1');
    assert.deepEqual(keys, [null]);
  });

  it('stops after maxRetries and reports the last answer', async () => {
    const { micropay, keys } = scripted([apiError(503, 'service_overloaded'), apiError(503, 'service_overloaded'), apiError(503, 'service_overloaded')], { maxRetries: 1 });
    await assert.rejects(micropay.customers.create(), (error: unknown) => error instanceof MicropayError && error.code === 'service_overloaded' && error.status === 503);
    assert.equal(keys.length, 2);
    assert.throws(() => new Micropay({ apiKey: 'x', maxRetries: 1000 }), RangeError);
  });

  it('abandons an attempt after timeoutMs and retries it', async () => {
    const { micropay, keys } = scripted(['hang', json(200, customer)], { timeoutMs: 20 });
    assert.deepEqual(await micropay.customers.create(), customer);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);
  });

  it("stops at once when the caller's signal aborts", async () => {
    const { micropay, keys } = scripted(['hang', json(200, customer)]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('caller gave up')), 10);
    await assert.rejects(micropay.customers.create({}, { signal: controller.signal }), /caller gave up/);
    assert.equal(keys.length, 1);
  });

  it('turns a body that is not ours into response_invalid', async () => {
    const { micropay } = scripted([new Response('<html>Bad gateway</html>', { status: 502 })]);
    await assert.rejects(micropay.customers.create(), (error: unknown) => error instanceof MicropayError && error.code === 'response_invalid' && error.status === 502);
  });

  it('backs off exponentially within bounds, and honours a longer Retry-After', () => {
    for (let retry = 0; retry < 12; retry += 1) {
      const expected = Math.min(RETRY_DEFAULTS.delayMsMax, RETRY_DEFAULTS.delayMsFirst * 2 ** retry);
      const delay = retryDelayMs(RETRY_DEFAULTS, retry);
      assert.ok(delay >= expected / 2 && delay <= expected, `retry ${retry}: ${delay}`);
    }
    assert.equal(retryDelayMs(RETRY_DEFAULTS, 0, '2'), 2000);
    assert.equal(retryDelayMs(RETRY_DEFAULTS, 0, '3600'), RETRY_DEFAULTS.delayMsMax);
  });
});
