// Rotating the receipt signing key end to end, on both stores: a new generation is published ahead of
// signing, then signs; receipts signed by every generation still published verify against the JWKS;
// retiring a replaced generation removes it (its receipts stop verifying), and the signing one cannot
// be retired; `micropay receipt keys|rotate-key|retire-key` (a real child process) does the same.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { retireSigningKey, rotateSigningKey, signingGeneration, SigningKeyError, type SigningKeyGeneration } from './signing-keys.ts';

const BIN = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
const run = promisify(execFile);

describe('the signing generation', () => {
  const at = (iso: string) => new Date(iso);
  const generation = (number: number, signsFrom: string, retiredAt: string | null = null): SigningKeyGeneration => ({
    generation: number,
    createdAt: at('2026-01-01T00:00:00Z'),
    signsFrom: at(signsFrom),
    retiredAt: retiredAt ? at(retiredAt) : null,
  });

  it('is the newest published generation whose time has come', () => {
    const now = at('2026-06-01T00:00:00Z');
    const one = generation(1, '1970-01-01T00:00:00Z');
    assert.equal(signingGeneration([one], now)?.generation, 1);
    assert.equal(signingGeneration([one, generation(2, '2026-07-01T00:00:00Z')], now)?.generation, 1, 'published ahead: not yet');
    assert.equal(signingGeneration([one, generation(2, '2026-05-01T00:00:00Z')], now)?.generation, 2);
    assert.equal(signingGeneration([one, generation(2, '2026-07-01T00:00:00Z'), generation(3, '2026-05-31T00:00:00Z')], now)?.generation, 3);
    assert.equal(signingGeneration([generation(1, '1970-01-01T00:00:00Z', '2026-05-02T00:00:00Z'), generation(2, '2026-05-01T00:00:00Z')], now)?.generation, 2);
  });
});

