// Receipt keys: derived from the vault's root key, which a master key rotation keeps, so the published key,
// old signatures and old URLs are unchanged across it, even once the old master key is gone; another root
// gives other keys. Generation 1 of the signing key and the URL key are fixed forever (golden values
// below): every receipt signed and every URL made before signing key rotation existed depends on them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CompactSign, compactVerify, createLocalJWKSet } from 'jose';
import { createKeyring } from '../vault/crypto.ts';
import { receiptSigningKeyOf, receiptUrlKeyOf } from './keys.ts';

const reference = { objectType: 'payment' as const, objectId: 'pay_1', merchantId: 'mer_1', livemode: false };

describe('receipt keys', () => {
  it('derive generation 1 and the URL key exactly as before rotation existed', () => {
    const root = Buffer.alloc(32, 7);
    assert.equal(receiptSigningKeyOf(root, 1).kid, 'Oms-me4JvFXhlATHXuQzcFBjlf0dOT9J3NrQONlJY6o');
    assert.equal(receiptUrlKeyOf(root).tokenOf(reference), 'rct_4RY9L8uiNmVXzbFYpLMB-GgfQswFTOPjIJZ8vf_CerJ_rBfzRgLsvxbsvz42PoF5gQ');
  });

  it('derive a different key for every generation, each with its thumbprint as kid', () => {
    const root = randomBytes(32);
    const kids = [1, 2, 3].map((generation) => receiptSigningKeyOf(root, generation).kid);
    assert.equal(new Set(kids).size, 3);
    const second = receiptSigningKeyOf(root, 2);
    assert.deepEqual(second.publicJwk, { kty: 'OKP', crv: 'Ed25519', x: second.publicJwk.x, kid: second.kid, alg: 'EdDSA', use: 'sig' });
    assert.throws(() => receiptSigningKeyOf(root, 0), /not a positive integer/);
  });
});

describe('receipt keys across a master key rotation', () => {
  const root = randomBytes(32);
  const v1 = randomBytes(32);
  const v2 = randomBytes(32);
  const before = createKeyring(new Map([[1, v1]]), 1, root);
  const during = createKeyring(new Map([[1, v1], [2, v2]]), 2, root);
  const after = createKeyring(new Map([[2, v2]]), 2, root);
  const signingOf = (keyring: typeof before) => receiptSigningKeyOf(keyring.root, 1);

  it('publishes the same key before, during and after the rotation', () => {
    assert.equal(signingOf(during).kid, signingOf(before).kid);
    assert.equal(signingOf(after).kid, signingOf(before).kid);
    assert.deepEqual(signingOf(after).publicJwk, signingOf(before).publicJwk);
  });

  it('a receipt signed before the rotation verifies with the JWKS published after it, and not with another root', async () => {
    const jws = await new CompactSign(new TextEncoder().encode('{"receipt":1}'))
      .setProtectedHeader({ alg: 'EdDSA', kid: signingOf(before).kid })
      .sign(signingOf(before).signingKey);
    const { payload } = await compactVerify(jws, createLocalJWKSet({ keys: [signingOf(after).publicJwk] }));
    assert.equal(new TextDecoder().decode(payload), '{"receipt":1}');
    const other = receiptSigningKeyOf(randomBytes(32), 1);
    await assert.rejects(compactVerify(jws, createLocalJWKSet({ keys: [other.publicJwk] })));
  });

  it('a URL made before the rotation opens after it; another root opens none', () => {
    const oldToken = receiptUrlKeyOf(before.root).tokenOf(reference);
    assert.deepEqual(receiptUrlKeyOf(after.root).open(oldToken), reference);
    assert.equal(receiptUrlKeyOf(randomBytes(32)).open(oldToken), null);
  });
});
