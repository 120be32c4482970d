// Rotating the vault master key end to end, on both stores: cards, bank accounts and derived values
// (fingerprints, client secrets, receipt URLs and keys) made under version 1 keep working while version 2
// is current; a start without the key that wraps the root is refused with a clear message;
// `micropay vault rewrap` (a real child process) moves everything to version 2; then version 1 can leave
// the configuration and nothing breaks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { STORE_KINDS, createTestStore, type TestStore } from '../../test/support/stores.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { buildApp } from '../server/app.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { vaultVersions } from './rewrap.ts';
import { openKeyring } from './root-key.ts';

const BIN = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
const run = promisify(execFile);
const nextYear = new Date().getUTCFullYear() + 1;
const VISA = '4242424242424242';
const card = (number: string) => ({ number, exp_month: 12, exp_year: nextYear, cvc: '123' });

for (const kind of STORE_KINDS) {
  describe(`rotating the vault master key on ${kind}`, () => {
    let store: TestStore;
    const v1 = randomBytes(32).toString('base64');
    const v2 = randomBytes(32).toString('base64');
    const keysV1 = { VAULT_MASTER_KEY: v1 };
    const keysRotating = { VAULT_MASTER_KEY: v2, VAULT_MASTER_KEY_VERSION: '2', VAULT_PREVIOUS_MASTER_KEYS: `1:${v1}` };
    const keysV2 = { VAULT_MASTER_KEY: v2, VAULT_MASTER_KEY_VERSION: '2' };
    let running: { runtime: Runtime; app: FastifyInstance } | null = null;

    const envOf = (keys: Record<string, string>) => ({
      MICROPAY_DATA_DIR: store.location.dataDir ?? '/tmp/unused',
      DATABASE_URL: store.location.databaseUrl ?? '',
      RISK_DEFAULT_RULES: 'none',
      ...keys,
    });

    async function start(keys: Record<string, string>) {
      const runtime = await openRuntime(loadConfig(envOf(keys)), { logger: createLogger('silent'), workers: false });
      running = { runtime, app: await buildApp(runtime) };
      return running;
    }

    async function stop() {
      if (!running) return;
      await running.app.close();
      await running.runtime.close();
      running = null;
    }

    async function call(method: 'GET' | 'POST', url: string, key?: string, body?: unknown) {
      const response = await running!.app.inject({
        method,
        url,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return response;
    }

    async function ok(method: 'GET' | 'POST', url: string, key?: string, body?: unknown) {
      const response = await call(method, url, key, body);
      assert.equal(response.statusCode, 200, `${method} ${url}: ${response.body}`);
      return response.json();
    }

    /** How many records each version seals, read straight from the database. */
    async function versions() {
      const db = running!.runtime.db;
      const vault = await vaultVersions(db);
      const { rows } = await db.query<{ account_number: string }>(`SELECT account_number FROM payout_settings WHERE account_number IS NOT NULL`);
      return { ...vault, bankAccounts: rows.map((row) => row.account_number.split(':')[2]) };
    }

    // What version 1 made, to check after each step.
    const made = {
      secretKey: '',
      customer: '',
      paymentMethod: '',
      fingerprint: '',
      payment: '',
      clientSecret: '',
      receiptUrl: '',
      kid: '',
    };

    before(async () => {
      store = await createTestStore(kind, { open: false });
    });

    after(async () => {
      await stop();
      await store.drop();
    });

    it('under version 1: tokenises a card, seals a bank account, and hands out derived values', async () => {
      await start(keysV1);
      const operator = await running!.runtime.services.auth.createKey({ merchantId: null, kind: 'operator', livemode: true });
      const merchant = await ok('POST', '/v1/merchants', operator.secret, { name: 'Rotation shop', fee_bps: 0, fee_fixed: {} });
      made.secretKey = (await ok('POST', `/v1/merchants/${merchant.id}/api_keys`, operator.secret, { type: 'secret' })).secret;
      made.customer = (await ok('POST', '/v1/customers', made.secretKey, {})).id;
      const topUp = await ok('POST', '/v1/top_ups', made.secretKey, { customer: made.customer, amount: 2000, currency: 'USD', card: card(VISA) });
      assert.equal(topUp.status, 'succeeded');
      made.paymentMethod = topUp.payment_method;
      made.fingerprint = (await ok('GET', `/v1/payment_methods/${made.paymentMethod}`, made.secretKey)).card.fingerprint;
      await ok('POST', '/v1/payout_settings', made.secretKey, { bank_account: { account_number: '000123456789', account_holder_name: 'Rotation Shop' } });
      const payment = await ok('POST', '/v1/payments', made.secretKey, { customer: made.customer, amount: 300, currency: 'USD', confirm: true });
      assert.equal(payment.status, 'succeeded');
      made.payment = payment.id;
      made.clientSecret = payment.client_secret;
      made.receiptUrl = new URL((await ok('GET', `/v1/payments/${payment.id}/receipt`, made.secretKey)).url).pathname;
      made.kid = (await ok('GET', '/.well-known/micropay-receipts/jwks.json')).keys[0].kid;
      assert.deepEqual(await versions(), { root: 1, cards: { '1': 1 }, bankAccounts: ['1'] });
      await stop();
    });

    it('refuses to start without the key that wraps the root, or with a wrong one, naming the setting', async () => {
      await assert.rejects(start(keysV2), /wrapped by master key version 1, which is not configured: add it to VAULT_PREVIOUS_MASTER_KEYS/);
      const wrong = { ...keysRotating, VAULT_PREVIOUS_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}` };
      await assert.rejects(start(wrong), (error: Error) => /does not open with the configured master key of version 1/.test(error.message) && !error.message.includes(v1));
    });

    it('while version 2 is current with version 1 kept: old records open, new ones seal under 2, derived values do not change', async () => {
      await start(keysRotating);
      const again = await ok('POST', '/v1/top_ups', made.secretKey, { customer: made.customer, amount: 2000, currency: 'USD', payment_method: made.paymentMethod });
      assert.equal(again.status, 'succeeded', 'the card sealed under version 1 is charged');
      const sameCard = await ok('POST', '/v1/top_ups', made.secretKey, { customer: made.customer, amount: 2000, currency: 'USD', card: card(VISA) });
      const newMethod = await ok('GET', `/v1/payment_methods/${sameCard.payment_method}`, made.secretKey);
      assert.equal(newMethod.card.fingerprint, made.fingerprint, 'the same card keeps its fingerprint across the rotation');
      assert.equal((await ok('GET', '/v1/payout_settings', made.secretKey)).bank_account.last4, '6789');
      assert.equal((await ok('GET', `/v1/payments/${made.payment}`, made.secretKey)).client_secret, made.clientSecret);
      assert.equal((await call('GET', made.receiptUrl)).statusCode, 200, 'a receipt URL from before the rotation resolves');
      assert.equal((await ok('GET', '/.well-known/micropay-receipts/jwks.json')).keys[0].kid, made.kid);
      assert.deepEqual(await versions(), { root: 1, cards: { '1': 1, '2': 1 }, bankAccounts: ['1'] });
      await stop();
    });

    it('micropay vault status and rewrap move everything to version 2, and can run again', async () => {
      const env = { ...process.env, ...envOf(keysRotating), LOG_LEVEL: 'warn' };
      const status = await run(process.execPath, [BIN, 'vault', 'status'], { env }).then(
        () => assert.fail('status exits 1 while records are under version 1'),
        (error: { code: number; stdout: string }) => error,
      );
      assert.equal(status.code, 1);
      assert.equal(JSON.parse(status.stdout).under_older_versions, 3, 'the root, one card, one bank account');
      const rewrap = await run(process.execPath, [BIN, 'vault', 'rewrap', '--batch-size', '1'], { env });
      const report = JSON.parse(rewrap.stdout);
      assert.equal(report.root_rewrapped, true);
      assert.deepEqual(report.rewrapped, { cards: 1, 'bank_accounts.payout_settings': 1, 'bank_accounts.payouts': 0 });
      assert.equal(report.under_older_versions, 0);
      assert.match(rewrap.stderr, /rewrap cards: 1 re-sealed/);
      assert.match(rewrap.stderr, /the older keys can leave VAULT_PREVIOUS_MASTER_KEYS/);
      assert.doesNotMatch(rewrap.stdout + rewrap.stderr, new RegExp(`${VISA}|000123456789`));
      const twice = await run(process.execPath, [BIN, 'vault', 'rewrap'], { env });
      assert.deepEqual(JSON.parse(twice.stdout).rewrapped, { cards: 0, 'bank_accounts.payout_settings': 0, 'bank_accounts.payouts': 0 });
      assert.equal((await run(process.execPath, [BIN, 'vault', 'status'], { env })).stdout.includes('"under_older_versions": 0'), true);
    });

    it('with version 1 gone from the configuration, everything still opens and nothing derived changed', async () => {
      await start(keysV2);
      assert.deepEqual(await versions(), { root: 2, cards: { '2': 2 }, bankAccounts: ['2'] });
      const again = await ok('POST', '/v1/top_ups', made.secretKey, { customer: made.customer, amount: 2000, currency: 'USD', payment_method: made.paymentMethod });
      assert.equal(again.status, 'succeeded');
      assert.equal((await ok('GET', '/v1/payout_settings', made.secretKey)).bank_account.last4, '6789');
      assert.equal((await ok('GET', `/v1/payments/${made.payment}`, made.secretKey)).client_secret, made.clientSecret);
      assert.equal((await call('GET', made.receiptUrl)).statusCode, 200);
      assert.equal((await ok('GET', '/.well-known/micropay-receipts/jwks.json')).keys[0].kid, made.kid);
      const fresh = await ok('POST', '/v1/top_ups', made.secretKey, { customer: made.customer, amount: 2000, currency: 'USD', card: card(VISA) });
      assert.equal((await ok('GET', `/v1/payment_methods/${fresh.payment_method}`, made.secretKey)).card.fingerprint, made.fingerprint);
      await stop();
    });
  });
}

describe('the vault root key', () => {
  /** A fresh migrated embedded database, for `run`, then dropped. */
  async function withDatabase(run: (db: Database) => Promise<void>): Promise<void> {
    const store = await createTestStore('pglite', { open: false });
    const db = await openDatabase({ dataDir: store.location.dataDir! });
    try {
      await migrate(db);
      await run(db);
    } finally {
      await db.close();
      await store.drop();
    }
  }

  it('of a new installation is random, not the master key, so a retired master key opens nothing derived', () =>
    withDatabase(async (db) => {
      const key = randomBytes(32);
      const keyring = await openKeyring(db, new Map([[1, key]]), 1);
      assert.equal(keyring.root.equals(key), false);
      const reopened = await openKeyring(db, new Map([[1, key]]), 1);
      assert.equal(reopened.root.equals(keyring.root), true, 'the stored root is read back, not drawn again');
    }));

  it('of an installation that predates it is the version 1 key, so nothing derived changes on upgrade', () =>
    withDatabase(async (db) => {
      const key = randomBytes(32);
      await db.query(`INSERT INTO merchants (id, name) VALUES ('mer_legacy', 'Legacy')`);
      const keyring = await openKeyring(db, new Map([[1, key]]), 1);
      assert.equal(keyring.root.equals(key), true);
    }));
});
