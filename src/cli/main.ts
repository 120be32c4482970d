// The `micropay` command.
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { assertMigrated, migrate, MigrationsPendingError } from '../store/migrate.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../server/runtime.ts';
import { decisionHistory } from '../risk/store.ts';
import { receiptSigningKeyOf } from '../receipts/keys.ts';
import {
  listGenerations,
  PUBLISH_AHEAD_SECONDS_DEFAULT,
  retireSigningKey,
  rotateSigningKey,
  signingGeneration,
  SigningKeyError,
  stateOf,
} from '../receipts/signing-keys.ts';
import { createFieldSealer } from '../vault/fields.ts';
import { keyVersions } from '../vault/crypto.ts';
import { rewrapVault, vaultVersions } from '../vault/rewrap.ts';
import { bankAccountVersions, rewrapBankAccounts } from '../payouts/store.ts';

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** The embedded database's folder (PGlite writes PG_VERSION there when it creates one). */
const embeddedFolder = (settings: Config) => join(settings.dataDir, 'pgdata');
const embeddedExists = (settings: Config) => existsSync(join(embeddedFolder(settings), 'PG_VERSION'));

/** Which store the configuration names, for the operator to check: never its password. */
function storeDescription(settings: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (!settings.databaseUrl) return `the embedded database (PGlite) in ${join(settings.dataDir, 'pgdata')}`;
  try {
    const url = new URL(settings.databaseUrl);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    return `PostgreSQL ${user}${url.host || 'localhost'}/${database || '(default database)'}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/**
 * The configuration of a command that reads or changes existing data. It says on stderr which store it
 * works on, and refuses an embedded database that does not exist yet: opening one creates it, so a
 * command run from the wrong folder (or without DATABASE_URL) would report on an empty store, and
 * `vault rewrap` would "succeed" against it while the real data still needs the old master key.
 */
function existingStoreConfig(): Config {
  const settings = config();
  process.stderr.write(`micropay: using ${storeDescription(settings)}\n`);
  if (!settings.databaseUrl && !embeddedExists(settings)) {
    fail(
      `no embedded database in ${embeddedFolder(settings)}: this command works on existing data, so it creates none (nothing was changed). ` +
        'Set DATABASE_URL to your PostgreSQL, or MICROPAY_DATA_DIR to the folder of an existing embedded database ' +
        '(the default is ./.micropay under the current folder); "micropay migrate" or "micropay start" creates a new one.',
    );
  }
  return settings;
}

// The server and what only some commands use are loaded by the commands that need them, so that the
// others (and --help, and a refused command) start in a fraction of the time.

/** The runtime of a command: no workers, no cache warm-up (the command is short-lived), and no migration:
 * a database this release has migrations for is refused (exit 2), "micropay migrate" being the step
 * that changes the schema. */
async function openCommandRuntime(settings: Config): Promise<Runtime> {
  const { openRuntime } = await import('../server/runtime.ts');
  try {
    return await openRuntime(settings, { workers: false, warmLedger: false, migrate: false, logger: createLogger('warn') });
  } catch (error) {
    if (error instanceof MigrationsPendingError) fail(error.message);
    throw error;
  }
}

const jsonWithBigints = (value: unknown) =>
  JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item), 2);

const program = new Command('micropay').description('Micropay: micropayments with a double-entry ledger');

program
  .command('start')
  .description('start the HTTP server (embedded database unless DATABASE_URL is set)')
  .action(async () => {
    const { startServer } = await import('../server/server.ts');
    await startServer(config());
  });

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const settings = config();
    // A new embedded database is legitimate here (a development setup), but said, like the store used.
    const creating = !settings.databaseUrl && !embeddedExists(settings);
    process.stderr.write(`micropay: ${creating ? 'creating' : 'using'} ${storeDescription(settings)}\n`);
    const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir });
    const applied = await migrate(db);
    await db.close();
    process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
  });

const merchants = program.command('merchants').description('manage merchants');

merchants
  .command('create')
  .description('create a merchant with a test-mode secret and publishable key (secrets are shown once)')
  .requiredOption('--name <name>', 'display name')
  .option('--fee-bps <bps>', 'platform fee in basis points', '0')
  .option('--live', 'create live-mode keys instead of test-mode keys')
  .action(async (options: { name: string; feeBps: string; live?: boolean }) => {
    const feeBps = Number(options.feeBps);
    if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) fail('--fee-bps must be a whole number from 0 to 10000');
    const runtime = await openCommandRuntime(existingStoreConfig());
    const merchant = await runtime.services.merchants.create({ name: options.name, feeBps });
    const livemode = options.live === true;
    const secret = await runtime.services.auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode });
    const publishable = await runtime.services.auth.createKey({ merchantId: merchant.id, kind: 'publishable', livemode });
    await runtime.close();
    process.stdout.write(
      `${JSON.stringify({ merchant: merchant.id, name: merchant.name, fee_bps: feeBps, secret_key: secret.secret, publishable_key: publishable.secret }, null, 2)}\n`,
    );
  });

program
  .command('keys')
  .description('manage API keys')
  .command('create')
  .description('create an API key (its secret is shown once)')
  .option('--merchant <id>', 'the merchant the key acts for')
  .option('--operator', 'an operator key for the installation instead')
  .option('--type <type>', 'secret or publishable', 'secret')
  .option('--scope <scope>', 'write or read', 'write')
  .option('--live', 'a live-mode key (default test mode)')
  .action(async (options: { merchant?: string; operator?: boolean; type: string; scope: string; live?: boolean }) => {
    if (options.operator === (options.merchant !== undefined)) fail('give exactly one of --merchant <id> and --operator');
    if (!['secret', 'publishable'].includes(options.type)) fail('--type must be secret or publishable');
    if (!['write', 'read'].includes(options.scope)) fail('--scope must be write or read');
    const runtime = await openCommandRuntime(existingStoreConfig());
    try {
      if (options.merchant && !(await runtime.services.merchants.get(options.merchant))) fail(`no merchant ${options.merchant}`);
      const created = await runtime.services.auth.createKey({
        merchantId: options.merchant ?? null,
        kind: options.operator ? 'operator' : (options.type as 'secret' | 'publishable'),
        livemode: options.operator ? true : options.live === true,
        scope: options.scope as 'write' | 'read',
      });
      process.stdout.write(`${JSON.stringify({ id: created.key.id, secret: created.secret, type: created.key.kind, livemode: created.key.livemode, scope: created.key.scope }, null, 2)}\n`);
    } finally {
      await runtime.close();
    }
  });

program
  .command('staff')
  .description('merchant and operator staff (docs/api/staff.md)')
  .command('invite')
  .description('invite a person into a merchant\'s team (the dashboard) or the operator\'s (the console); prints the link, shown once')
  .requiredOption('--email <email>', 'their email address')
  .requiredOption('--role <role>', 'merchant: owner, admin, developer, finance, support, analyst; operator: admin, risk_analyst, support, viewer')
  .option('--merchant <id>', 'the merchant (m_...); without it, the operator\'s team')
  .option('--name <name>', 'their name')
  .action(async (options: { email: string; role: string; merchant?: string; name?: string }) => {
    const runtime = await openCommandRuntime(existingStoreConfig());
    let result;
    try {
      result = await runtime.services.staff.invite({ kind: 'system', name: 'cli' }, {
        merchantId: options.merchant ?? null, email: options.email, role: options.role, name: options.name ?? null,
      });
    } finally {
      await runtime.close();
    }
    if (!result.ok) fail(`${result.code}: ${result.message ?? 'refused'}${result.param ? ` (${result.param})` : ''}`);
    const { invitation, url, emailed } = result;
    process.stdout.write(
      `${JSON.stringify({ invitation: invitation.id, email: invitation.email, role: invitation.role, merchant: invitation.merchantId, app: invitation.app, expires_at: invitation.expiresAt.toISOString(), url, emailed }, null, 2)}\n` +
        `${emailed ? `The link was emailed to ${invitation.email}` : `Send the link to ${invitation.email}`}: it is shown once and works once, until ${invitation.expiresAt.toISOString()}.\n`,
    );
  });

const ledger = program.command('ledger').description('inspect the ledger');

ledger
  .command('verify')
  .description('recompute every balance from the transfers and report any drift (exit 1 if any)')
  .option('--json', 'print the full report as JSON')
  .action(async (options: { json?: boolean }) => {
    // Only the database: a check opens nothing else (no vault, whose root it would create on an
    // installation that never opened it) and changes nothing.
    const { db, report } = await withMigratedDatabase(async (_settings, db) => {
      const { verifyLedger } = await import('../ledger/verify.ts');
      return { db, report: await verifyLedger(db) };
    });
    await db.close();
    if (options.json) {
      process.stdout.write(`${jsonWithBigints(report)}\n`);
    } else {
      process.stdout.write(
        `accounts checked: ${report.accountsChecked}\ntransfers checked: ${report.transfersChecked}\n` +
          report.totals.map((row) => `  ${row.asset}: ${row.transfers} transfers, posted ${row.posted}, pending ${row.pending}\n`).join('') +
          `drift: ${report.drift.length}\nasset imbalance: ${report.assetImbalance.length}\n` +
          `limit violations: ${report.limitViolations.length}\n${report.ok ? 'ledger OK' : 'LEDGER INCONSISTENT'}\n`,
      );
      for (const row of report.drift.slice(0, 20)) {
        process.stdout.write(`  drift ${row.accountId} ${row.field}: stored ${row.stored}, computed ${row.computed}\n`);
      }
    }
    process.exitCode = report.ok ? 0 : 1;
  });

const vault = program.command('vault').description('the card vault and its master keys (docs/operations.md, "Rotating the vault master key")');

/** The database (refused unless migrated, as in openCommandRuntime) and the vault keyring of the
 * configuration, for the vault commands. */
async function openVault() {
  return withMigratedDatabase(async (settings, db, logger) => {
    const { openVaultKeyring } = await import('../top-ups/wiring.ts');
    return { db, keyring: await openVaultKeyring(settings, db, logger) };
  });
}

/** The database, refused unless migrated (as in openCommandRuntime), given to `open` with the
 * configuration; closed, and the command failed with the message, if `open` throws. */
async function withMigratedDatabase<T>(open: (settings: Config, db: Database, logger: Logger) => Promise<T>): Promise<T> {
  const settings = existingStoreConfig();
  const logger = createLogger('warn');
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir });
  try {
    await assertMigrated(db);
    return await open(settings, db, logger);
  } catch (error) {
    await db.close();
    fail((error as Error).message);
  }
}

/** Prints what each version seals (with `extra` first) as JSON, sets the exit code (1 while anything is
 * under an older version, a bank account stored before sealing included) and returns that count. */
async function reportVault({ db, current }: { db: Database; current: number }, extra: Record<string, unknown>): Promise<number> {
  const report = { ...(await vaultVersions(db)), bank_accounts: await bankAccountVersions(db) };
  const others = (byVersion: Record<string, number>) =>
    Object.entries(byVersion).reduce((sum, [version, count]) => sum + (version === String(current) ? 0 : count), 0);
  const left =
    (report.root !== null && report.root !== current ? 1 : 0) + others(report.cards) + others(report.bank_accounts.payout_settings) + others(report.bank_accounts.payouts);
  process.stdout.write(`${JSON.stringify({ current_version: current, ...extra, ...report, under_older_versions: left }, null, 2)}\n`);
  process.exitCode = left === 0 ? 0 : 1;
  return left;
}

vault
  .command('status')
  .description('what each master key version still seals (JSON); exit 1 while anything is under an older version')
  .action(async () => {
    // A report: the root of an installation whose vault never opened is not created here. When one is
    // stored, opening it checks the configured master keys.
    const { db, versions } = await withMigratedDatabase(async (settings, db, logger) => {
      const { openStoredVaultKeyring } = await import('../top-ups/wiring.ts');
      const keyring = await openStoredVaultKeyring(settings, db, logger);
      return { db, versions: keyring?.versions ?? keyVersions(settings.vault.previousMasterKeys.keys(), settings.vault.masterKeyVersion) };
    });
    try {
      await reportVault({ db, current: versions[0]! }, { configured_versions: versions });
    } finally {
      await db.close();
    }
  });

vault
  .command('rewrap')
  .description('re-seal the root key, cards and bank account numbers under the current master key; safe to run while serving, and again')
  .option('--batch-size <n>', 'records per statement', '500')
  .action(async (options: { batchSize: string }) => {
    const batchSize = Number(options.batchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) fail('--batch-size must be a whole number from 1 to 10000');
    const opened = await openVault();
    const { db, keyring } = opened;
    try {
      const sealer = createFieldSealer(keyring);
      const tables = ['payout_settings', 'payouts'] as const;
      const result = await rewrapVault(db, keyring, {
        batchSize,
        fields: tables.map((table) => ({ kind: `bank_accounts.${table}`, pass: (after: string, limit: number) => rewrapBankAccounts(db, sealer, table, after, limit) })),
        onProgress: ({ kind, done, failed }) => process.stderr.write(`rewrap ${kind}: ${done} re-sealed${failed ? `, ${failed} did not open` : ''}\n`),
      });
      const left = await reportVault({ db, current: keyring.currentVersion }, { root_rewrapped: result.root, rewrapped: result.rewrapped, failed: result.failed });
      process.stderr.write(
        left === 0
          ? `everything is sealed under version ${keyring.currentVersion}: the older keys can leave VAULT_PREVIOUS_MASTER_KEYS\n`
          : `${left} records are still under an older version (see "failed"); keep their keys configured\n`,
      );
    } finally {
      await db.close();
    }
  });

const risk = program.command('risk').description('the risk engine');

risk
  .command('train')
  .description('train a model on recorded decisions and their labels (risk_labels), store it, and optionally activate it')
  .option('--activate', 'make it the active model (every process loads it within RISK_RELOAD_INTERVAL_MS)')
  .option('--limit <rows>', 'most recent decisions to read at most', '200000')
  .action(async (options: { activate?: boolean; limit: string }) => {
    const runtime = await openCommandRuntime(existingStoreConfig());
    try {
      process.stderr.write('reading recorded decisions and labels...\n');
      const history = await decisionHistory(runtime.db, { limit: Math.min(Number(options.limit) || 200_000, 1_000_000) });
      const rows = history.filter((record) => record.decision !== 'block').map((record) => ({ signals: record.signals, fraud: record.fraud === true }));
      process.stderr.write(`training on ${rows.length} decisions (${rows.filter((row) => row.fraud).length} labelled fraud)...\n`);
      const { trainModel } = await import('../risk/learned-model.ts');
      const model = trainModel(rows);
      const version = await runtime.services.riskEngine.saveModel(model, { rows: model.rows, fraud_rows: model.fraudRows }, options.activate === true);
      process.stdout.write(`model version ${version} stored${options.activate ? ' and active' : ' (activate it with POST /v1/risk/models/' + version + '/activate)'}\n`);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    } finally {
      await runtime.close();
    }
  });

program
  .command('simulate')
  .description('replay seeded, labelled traffic (honest buyers and seven fraud typologies) through the risk engine and report what it catches')
  .option('--seed <n>', 'traffic seed', '1')
  .option('--weeks <n>', 'weeks of traffic', '8')
  .option('--buyers <n>', 'buyers', '20000')
  .option('--train-weeks <n>', 'weeks the model trains on (the rest is evaluated)')
  .action(async (options: { seed: string; weeks: string; buyers: string; trainWeeks?: string }) => {
    const weeks = Number(options.weeks);
    const { runExperiment } = await import('../risk/simulate/experiment.ts');
    const { result } = await runExperiment({
      seed: Number(options.seed),
      weeks,
      buyers: Number(options.buyers),
      trainWeeks: Number(options.trainWeeks ?? Math.round(weeks * 0.6)),
      progress: (message) => process.stderr.write(`${message}\n`),
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });

const receipt = program.command('receipt').description('signed receipts');

receipt
  .command('verify')
  .description('verify a signed receipt (a file with the JWS, or the JSON of /receipts/<token>.json) against the published JWKS; exits 0 when valid, 1 when not')
  .argument('<file>', 'the receipt file')
  .option('--jwks <url-or-file>', "the JWKS, a URL or a file (default: this installation's /.well-known/micropay-receipts/jwks.json)")
  .action(async (file: string, options: { jwks?: string }) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      process.stderr.write(`cannot read ${file}: ${(error as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    const { defaultJwksUrl, receiptSummary, verifyReceipt } = await import('../receipts/verify.ts');
    const result = await verifyReceipt(text, options.jwks ?? defaultJwksUrl(config().publicUrl));
    if (!result.ok) {
      process.stderr.write(`receipt NOT valid: ${result.reason}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${receiptSummary(result.receipt)}\nsignature OK (key ${result.kid ?? 'without kid'})\n`);
  });

/** Prints the signing key generations as JSON: each with its kid and state (signing, published_ahead,
 * verifying, retired). */
async function printGenerations({ db, keyring }: Awaited<ReturnType<typeof openVault>>): Promise<void> {
  const generations = await listGenerations(db);
  const now = new Date();
  const signing = signingGeneration(generations, now);
  const rows = generations.map((generation) => ({
    generation: generation.generation,
    kid: receiptSigningKeyOf(keyring.root, generation.generation).kid,
    state: stateOf(generation, signing, now),
    created_at: generation.createdAt.toISOString(),
    signs_from: generation.generation === 1 ? null : generation.signsFrom.toISOString(),
    retired_at: generation.retiredAt?.toISOString() ?? null,
  }));
  process.stdout.write(`${JSON.stringify({ signing: signing?.generation ?? null, generations: rows }, null, 2)}\n`);
}

/** Runs a signing key command with the vault open, turning its refusals into exit code 2. */
async function withSigningKeys(work: (opened: Awaited<ReturnType<typeof openVault>>) => Promise<void>): Promise<void> {
  const opened = await openVault();
  try {
    await work(opened);
  } catch (error) {
    if (!(error instanceof SigningKeyError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } finally {
    await opened.db.close();
  }
}

receipt
  .command('keys')
  .description('the signing key generations (JSON): which signs, which are published ahead, which only verify, which are retired')
  .action(() => withSigningKeys(printGenerations));

receipt
  .command('rotate-key')
  .description('add a signing key generation: published in the JWKS at once, signing after --publish-ahead (docs/api/receipts.md, "Rotating the signing key")')
  .option('--publish-ahead <seconds>', 'seconds between publishing the new key and signing with it (0 for a leaked key: verifiers with a cached JWKS may fail for up to 5 minutes)', String(PUBLISH_AHEAD_SECONDS_DEFAULT))
  .action((options: { publishAhead: string }) =>
    withSigningKeys(async (opened) => {
      const created = await rotateSigningKey(opened.db, Number(options.publishAhead));
      process.stderr.write(
        `generation ${created.generation} is published now and signs from ${created.signsFrom.toISOString()} ` +
          '(every server process picks it up within a minute)\n',
      );
      await printGenerations(opened);
    }),
  );

receipt
  .command('retire-key')
  .description('retire a signing key generation that a newer one has replaced: it leaves the JWKS, and receipts it signed no longer verify')
  .argument('<generation>', 'the generation to retire')
  .action((generation: string) =>
    withSigningKeys(async (opened) => {
      if (!/^[1-9][0-9]{0,8}$/.test(generation)) throw new SigningKeyError('generation_unknown', `generation must be a positive whole number, got "${generation}"`);
      const retired = await retireSigningKey(opened.db, Number(generation));
      process.stderr.write(`generation ${retired.generation} is retired: it leaves every JWKS within a minute (verifiers' caches: 5 more)\n`);
      await printGenerations(opened);
    }),
  );

await program.parseAsync(process.argv);
