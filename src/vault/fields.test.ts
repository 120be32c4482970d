import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKeyring, VaultIntegrityError } from './crypto.ts';
import { createFieldSealer } from './fields.ts';

describe('sealed fields', () => {
  const sealer = createFieldSealer(createKeyring(new Map([[1, randomBytes(32)]]), 1));

  it('round-trips a value, with a fresh ciphertext each time', () => {
    const first = sealer.seal('DE89370400440532013000', 'payout_bank_account|mer_1|test');
    const second = sealer.seal('DE89370400440532013000', 'payout_bank_account|mer_1|test');
    assert.match(first, /^sealed:v1:1:/);
    assert.notEqual(first, second);
    assert.ok(!first.includes('0532013000'));
    assert.equal(sealer.unseal(first, 'payout_bank_account|mer_1|test'), 'DE89370400440532013000');
  });

  it('refuses a value moved to another record, altered, or sealed under another master key', () => {
    const sealed = sealer.seal('000123456789', 'payout_bank_account|mer_1|test');
    assert.throws(() => sealer.unseal(sealed, 'payout_bank_account|mer_2|test'), VaultIntegrityError);
    const altered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    assert.throws(() => sealer.unseal(altered, 'payout_bank_account|mer_1|test'), VaultIntegrityError);
    const other = createFieldSealer(createKeyring(new Map([[1, randomBytes(32)]]), 1));
    assert.throws(() => other.unseal(sealed, 'payout_bank_account|mer_1|test'), VaultIntegrityError);
  });

  it('reads a value stored before sealing as it is', () => {
    assert.equal(sealer.unseal('000123456789', 'payout_bank_account|mer_1|test'), '000123456789');
  });
});
