import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTestStore, type TestStore } from '../../test/support/stores.ts';
import { int2Array, int4Array, int8Array, textArray, uuidArray } from './binary-array.ts';

// Binary parameters are PostgreSQL's (through pg); PGlite takes the text literals of array-literal.ts.
describe('binary arrays on postgres', () => {
  let store: TestStore;
  before(async () => {
    store = await createTestStore('postgres');
  });
  after(() => store.drop());

  const unnest = async <T>(type: string, param: Buffer): Promise<T[]> =>
    (await store.db.query<{ value: T }>(`SELECT unnest($1::${type}) AS value`, [param])).rows.map((row) => row.value);

  it('the client says it sends Buffers as binary values', () => {
    assert.equal(store.db.binaryArrays, true);
  });

  it('round-trips UUIDs of either case, and nulls', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.uuid()), { maxLength: 30 }), fc.boolean(), async (values, upper) => {
        const sent = values.map((value) => (value === null || !upper ? value : value.toUpperCase()));
        assert.deepEqual(await unnest('uuid[]', uuidArray(sent)), values);
      }),
      { numRuns: 40 },
    );
  });

  it('round-trips int8, int4 and int2 at their limits, and nulls', async () => {
    const int8 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(int8), { maxLength: 30 }), async (values) => {
        assert.deepEqual(await unnest('int8[]', int8Array(values)), values);
      }),
      { numRuns: 40 },
    );
    assert.deepEqual(await unnest('int8[]', int8Array([1, null, Number.MAX_SAFE_INTEGER])), [1n, null, BigInt(Number.MAX_SAFE_INTEGER)]);
    assert.deepEqual(await unnest('int4[]', int4Array([-(2 ** 31), 0, null, 2 ** 31 - 1])), [-(2 ** 31), 0, null, 2 ** 31 - 1]);
    assert.deepEqual(await unnest('int2[]', int2Array([-32768, null, 32767])), [-32768, null, 32767]);
    assert.throws(() => int4Array([2 ** 31]), RangeError);
    assert.throws(() => int8Array([2n ** 63n]), RangeError);
  });

  it('round-trips any text (quotes, braces, the word NULL, any plane), and nulls', async () => {
    const text = fc.string({ unit: 'grapheme' }).filter((value) => !value.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.oneof(text, fc.constantFrom('NULL', '"', '\\', '{}', 'a,b', ' x ', '€ 🎮'))), { maxLength: 20 }), async (values) => {
        assert.deepEqual(await unnest('text[]', textArray(values)), values);
      }),
      { numRuns: 40 },
    );
  });

  it('sends empty arrays, and refuses what is not a UUID before it reaches the server', async () => {
    assert.deepEqual(await unnest('uuid[]', uuidArray([])), []);
    assert.deepEqual(await unnest('text[]', textArray([])), []);
    for (const bad of ['', 'not-a-uuid', '00000000-0000-4000-8000-00000000000g', '00000000_0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000011']) {
      assert.throws(() => uuidArray([bad]), TypeError, bad);
    }
  });

  it('is refused by the server as another element type (the header names the type)', async () => {
    await assert.rejects(store.db.query('SELECT unnest($1::uuid[])', [int8Array([1n])]), /element type/);
  });
});
