// What a stored Idempotency-Key answer keeps of a body: its secrets redacted (src/api/http.ts,
// withoutSecrets), without copying what holds none and without touching the body it was given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutSecrets } from './http.ts';

describe('withoutSecrets', () => {
  it('redacts secret string fields at any depth and leaves the rest as it is', () => {
    const lineItems = [{ name: 'sword', amount: 100 }];
    const createdAt = new Date('2026-11-29T00:00:00Z');
    const body = {
      id: 'pay_1',
      client_secret: 'pay_1_secret_abc',
      line_items: lineItems,
      created: createdAt,
      endpoint: { url: 'https://example.com', secret: 'whsec_x', token: 7 },
      keys: [{ id: 'k1', secret: 'sk_test_y' }, { id: 'k2' }],
    };
    const stored = withoutSecrets(body, ['client_secret']) as typeof body;
    assert.deepEqual(stored, {
      id: 'pay_1',
      client_secret: '[redacted]',
      line_items: [{ name: 'sword', amount: 100 }],
      created: createdAt,
      endpoint: { url: 'https://example.com', secret: '[redacted]', token: 7 },
      keys: [{ id: 'k1', secret: '[redacted]' }, { id: 'k2' }],
    });
    // Copied only where something changed.
    assert.equal(stored.line_items, lineItems);
    assert.equal(stored.created, createdAt);
    assert.equal(stored.keys[1], body.keys[1]);
    // The body itself is untouched.
    assert.equal(body.client_secret, 'pay_1_secret_abc');
    assert.equal(body.endpoint.secret, 'whsec_x');
    assert.equal(body.keys[0]!.secret, 'sk_test_y');
  });

  it('gives back the very body when it holds no secret', () => {
    const body = { id: 'cus_1', list: [1, 2, { a: null }], nested: { deep: { value: 'x' } } };
    assert.equal(withoutSecrets(body), body);
    assert.equal(withoutSecrets(null), null);
    assert.equal(withoutSecrets('secret'), 'secret');
  });
});
