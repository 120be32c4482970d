// Name-based UUIDs (version 5): the RFC's own example, and names of any length hashed alike.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { nameBasedUuid } from './name-uuid.ts';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

/** Version 5 as RFC 9562 spells it, with a hasher object, to compare against. */
function reference(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

describe('name-based UUIDs', () => {
  const named = nameBasedUuid(DNS_NAMESPACE);

  it('gives the RFC 9562 example its UUID', () => {
    assert.equal(named('www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('names short, multi-byte and long names as the RFC does, one after another', () => {
    const names = ['', 'a', 'transfer:pay_1:charge', 'é'.repeat(600), 'x'.repeat(1024), 'y'.repeat(1025), '€'.repeat(2000), 'a'];
    for (const name of names) assert.equal(named(name), reference(DNS_NAMESPACE, name), `name of ${name.length} characters`);
  });
});
