// The `micropay` command as a user runs it: a real child process on a fresh embedded database.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDatabase } from '../store/database.ts';
import { VAULT_MASTER_KEY_FILE } from '../vault/master-key.ts';
import { createTestStore } from '../../test/support/stores.ts';

const BIN = fileURLToPath(new URL('../../bin/micropay.js', import.meta.url));
const run = promisify(execFile);

describe('micropay command', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'micropay-cli-'));
  const env = { ...process.env, MICROPAY_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info' };
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, then reports the database up to date, saying which store it creates or uses', async () => {
    const first = await run(process.execPath, [BIN, 'migrate'], { env });
    assert.match(first.stdout, /applied migrations 1/);
    assert.equal(first.stderr, `micropay: creating the embedded database (PGlite) in ${join(dataDir, 'pgdata')}\n`);
    const second = await run(process.execPath, [BIN, 'migrate'], { env });
    assert.match(second.stdout, /database is up to date/);
    assert.equal(second.stderr, `micropay: using the embedded database (PGlite) in ${join(dataDir, 'pgdata')}\n`);
  });

  it('verifies the ledger and exits 0 when it balances', async () => {
    const result = await run(process.execPath, [BIN, 'ledger', 'verify'], { env });
    assert.ok(result.stderr.startsWith(`micropay: using the embedded database (PGlite) in ${join(dataDir, 'pgdata')}\n`), result.stderr);
    assert.match(result.stdout, /drift: 0/);
    assert.match(result.stdout, /ledger OK/);
    const json = await run(process.execPath, [BIN, 'ledger', 'verify', '--json'], { env });
    assert.equal(JSON.parse(json.stdout).ok, true);
  });

  it('reports the vault of an installation that never opened it, and leaves it without a root key', async () => {
    const status = await run(process.execPath, [BIN, 'vault', 'status'], { env });
    const report = JSON.parse(status.stdout) as { root: unknown; under_older_versions: number };
    assert.equal(report.root, null);
    assert.equal(report.under_older_versions, 0);
    const db = await openDatabase({ dataDir });
    try {
      assert.equal((await db.query(`SELECT 1 FROM vault_keys WHERE purpose = 'root'`)).rows.length, 0, 'no root key created by a report');
    } finally {
      await db.close();
    }
    assert.equal(existsSync(join(dataDir, VAULT_MASTER_KEY_FILE)), false, 'nor the development master key file');
  });

  it('refuses to work on a database behind this release, changing nothing: migrating is its own step', async () => {
    // The newest migration taken off the record, as a database of the previous release would be.
    const withDb = async <T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> => {
      const db = await openDatabase({ dataDir });
      try {
        return await work(db);
      } finally {
        await db.close();
      }
    };
    const newest = await withDb(async (db) => {
      const row = (await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1')).rows[0]!;
      await db.query('DELETE FROM schema_migrations WHERE version = $1', [row.version]);
      return row;
    });
    try {
      const label = `${String(newest.version).padStart(4, '0')}_${newest.name}`;
      for (const command of [['ledger', 'verify'], ['vault', 'status'], ['merchants', 'create', '--name', 'Too Early']]) {
        await assert.rejects(run(process.execPath, [BIN, ...command], { env }), (error: { code: number; stdout: string; stderr: string }) => {
          assert.equal(error.code, 2, command.join(' '));
          assert.ok(error.stderr.includes(`migration ${label} is not applied (nothing was changed). Run "micropay migrate" first.`), error.stderr);
          assert.equal(error.stdout, '');
          return true;
        });
      }
      await withDb(async (db) => {
        assert.equal((await db.query('SELECT 1 FROM schema_migrations WHERE version = $1', [newest.version])).rows.length, 0, 'nothing migrated');
        assert.equal((await db.query(`SELECT 1 FROM merchants WHERE name = 'Too Early'`)).rows.length, 0, 'nothing created');
      });
    } finally {
      await withDb((db) => db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [newest.version, newest.name]));
    }
  });

  it('starts the server on PORT and serves /healthz', async () => {
    const child = spawn(process.execPath, [BIN, 'start'], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /"url":"(http:\/\/[^"]+)".*Micropay is listening/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
      });
      const response = await fetch(`${url}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok', store: 'pglite' });
      // First start in development: an operator key and a demo merchant, written to dev-keys.json.
      const keys = JSON.parse(readFileSync(join(dataDir, 'dev-keys.json'), 'utf8'));
      const account = await fetch(`${url}/v1/account`, { headers: { authorization: `Bearer ${keys.merchant.secret_key}` } });
      assert.equal(account.status, 200);
      assert.equal(((await account.json()) as { id: string }).id, keys.merchant.id);
      const merchants = await fetch(`${url}/v1/merchants`, { headers: { authorization: `Bearer ${keys.operator_key}` } });
      assert.equal(merchants.status, 200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('creates merchants and keys that the API accepts', async () => {
    const created = JSON.parse((await run(process.execPath, [BIN, 'merchants', 'create', '--name', 'Pixel Forge', '--fee-bps', '300'], { env })).stdout);
    assert.match(created.merchant, /^mer_/);
    assert.match(created.secret_key, /^sk_test_/);
    assert.match(created.publishable_key, /^pk_test_/);
    const readKey = JSON.parse((await run(process.execPath, [BIN, 'keys', 'create', '--merchant', created.merchant, '--scope', 'read'], { env })).stdout);
    assert.match(readKey.secret, /^sk_test_/);
    assert.equal(readKey.scope, 'read');
    await assert.rejects(run(process.execPath, [BIN, 'keys', 'create', '--merchant', 'mer_missing'], { env }), /no merchant mer_missing/);
  });

  it('fails fast with the variable named on a malformed setting', async () => {
    await assert.rejects(run(process.execPath, [BIN, 'migrate'], { env: { ...env, PORT: 'x' } }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /PORT must be a whole number/);
      return true;
    });
  });

  it('trains a risk model from recorded decisions and their labels, and activates it', async () => {
    const db = await openDatabase({ dataDir });
    try {
      const rows = Array.from({ length: 400 }, (_, index) => {
        const fraud = index % 10 === 0;
        return {
          id: `rsk_cli${index}`,
          signals: { amount_usd: fraud ? 9_000 + index : 200 + (index % 50), device_is_new: fraud || index % 17 === 0, buyer_payments_1h: fraud ? 6 : 1 },
          fraud,
        };
      });
      await db.query(
        `INSERT INTO risk_decisions (id, livemode, subject_type, subject_id, action, decision, signals)
         SELECT r.id, false, 'payment', 'pay_' || r.id, 'payment', 'allow', r.signals FROM jsonb_to_recordset($1::jsonb) AS r(id text, signals jsonb)`,
        [JSON.stringify(rows)],
      );
      await db.query(
        `INSERT INTO risk_labels (subject_id, source, fraud) SELECT 'pay_' || r.id, 'chargeback', true FROM jsonb_to_recordset($1::jsonb) AS r(id text, fraud boolean) WHERE r.fraud`,
        [JSON.stringify(rows)],
      );
    } finally {
      await db.close();
    }
    const trained = await run(process.execPath, [BIN, 'risk', 'train', '--activate'], { env });
    assert.match(trained.stdout, /model version 1 stored and active/);
    assert.match(trained.stderr, /training on 400 decisions \(40 labelled fraud\)/);
    const check = await openDatabase({ dataDir });
    try {
      const { rows } = await check.query<{ version: number; active: boolean }>('SELECT version, active FROM risk_models');
      assert.deepEqual(rows, [{ version: 1, active: true }]);
    } finally {
      await check.close();
    }
  });

  it('simulates labelled traffic through the risk engine and prints what it caught', async () => {
    const result = await run(process.execPath, [BIN, 'simulate', '--weeks', '2', '--buyers', '400', '--train-weeks', '1'], { env, maxBuffer: 10_000_000 });
    const report = JSON.parse(result.stdout) as Record<string, number>;
    for (const key of ['fraud_value_caught', 'good_challenged', 'good_blocked', 'pr_auc', 'p99_score_ms', 'rules_only_fraud_value_caught', 'rules_only_good_challenged']) {
      assert.equal(typeof report[key], 'number', key);
    }
    assert.ok(report.evaluated_attempts! > 100);
    assert.match(result.stderr, /full engine/);
  });
});

describe('micropay commands on data that is not there', () => {
  const parent = mkdtempSync(join(tmpdir(), 'micropay-cli-missing-'));
  after(() => rmSync(parent, { recursive: true, force: true }));

  /** Every command that reads or changes existing data. */
  const COMMANDS = [
    ['vault', 'status'],
    ['vault', 'rewrap'],
    ['ledger', 'verify'],
    ['keys', 'create', '--operator'],
    ['merchants', 'create', '--name', 'Nowhere'],
    ['staff', 'invite', '--email', 'ops@example.com', '--role', 'admin'],
    ['receipt', 'keys'],
    ['receipt', 'rotate-key'],
    ['receipt', 'retire-key', '1'],
    ['risk', 'train'],
  ];

  it('refuses them when the embedded database does not exist, instead of creating an empty one', async () => {
    const dataDir = join(parent, 'never-started');
    const env = { ...process.env, MICROPAY_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info' };
    for (const command of COMMANDS) {
      await assert.rejects(run(process.execPath, [BIN, ...command], { env }), (error: { code: number; stdout: string; stderr: string }) => {
        assert.equal(error.code, 2, command.join(' '));
        assert.ok(error.stderr.startsWith(`micropay: using the embedded database (PGlite) in ${join(dataDir, 'pgdata')}\n`), error.stderr);
        assert.ok(error.stderr.includes(`no embedded database in ${join(dataDir, 'pgdata')}: this command works on existing data, so it creates none`), error.stderr);
        assert.match(error.stderr, /DATABASE_URL|MICROPAY_DATA_DIR/);
        assert.equal(error.stdout, '', command.join(' '));
        return true;
      });
      assert.equal(existsSync(dataDir), false, `${command.join(' ')} created nothing`);
    }
  });

  it('says which PostgreSQL database it uses, without the password', async () => {
    const env = { ...process.env, DATABASE_URL: 'postgres://ops:s3cr3t-pw@127.0.0.1:1/ledger_db', MICROPAY_DATA_DIR: join(parent, 'unused'), LOG_LEVEL: 'info' };
    // Nothing listens on port 1: the command fails to connect, after saying where it went.
    await assert.rejects(run(process.execPath, [BIN, 'vault', 'status'], { env, timeout: 30_000 }), (error: { code: number; stderr: string }) => {
      assert.notEqual(error.code, 0);
      assert.match(error.stderr, /^micropay: using PostgreSQL ops@127\.0\.0\.1:1\/ledger_db\n/);
      assert.ok(!error.stderr.includes('s3cr3t-pw'), error.stderr);
      return true;
    });
    const store = await createTestStore('postgres', { open: false });
    try {
      const url = new URL(store.location.databaseUrl!);
      const verified = await run(process.execPath, [BIN, 'ledger', 'verify'], { env: { ...env, DATABASE_URL: store.location.databaseUrl! } });
      assert.match(verified.stdout, /ledger OK/);
      assert.ok(verified.stderr.startsWith(`micropay: using PostgreSQL ${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}\n`), verified.stderr);
    } finally {
      await store.drop();
    }
  });
});
