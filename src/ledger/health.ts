// The ledger's health for the operator's console: the same verification as `micropay ledger verify`
// (verify.ts), run at most once a minute per process and within a time limit, because it reads every
// account and every transfer. Requests in between answer the last result; concurrent requests share
// one run.
import type { Database } from '../store/database.ts';
import { sqlState } from '../store/database.ts';
import type { VerifyReport } from './model.ts';
import { verifyLedger } from './verify.ts';

export const HEALTH_CACHE_TTL_MS = 60_000;
/** A refresh asked for sooner than this after the last run answers that run instead. */
export const HEALTH_REFRESH_INTERVAL_MS_MIN = 5_000;
export const HEALTH_TIME_LIMIT_MS = 10_000;

export interface LedgerHealthCheck {
  report: VerifyReport;
  checkedAt: Date;
  durationMs: number;
  /** Whether this answer is an earlier run's (cached), not one run for this request. */
  cached: boolean;
}

export type LedgerHealthResult = { ok: true; check: LedgerHealthCheck } | { ok: false; code: 'ledger_verify_timeout' };

export interface LedgerHealth {
  check(options?: { refresh?: boolean }): Promise<LedgerHealthResult>;
  /** Resolves once no verification is running (one may outlive the request that started it). */
  idle(): Promise<void>;
}

export interface LedgerHealthOptions {
  db: Database;
  cacheTtlMs?: number;
  timeLimitMs?: number;
  now?: () => number;
}

/** PostgreSQL's "canceling statement due to statement timeout". */
const QUERY_CANCELED = '57014';

export function createLedgerHealth(options: LedgerHealthOptions): LedgerHealth {
  const { db } = options;
  const cacheTtlMs = options.cacheTtlMs ?? HEALTH_CACHE_TTL_MS;
  const timeLimitMs = options.timeLimitMs ?? HEALTH_TIME_LIMIT_MS;
  const now = options.now ?? Date.now;
  let last: Omit<LedgerHealthCheck, 'cached'> | null = null;
  let running: Promise<Omit<LedgerHealthCheck, 'cached'> | 'timeout'> | null = null;

  function run(): Promise<Omit<LedgerHealthCheck, 'cached'> | 'timeout'> {
    if (running) return running;
    const startedMs = now();
    // PostgreSQL cancels a statement past the limit, and the request stops waiting at the limit (a run
    // that still finishes is kept for the next request). PGlite ignores statement_timeout and runs its
    // queries on this thread without yielding to timers: there the limit cannot interrupt anything.
    running = verifyLedger(db, { statementTimeoutMs: timeLimitMs })
      .then((report) => {
        last = { report, checkedAt: new Date(startedMs), durationMs: Math.max(0, now() - startedMs) };
        return last;
      })
      .catch((error: unknown) => {
        if (sqlState(error) === QUERY_CANCELED) return 'timeout' as const;
        throw error;
      })
      .finally(() => {
        running = null;
      });
    // A run that fails after its request stopped waiting must not become an unhandled rejection.
    running.catch(() => undefined);
    return running;
  }

  return {
    async check({ refresh = false } = {}) {
      const ageMs = last ? now() - last.checkedAt.getTime() - last.durationMs : Infinity;
      const fresh = ageMs < (refresh ? HEALTH_REFRESH_INTERVAL_MS_MIN : cacheTtlMs);
      if (last && fresh) return { ok: true, check: { ...last, cached: true } };
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeLimitMs);
      });
      try {
        const outcome = await Promise.race([run(), deadline]);
        if (outcome === 'timeout') return { ok: false, code: 'ledger_verify_timeout' };
        return { ok: true, check: { ...outcome, cached: false } };
      } finally {
        clearTimeout(timer);
      }
    },

    async idle() {
      await running?.catch(() => undefined);
    },
  };
}
