// The `micropay` command.
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { openRuntime } from '../server/runtime.ts';
import { startServer } from '../server/server.ts';

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

const jsonWithBigints = (value: unknown) =>
  JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item), 2);

const program = new Command('micropay').description('Micropay: micropayments with a double-entry ledger');

program
  .command('start')
  .description('start the HTTP server (embedded database unless DATABASE_URL is set)')
  .action(async () => {
    await startServer(config());
  });

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const settings = config();
    const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir });
    const applied = await migrate(db);
    await db.close();
    process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
  });

const ledger = program.command('ledger').description('inspect the ledger');

ledger
  .command('verify')
  .description('recompute every balance from the transfers and report any drift (exit 1 if any)')
  .option('--json', 'print the full report as JSON')
  .action(async (options: { json?: boolean }) => {
    const settings = config();
    const runtime = await openRuntime(settings, { workers: false, logger: createLogger('warn') });
    const report = await runtime.ledger.verify();
    await runtime.close();
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

await program.parseAsync(process.argv);
