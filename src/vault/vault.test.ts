import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { brandOf, checkCard, luhnValid } from './card.ts';
import { createKeyring, fingerprint, seal, unseal, VaultIntegrityError, type Keyring } from './crypto.ts';
import { loadMasterKey, VAULT_MASTER_KEY_FILE } from './master-key.ts';
import { createCardVault } from './service.ts';

const VISA = '4242424242424242';
const keyringOf = (key: Buffer = randomBytes(32)): Keyring => createKeyring(new Map([[1, key]]), 1);
const nextYear = new Date().getUTCFullYear() + 1;

describe('card checks', () => {
  it('accepts valid numbers, ignoring spaces and dashes, and names the brand', () => {
    for (const [number, brand] of [
      [VISA, 'visa'],
      ['4242 4242 4242 4242', 'visa'],
      ['5555-5555-5555-4444', 'mastercard'],
      ['2223003122003222', 'mastercard'],
      ['378282246310005', 'amex'],
      ['6011111111111117', 'discover'],
      ['3566002020360505', 'jcb'],
      ['36227206271667', 'diners'],
      ['6200000000000005', 'unionpay'],
    ] as const) {
      const result = checkCard({ number, expMonth: 12, expYear: nextYear });
      assert.ok(result.ok, number);
      assert.equal(result.card.brand, brand, number);
      assert.equal(result.card.last4, number.replace(/\D/g, '').slice(-4));
    }
    assert.equal(brandOf('9999999999999995'), 'unknown');
  });

  it('refuses a wrong check digit, a wrong length and letters, without echoing the number', () => {
    assert.equal(luhnValid('4242424242424241'), false);
    for (const number of ['4242424242424241', '42424242', '4242424242424242424242', '4242x42424242424']) {
      const result = checkCard({ number, expMonth: 12, expYear: nextYear });
      assert.ok(!result.ok);
      assert.equal(result.code, 'card_number_invalid');
      assert.equal(result.param, 'card.number');
      assert.ok(!result.message.includes(number));
    }
  });

  it('refuses an expired card, accepts one expiring this month, reads two-digit years', () => {
    const now = new Date(Date.UTC(2030, 5, 15));
    const expired = checkCard({ number: VISA, expMonth: 5, expYear: 2030 }, now);
    assert.ok(!expired.ok);
    assert.equal(expired.code, 'card_expired');
    assert.ok(checkCard({ number: VISA, expMonth: 6, expYear: 2030 }, now).ok);
    const short = checkCard({ number: VISA, expMonth: 1, expYear: 31 }, now);
    assert.ok(short.ok);
    assert.equal(short.card.expYear, 2031);
    const far = checkCard({ number: VISA, expMonth: 1, expYear: 2060 }, now);
    assert.ok(!far.ok);
    assert.equal(far.code, 'card_expiry_invalid');
  });

  it('checks the security code length by brand', () => {
    assert.ok(checkCard({ number: VISA, expMonth: 12, expYear: nextYear, cvc: '123' }).ok);
    const visa4 = checkCard({ number: VISA, expMonth: 12, expYear: nextYear, cvc: '1234' });
    assert.ok(!visa4.ok);
    assert.equal(visa4.code, 'card_cvc_invalid');
    assert.ok(checkCard({ number: '378282246310005', expMonth: 12, expYear: nextYear, cvc: '1234' }).ok);
    assert.ok(!checkCard({ number: '378282246310005', expMonth: 12, expYear: nextYear, cvc: '123' }).ok);
  });
});

describe('envelope encryption', () => {
  it('round-trips, and each seal uses a fresh data key and nonce', () => {
    const keyring = keyringOf();
    const plaintext = Buffer.from(`{"number":"${VISA}"}`);
    const first = seal(keyring, plaintext, 'card_a|m:test');
    const second = seal(keyring, plaintext, 'card_a|m:test');
    assert.equal(first.keyVersion, 1);
    assert.notDeepEqual(first.ciphertext, second.ciphertext);
    assert.notDeepEqual(first.wrappedKey, second.wrappedKey);
    assert.ok(!first.ciphertext.toString('latin1').includes(VISA));
    assert.deepEqual(unseal(keyring, first, 'card_a|m:test'), plaintext);
  });

  it('detects tampering: any flipped bit, a record moved to another token, another master key, an unknown version', () => {
    const keyring = keyringOf();
    const sealed = seal(keyring, Buffer.from(VISA), 'card_a|m:test');
    for (const field of ['ciphertext', 'wrappedKey'] as const) {
      for (const index of [0, 13, sealed[field].length - 1]) {
        const altered = Buffer.from(sealed[field]);
        altered[index]! ^= 0x01;
        assert.throws(() => unseal(keyring, { ...sealed, [field]: altered }, 'card_a|m:test'), VaultIntegrityError, `${field}[${index}]`);
      }
    }
    assert.throws(() => unseal(keyring, { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }, 'card_a|m:test'), VaultIntegrityError);
    assert.throws(() => unseal(keyring, sealed, 'card_b|m:test'), VaultIntegrityError);
    assert.throws(() => unseal(keyringOf(), sealed, 'card_a|m:test'), VaultIntegrityError);
    assert.throws(() => unseal(keyring, { ...sealed, keyVersion: 2 }, 'card_a|m:test'), VaultIntegrityError);
  });

  it('opens records of an older key version kept in the keyring', () => {
    const old = randomBytes(32);
    const sealed = seal(keyringOf(old), Buffer.from(VISA), 'ctx');
    const rotated = createKeyring(new Map([[1, old], [2, randomBytes(32)]]), 2);
    assert.equal(unseal(rotated, sealed, 'ctx').toString(), VISA);
    assert.equal(seal(rotated, Buffer.from(VISA), 'ctx').keyVersion, 2);
  });

  it('fingerprints: equal for one number and scope, different across numbers, scopes and keys', () => {
    const keyring = keyringOf();
    const a = fingerprint(keyring, 'mer_1:test', VISA);
    assert.equal(a, fingerprint(keyring, 'mer_1:test', VISA));
    assert.equal(a.length, 16);
    assert.notEqual(a, fingerprint(keyring, 'mer_1:test', '4000000000000002'));
    assert.notEqual(a, fingerprint(keyring, 'mer_2:test', VISA));
    assert.notEqual(a, fingerprint(keyringOf(), 'mer_1:test', VISA));
  });
});

