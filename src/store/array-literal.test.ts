import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { plainArrayLiteral, quotedArrayLiteral } from './array-literal.ts';

for (const kind of STORE_KINDS) {
  describe(`array literals on ${kind}`, () => {
    let store: TestStore;
    before(async () => {
      store = await createTestStore(kind);
    });
    after(() => store.drop());

    it('round-trips any text, including quotes, backslashes, braces, commas and the word NULL', async () => {
      const text = fc.string({ unit: 'grapheme' }).filter((value) => !value.includes('\u0000'));
      await fc.assert(
        fc.asyncProperty(fc.array(fc.option(fc.oneof(text, fc.constantFrom('NULL', '"', '\\', '{}', 'a,b', ' x '))), { maxLength: 20 }), async (values) => {
          const result = await store.db.query<{ value: string | null }>('SELECT unnest($1::text[]) AS value', [quotedArrayLiteral(values)]);
          assert.deepEqual(result.rows.map((row) => row.value), values);
        }),
        { numRuns: 60 },
      );
    });

    it('carries UUIDs, bigints and nulls', async () => {
      const values = ['00000000-0000-4000-8000-000000000001', null];
      const ids = await store.db.query<{ value: string | null }>('SELECT unnest($1::uuid[]) AS value', [plainArrayLiteral(values)]);
      assert.deepEqual(ids.rows.map((row) => row.value), values);
      const amounts = await store.db.query<{ value: bigint | null }>('SELECT unnest($1::int8[]) AS value', [plainArrayLiteral([9223372036854775807n, null, 1n])]);
      assert.deepEqual(amounts.rows.map((row) => row.value), [9223372036854775807n, null, 1n]);
      const empty = await store.db.query('SELECT unnest($1::int8[]) AS value', [plainArrayLiteral([])]);
      assert.equal(empty.rows.length, 0);
    });
  });
}
