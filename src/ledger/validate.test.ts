// Static checks that need no database.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUuid, UUID_PATTERN } from './validate.ts';

describe('ledger static checks', () => {
  it('isUuid agrees with the UUID pattern on UUIDs and on near misses', () => {
    const alphabet = '0123456789abcdefABCDEFg-';
    const nearMiss = fc
      .tuple(fc.uuid(), fc.nat(35), fc.constantFrom(...alphabet))
      .map(([uuid, index, character]) => uuid.slice(0, index) + character + uuid.slice(index + 1));
    fc.assert(
      fc.property(fc.oneof(fc.uuid(), nearMiss, fc.string({ maxLength: 40 })), (value) => {
        assert.equal(isUuid(value), UUID_PATTERN.test(value), value);
      }),
      { numRuns: 5_000 },
    );
    assert.equal(isUuid(randomUUID()), true);
    for (const value of [undefined, null, 42, `${randomUUID()} `, randomUUID().toUpperCase()]) assert.equal(isUuid(value), false, String(value));
  });
});
