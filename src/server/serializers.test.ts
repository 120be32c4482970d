import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fastJsonStringify from 'fast-json-stringify';
import { buildSerializerFactory, reachableSchemas } from './serializers.ts';

const SHARED = {
  Money: { $id: 'Money', type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' } }, required: ['amount', 'currency'] },
  Line: { $id: 'Line', type: 'object', properties: { label: { type: 'string' }, price: { $ref: 'Money#' } } },
  Order: {
    $id: 'Order',
    type: 'object',
    properties: { id: { type: 'string' }, lines: { type: 'array', items: { $ref: 'Line#' } }, total: { $ref: 'Money#' } },
    required: ['id'],
  },
  Unrelated: { $id: 'Unrelated', type: 'object', properties: { x: { type: 'string' } } },
};

const RESPONSE = {
  type: 'object',
  properties: { order: { $ref: 'Order#' }, note: { type: 'string' }, amount: { $ref: 'Money#/properties/amount' }, self: { $ref: '#/properties/note' } },
};

describe('response serializers', () => {
  it('compile with the shared schemas a schema reaches through $ref, transitively, and no others', () => {
    assert.deepEqual(Object.keys(reachableSchemas(RESPONSE, SHARED)).sort(), ['Line', 'Money', 'Order']);
    assert.deepEqual(Object.keys(reachableSchemas({ type: 'string' }, SHARED)), []);
  });

  it('write what the default compiler writes, unknown properties left out', () => {
    const ours = buildSerializerFactory(SHARED, {})({ schema: RESPONSE });
    // Fastify's default: every shared schema given to every compile.
    const theirs = fastJsonStringify(RESPONSE as never, { schema: SHARED as never });
    const data = {
      order: { id: 'ord_1', lines: [{ label: 'coins', price: { amount: 100, currency: 'USD', secret: 'x' } }], total: { amount: 100, currency: 'USD' }, extra: true },
      note: 'thanks',
      amount: 7,
      internal: 'never shown',
    };
    assert.equal(ours(data), theirs(data));
    assert.ok(!ours(data).includes('never shown') && !ours(data).includes('secret'));
  });

  it('are compiled once per process for the same schema and shared schemas, whichever instance asks', () => {
    const first = buildSerializerFactory(SHARED, {})({ schema: RESPONSE });
    const second = buildSerializerFactory(structuredClone(SHARED), {})({ schema: structuredClone(RESPONSE) });
    assert.equal(first, second);
    const otherShared = { ...SHARED, Money: { ...SHARED.Money, properties: { amount: { type: 'string' }, currency: { type: 'string' } } } };
    assert.notEqual(buildSerializerFactory(otherShared, {})({ schema: RESPONSE }), first, 'a different shared schema is another serializer');
  });
});
