// Property-based request fuzzing: random methods, paths from the OpenAPI document, query strings,
// headers and JSON bodies, sent with every kind of key. Whatever arrives, the answer is never a 5xx,
// and every error has the documented shape.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';

const RUNS = Number(process.env.API_FUZZ_RUNS ?? 300);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e300, Number.MAX_SAFE_INTEGER),
    fc.string(),
    fc.constantFrom('USD', 'KRW', 'usd', '', 'x'.repeat(300), '\u0000', '__proto__', 'cus_1', 'pay_1'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('amount', 'currency', 'customer', 'line_items', 'metadata', 'type', 'scope', 'url', 'name', 'email', 'quantity', 'unit_amount', 'category', 'confirm', 'capture_method', '__proto__', 'constructor', 'x'), tie('value'), { maxKeys: 6 }),
  ),
})).value;

for (const kind of STORE_KINDS) {
  describe(`request fuzzing on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    let operations: Array<{ method: string; path: string }>;
    let ids: string[];
    let validBodies: Array<Record<string, unknown>>;

    before(async () => {
      api = await startTestApi(kind);
      merchant = await api.createMerchant({ feeBps: 100 });
      const customer = (await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} })).json().id;
      await api.fundWallet(merchant, customer, 10_000n, 'USD');
      const payment = (await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount: 100, currency: 'USD' } })).json().id;
      ids = [customer, payment, merchant.id, 'cus_missing', 'x'.repeat(70), '\u0000', 'cus_\u0000', '..%2F..', ''];
      const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
      validBodies = [
        { customer, amount: 100, currency: 'USD' },
        { customer, amount: 100, currency: 'USD', confirm: true, line_items: [{ description: 'Coin', category: 'virtual_good', unit_amount: 50, quantity: 2 }] },
        { customer, amount: 100, currency: 'USD', capture_method: 'manual', confirm: true },
        { name: 'n', email: 'a@b.c' },
        { type: 'secret', scope: 'read' },
        { amount_to_capture: 10 },
      ];
    });
    after(() => api.close());

    it('never answers 5xx, and errors have the documented shape', async () => {
      const request = fc.record({
        // Mostly the documented method of the path, sometimes any method.
        method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), { freq: 5 }),
        operationIndex: fc.nat(),
        // A valid body with one field replaced by anything, or an arbitrary value.
        mutation: fc.option(fc.record({ bodyIndex: fc.nat(), field: fc.constantFrom('amount', 'currency', 'customer', 'line_items', 'metadata', 'capture_method', 'extra'), value: jsonValue })),
        idIndex: fc.nat(),
        query: fc.option(fc.dictionary(fc.constantFrom('limit', 'starting_after', 'customer', 'status', 'type', 'x'), fc.string({ maxLength: 20 }), { maxKeys: 3 })),
        key: fc.constantFrom('secret', 'read', 'publishable', 'live', 'operator', 'none', 'garbage'),
        body: fc.option(jsonValue),
        idempotencyKey: fc.option(fc.string({ maxLength: 20 })),
        contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      });
      await fc.assert(
        fc.asyncProperty(request, async (sample) => {
          const operation = operations[sample.operationIndex % operations.length]!;
          const template = operation.path;
          const method = sample.method ?? operation.method;
          const body = sample.mutation
            ? { ...validBodies[sample.mutation.bodyIndex % validBodies.length], [sample.mutation.field]: sample.mutation.value }
            : sample.body;
          const path = template.replace(/\{[^}]+\}/g, () => encodeURIComponent(ids[sample.idIndex % ids.length]!));
          const query = sample.query ? `?${new URLSearchParams(sample.query).toString()}` : '';
          const keys: Record<string, string | undefined> = {
            secret: merchant.secretKey,
            read: merchant.readKey,
            publishable: merchant.publishableKey,
            live: merchant.liveSecretKey,
            operator: api.operatorKey,
            none: undefined,
            garbage: 'sk_test_garbage',
          };
          const key = keys[sample.key];
          const headers: Record<string, string> = { 'content-type': sample.contentType };
          if (key) headers.authorization = `Bearer ${key}`;
          if (sample.idempotencyKey !== null) headers['idempotency-key'] = sample.idempotencyKey;
          const hasBody = body !== null && method !== 'GET';
          const response = await api.app.inject({
            method: method as 'GET',
            url: path + query,
            headers,
            ...(hasBody ? { payload: JSON.stringify(body) } : {}),
          });
          if (process.env.API_FUZZ_TRACE) process.stderr.write(`${response.statusCode} ${method} ${template}\n`);
          assert.ok(response.statusCode < 500, `${method} ${path}${query} ${JSON.stringify(body)} → ${response.statusCode} ${response.body}`);
          if (response.statusCode >= 400 && path.startsWith('/v1/')) {
            const error = response.json().error;
            assert.equal(typeof error.code, 'string');
            assert.equal(typeof error.message, 'string');
            assert.match(error.request_id, /^req_/);
          }
        }),
        { numRuns: RUNS, seed: Number(process.env.API_FUZZ_SEED ?? 20261128) },
      );
      const report = await api.runtime.ledger.verify();
      assert.equal(report.ok, true);
    });
  });
}
