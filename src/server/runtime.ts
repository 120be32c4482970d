// The composition root: opens the store, migrates it, and wires the services and workers from the
// configuration. Everything that runs Micropay (server, CLI, tests, benchmarks) starts here.
import type { Config } from '../config/config.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { startExpiryWorker, type ExpiryWorker } from '../ledger/expiry-worker.ts';
import { createLedgerService, type LedgerService } from '../ledger/service.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';

export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  ledger: LedgerService;
  workers: { expiry: ExpiryWorker | null };
  close(): Promise<void>;
}

export async function openRuntime(config: Config, options: { workers?: boolean; logger?: Logger } = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  await migrate(db);
  const ledger = createLedgerService({
    db,
    pipeline: {
      batchWeightMax: config.ledger.batchTransfersMax,
      batchesInFlightMax: config.ledger.batchesInFlightMax,
      queueWeightMax: config.ledger.queueTransfersMax,
    },
  });
  const expiry =
    options.workers === false
      ? null
      : startExpiryWorker(ledger, {
          intervalMs: config.ledger.holdExpiryIntervalMs,
          batchMax: config.ledger.holdExpiryBatchMax,
          logger,
        });
  return {
    config,
    logger,
    db,
    ledger,
    workers: { expiry },
    async close() {
      await expiry?.stop();
      await ledger.close();
      await db.close();
    },
  };
}
