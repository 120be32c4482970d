import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { v5 as uuidv5 } from 'uuid';
import { LEDGER_NAMESPACE, isId, ledgerId, newId, randomBase62 } from './ids.ts';
import { expiryIdFor } from '../ledger/service.ts';

test('ledgerId is the RFC 9562 version 5 UUID of the name in the ledger namespace', () => {
  // Checked against the uuid package's implementation, over ASCII and any Unicode names.
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary', maxLength: 300 })), (name) => {
      assert.equal(ledgerId(name), uuidv5(name, LEDGER_NAMESPACE));
    }),
    { numRuns: 2_000 },
  );
  assert.equal(ledgerId('pay_x:charge'), uuidv5('pay_x:charge', LEDGER_NAMESPACE));
  // A hold's expiry id, in the expiry namespace, as stored by earlier releases.
  assert.equal(expiryIdFor('0b8a6f2e-3c1d-4e5f-9a7b-6c5d4e3f2a10'), uuidv5('0b8a6f2e-3c1d-4e5f-9a7b-6c5d4e3f2a10', '6f1c2d0e-8b1a-4c59-9f3e-2a7d5e4b9c01'));
  assert.match(ledgerId('account:wallet:buy_1:test:USD'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('randomBase62 gives enough digits for the bits asked, every digit equally likely', () => {
  assert.equal(randomBase62(16).length, 22);
  assert.equal(randomBase62(8).length, 11);
  const counts = new Map<string, number>();
  const draws = 20_000;
  for (let i = 0; i < draws; i += 1) {
    const text = randomBase62(16);
    assert.match(text, /^[0-9A-Za-z]{22}$/);
    for (const digit of text) counts.set(digit, (counts.get(digit) ?? 0) + 1);
  }
  // 440,000 digits over 62 values: about 7,097 each (standard deviation about 84). A modulo bias (256 %
  // 62 = 8 values drawn 5 times in 256 instead of 4) would put those 8 about 20% above the others;
  // ±8% is more than 6 standard deviations of chance.
  assert.equal(counts.size, 62);
  const expected = (draws * 22) / 62;
  for (const [digit, count] of counts) assert.ok(Math.abs(count - expected) < expected * 0.08, `${digit}: ${count} against ${expected}`);
  const ids = new Set(Array.from({ length: 10_000 }, () => newId('pay')));
  assert.equal(ids.size, 10_000);
  for (const id of [...ids].slice(0, 100)) assert.ok(isId(id, 'pay'));
});
