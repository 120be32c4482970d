import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { captureLogs } from '../../test/support/log-capture.ts';
import { loggableUrl } from './logger.ts';

describe('the request serializer', () => {
  it('leaves capability URL segments and secret query parameters out of logged URLs', async () => {
    const token = 'rct_AbC-123_xyzSECRETtoken';
    assert.equal(loggableUrl(`/receipts/${token}`), '/receipts/[redacted]');
    assert.equal(loggableUrl(`/receipts/${token}.pdf`), '/receipts/[redacted].pdf');
    assert.equal(loggableUrl(`/receipts/${token}.json?download=1`), '/receipts/[redacted].json?download=1');
    assert.equal(loggableUrl('/receipts/%72ct_encoded'), '/receipts/[redacted]');
    assert.equal(loggableUrl('/v1/checkout/payments/pay_1?client_secret=pay_1_secret_x&a=b'), '/v1/checkout/payments/pay_1?client_secret=[redacted]&a=b');
    assert.equal(loggableUrl('/v1/payments/pay_1'), '/v1/payments/pay_1');

    // As Fastify logs a request (its "incoming request" and "request completed" lines).
    const captured = captureLogs();
    const app = Fastify({ loggerInstance: captured.logger as FastifyBaseLogger });
    app.get('/receipts/:token', async () => ({ ok: true }));
    try {
      for (const url of [`/receipts/${token}`, `/receipts/${token}.json`, `/receipts/${token}.pdf`]) {
        const response = await app.inject({ method: 'GET', url });
        assert.equal(response.statusCode, 200);
      }
    } finally {
      await app.close();
    }
    const logged = captured.lines.join('');
    assert.match(logged, /\/receipts\/\[redacted\]\.pdf/);
    assert.ok(!logged.includes('SECRETtoken'), logged);
  });
});