for (const kind of STORE_KINDS) {
  describe(`rotating the receipt signing key on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    let customer: string;
    const env = { VAULT_MASTER_KEY: randomBytes(32).toString('base64') };
    let closed = false;

    before(async () => {
      api = await startTestApi(kind, { env });
      merchant = await api.createMerchant({ name: 'Dawn Games' });
      const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} });
      customer = response.json().id;
      await api.fundWallet(merchant, customer, 100_000n, 'USD');
    });
    after(async () => {
      if (!closed) await api.close();
      else await api.store.drop();
    });

    async function jwks(): Promise<JSONWebKeySet> {
      const response = await api.call('GET', '/.well-known/micropay-receipts/jwks.json');
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    /** A new paid payment's receipt JWS. */
    async function newReceipt(): Promise<string> {
      const payment = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount: 100, currency: 'USD', confirm: true } });
      assert.equal(payment.statusCode, 200, payment.body);
      const receipt = await api.call('GET', `/v1/payments/${payment.json().id}/receipt`, { key: merchant.secretKey });
      assert.equal(receipt.statusCode, 200, receipt.body);
      return receipt.json().jws;
    }

    const kidOf = (jws: string) => decodeProtectedHeader(jws).kid;
    const verifies = async (jws: string, keys: JSONWebKeySet) => compactVerify(jws, createLocalJWKSet(keys)).then(() => true, () => false);
    const refresh = () => api.runtime.services.receiptSigner.refresh();
    let first: string;
    let third: string;

    it('publishes a new generation ahead of signing with it, then signs with the newest due one', async () => {
      first = await newReceipt();
      const initial = await jwks();
      assert.equal(initial.keys.length, 1);
      assert.equal(kidOf(first), initial.keys[0]!.kid);

      const second = await rotateSigningKey(api.runtime.db, 3600);
      assert.equal(second.generation, 2);
      assert.equal((await jwks()).keys.length, 1, 'a process sees a new generation when it re-reads them');
      await refresh();
      const ahead = await jwks();
      assert.equal(ahead.keys.length, 2);
      assert.equal(kidOf(await newReceipt()), initial.keys[0]!.kid, 'published ahead, it does not sign yet');

      await rotateSigningKey(api.runtime.db, 0);
      await refresh();
      const now = await jwks();
      assert.equal(now.keys.length, 3);
      third = await newReceipt();
      assert.equal(kidOf(third), now.keys[2]!.kid);
      assert.notEqual(kidOf(third), kidOf(first));
      assert.ok(await verifies(first, now), 'a receipt of generation 1 still verifies');
      assert.ok(await verifies(third, now));
    });

    it('refuses to retire the signing generation, an unknown one, or one twice; a retired one leaves the JWKS', async () => {
      await assert.rejects(retireSigningKey(api.runtime.db, 3), (error: unknown) => error instanceof SigningKeyError && error.code === 'generation_signing');
      await assert.rejects(retireSigningKey(api.runtime.db, 99), (error: unknown) => error instanceof SigningKeyError && error.code === 'generation_unknown');
      await assert.rejects(rotateSigningKey(api.runtime.db, -1), (error: unknown) => error instanceof SigningKeyError && error.code === 'publish_ahead_invalid');
      const retired = await retireSigningKey(api.runtime.db, 1);
      assert.ok(retired.retiredAt instanceof Date);
      await assert.rejects(retireSigningKey(api.runtime.db, 1), (error: unknown) => error instanceof SigningKeyError && error.code === 'generation_retired');
      await refresh();
      const published = await jwks();
      assert.equal(published.keys.length, 2);
      assert.equal(await verifies(first, published), false, 'a retired generation signs nothing that verifies');
      assert.ok(await verifies(third, published));
    });

    it('does the same from the command line', async () => {
      // PGlite admits one process: the server closes before the command opens the store.
      await api.app.close();
      await api.runtime.close();
      closed = true;
      const cliEnv = {
        ...process.env,
        ...env,
        MICROPAY_DATA_DIR: api.store.location.dataDir ?? '/tmp/unused',
        DATABASE_URL: api.store.location.databaseUrl ?? '',
        LOG_LEVEL: 'silent',
      };
      const keys = JSON.parse((await run(process.execPath, [BIN, 'receipt', 'keys'], { env: cliEnv })).stdout);
      assert.equal(keys.signing, 3);
      assert.deepEqual(
        keys.generations.map((row: { generation: number; state: string }) => [row.generation, row.state]),
        [[1, 'retired'], [2, 'published_ahead'], [3, 'signing']],
      );
      assert.equal(keys.generations[2].kid, kidOf(third));

      const rotated = await run(process.execPath, [BIN, 'receipt', 'rotate-key', '--publish-ahead', '600'], { env: cliEnv });
      assert.match(rotated.stderr, /generation 4 is published now and signs from /);
      const after = JSON.parse(rotated.stdout);
      assert.equal(after.signing, 3);
      assert.deepEqual(after.generations.at(-1).state, 'published_ahead');

      const refused = await run(process.execPath, [BIN, 'receipt', 'retire-key', '3'], { env: cliEnv }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(refused?.code, 2);
      assert.match(refused!.stderr, /generation 3 still signs receipts: rotate first/);
      const badAhead = await run(process.execPath, [BIN, 'receipt', 'rotate-key', '--publish-ahead', 'soon'], { env: cliEnv }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(badAhead?.code, 2);
      assert.match(badAhead!.stderr, /publish-ahead must be a whole number of seconds/);

      const retired = JSON.parse((await run(process.execPath, [BIN, 'receipt', 'retire-key', '2'], { env: cliEnv })).stdout);
      assert.deepEqual(
        retired.generations.map((row: { generation: number; state: string }) => [row.generation, row.state]),
        [[1, 'retired'], [2, 'retired'], [3, 'signing'], [4, 'published_ahead']],
      );
    });
  });
}
