// Expires holds whose timeout has passed, a bounded batch at a time. Several processes may run it
// against one PostgreSQL: an expiry's id is derived from its hold's, so a hold expires exactly once.
import type { Logger } from '../log/logger.ts';
import type { LedgerService } from './service.ts';

export interface ExpiryWorker {
  /** One pass: expires due holds until none is left or `passBatchesMax` batches ran; returns the count. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

const PASS_BATCHES_MAX = 100;

export function startExpiryWorker(
  ledger: LedgerService,
  options: { intervalMs: number; batchMax: number; logger?: Logger },
): ExpiryWorker {
  let stopped = false;
  let running: Promise<number> | null = null;

  async function pass(): Promise<number> {
    let expired = 0;
    for (let batch = 0; batch < PASS_BATCHES_MAX && !stopped; batch += 1) {
      const count = await ledger.expireDueHolds(options.batchMax);
      expired += count;
      if (count < options.batchMax) break;
    }
    return expired;
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const timer = setInterval(() => {
    if (running) return;
    runOnce().then(
      (count) => count > 0 && options.logger?.info({ expired: count }, 'holds expired'),
      (error: unknown) => options.logger?.error({ err: error }, 'hold expiry failed'),
    );
  }, options.intervalMs);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