describe('the master key', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'micropay-vault-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is generated once in development into a 0600 file and reused', () => {
    const first = loadMasterKey({ configured: undefined, mode: 'development', dataDir });
    const path = join(dataDir, VAULT_MASTER_KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(first.length, 32);
    assert.deepEqual(loadMasterKey({ configured: undefined, mode: 'development', dataDir }), first);
    assert.equal(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').length, 32);
  });

  it('comes from configuration when set, is required in production, and a damaged file stops the start', () => {
    const configured = randomBytes(32);
    assert.deepEqual(loadMasterKey({ configured, mode: 'production', dataDir: '/nonexistent' }), configured);
    assert.throws(() => loadMasterKey({ configured: undefined, mode: 'production', dataDir }), /required in production/);
    const damaged = mkdtempSync(join(tmpdir(), 'micropay-vault-'));
    writeFileSync(join(damaged, VAULT_MASTER_KEY_FILE), 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadMasterKey({ configured: undefined, mode: 'development', dataDir: damaged }), /does not hold a base64 key/);
    rmSync(damaged, { recursive: true, force: true });
  });
});

for (const kind of STORE_KINDS) {
  describe(`the card vault on ${kind}`, () => {
    let store: TestStore;
    let merchantId: string;
    const keyring = keyringOf();

    before(async () => {
      store = await createTestStore(kind);
      merchantId = `mer_vault${kind}`;
      await store.db.query(`INSERT INTO merchants (id, name) VALUES ($1, 'Vault test')`, [merchantId]);
    });
    after(() => store.drop());

    it('stores only ciphertext and reveals the card to its own scope only', async () => {
      const vault = createCardVault({ db: store.db, keyring });
      const checked = checkCard({ number: VISA, expMonth: 12, expYear: nextYear, cvc: '123' });
      assert.ok(checked.ok);
      const scope = { merchantId, livemode: false };
      const tokenized = await vault.tokenize(scope, checked.card, 'card_roundtrip');
      assert.deepEqual(
        { brand: tokenized.brand, last4: tokenized.last4, expMonth: tokenized.expMonth, expYear: tokenized.expYear },
        { brand: 'visa', last4: '4242', expMonth: 12, expYear: nextYear },
      );
      const { rows } = await store.db.query<Record<string, unknown>>(`SELECT * FROM vault_cards WHERE id = 'card_roundtrip'`);
      const raw = JSON.stringify(rows, (_key, value) => (value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : typeof value === 'bigint' ? String(value) : value));
      assert.ok(!raw.includes(VISA), 'no clear number in the row');
      assert.ok(!raw.includes('"123"'), 'no security code in the row');
      assert.equal(rows[0]!.key_version, 1);

      assert.deepEqual(await vault.reveal(scope, 'card_roundtrip'), { number: VISA, expMonth: 12, expYear: nextYear });
      assert.equal(await vault.reveal({ merchantId, livemode: true }, 'card_roundtrip'), null);
      assert.equal(await vault.reveal({ merchantId: 'mer_other', livemode: false }, 'card_roundtrip'), null);
      assert.equal(await vault.reveal(scope, 'card_absent'), null);
    });

    it('detects a record altered in the database', async () => {
      const vault = createCardVault({ db: store.db, keyring });
      const checked = checkCard({ number: VISA, expMonth: 12, expYear: nextYear });
      assert.ok(checked.ok);
      const scope = { merchantId, livemode: false };
      await vault.tokenize(scope, checked.card, 'card_tampered');
      await vault.tokenize(scope, checked.card, 'card_neighbour');
      await store.db.query(
        // Flip every bit of one byte (overwriting it with a constant left it unchanged 1 time in 256).
        `UPDATE vault_cards SET ciphertext = set_byte(ciphertext, 19, get_byte(ciphertext, 19) # 255) WHERE id = 'card_tampered'`,
      );
      await assert.rejects(vault.reveal(scope, 'card_tampered'), VaultIntegrityError);
      // A ciphertext copied from another record does not open under this token either.
      await store.db.query(
        `UPDATE vault_cards SET ciphertext = n.ciphertext, wrapped_key = n.wrapped_key FROM vault_cards n
         WHERE vault_cards.id = 'card_tampered' AND n.id = 'card_neighbour'`,
      );
      await assert.rejects(vault.reveal(scope, 'card_tampered'), VaultIntegrityError);
      assert.equal((await vault.reveal(scope, 'card_neighbour'))?.number, VISA);
    });
  });
}
