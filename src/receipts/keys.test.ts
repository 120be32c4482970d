// Receipt keys across a master key rotation: they derive from the vault's root key, which a rotation
// keeps, so the published key, old signatures and old URLs are unchanged, even once the old master key
// is gone; another root gives other keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CompactSign, compactVerify, createLocalJWKSet } from 'jose';
import { createKeyring } from '../vault/crypto.ts';
import { receiptKeysOf } from './keys.ts';

const reference = { objectType: 'payment' as const, objectId: 'pay_1', merchantId: 'mer_1', livemode: false };

describe('receipt keys across a master key rotation', () => {
  const root = randomBytes(32);
  const v1 = randomBytes(32);
  const v2 = randomBytes(32);
  const before = receiptKeysOf(createKeyring(new Map([[1, v1]]), 1, root));
  const during = receiptKeysOf(createKeyring(new Map([[1, v1], [2, v2]]), 2, root));
  const after = receiptKeysOf(createKeyring(new Map([[2, v2]]), 2, root));

  it('publishes the same key before, during and after the rotation', () => {
    assert.deepEqual([before.length, during.length, after.length], [1, 1, 1]);
    assert.equal(during[0]!.kid, before[0]!.kid);
    assert.equal(after[0]!.kid, before[0]!.kid);
    assert.deepEqual(after[0]!.publicJwk, before[0]!.publicJwk);
  });

  it('a receipt signed before the rotation verifies with the JWKS published after it, and not with another root', async () => {
    const jws = await new CompactSign(new TextEncoder().encode('{"receipt":1}'))
      .setProtectedHeader({ alg: 'EdDSA', kid: before[0]!.kid })
      .sign(before[0]!.signingKey);
    const { payload } = await compactVerify(jws, createLocalJWKSet({ keys: after.map((keys) => keys.publicJwk) }));
    assert.equal(new TextDecoder().decode(payload), '{"receipt":1}');
    const other = receiptKeysOf(createKeyring(new Map([[2, v2]]), 2, randomBytes(32)));
    await assert.rejects(compactVerify(jws, createLocalJWKSet({ keys: [other[0]!.publicJwk] })));
  });

  it('a URL made before the rotation opens after it; another root opens none', () => {
    const oldToken = before[0]!.tokenOf(reference);
    assert.deepEqual(after[0]!.open(oldToken), reference);
    const other = receiptKeysOf(createKeyring(new Map([[2, v2]]), 2, randomBytes(32)));
    assert.equal(other[0]!.open(oldToken), null);
  });
});
