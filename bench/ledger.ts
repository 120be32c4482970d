// Ledger throughput benchmark: `npm run bench:ledger [-- options]`.
//
// Phases, in one run, each on a freshly truncated ledger with fresh accounts created (and funded)
// before its clock starts:
//   1. ceiling: raw multi-row INSERT ... SELECT FROM unnest() of 1,000 transfer rows per statement over
//      one connection, autocommitted, no checks, no balance updates: what the table alone can take.
//   2. cold:    the ledger service (group commit), transfers between random accounts out of 10,000,
//               `--in-flight` concurrent callers each awaiting one createTransfers([transfer]) at a time.
//   3. hot:     the same, but every transfer credits ONE merchant account; per-call latency recorded.
//   4. naive:   the usual design as a baseline: one database transaction per transfer (lock both
//               accounts, check the limit in JS, insert, update both balances, commit), all crediting
//               one hot merchant, over a pool of `--naive-pool` connections.
//   5. verify:  ledger.verify() at the end of each phase that keeps balances (cold, hot, naive), before
//               the next phase truncates the tables; drift = drift rows + asset imbalances + limit
//               violations, summed over the phases (must be 0).
//
// Progress goes to stderr about once a second; the last line on stdout is one JSON object of results.
// BENCH_TIMING=1 also prints, per ledger phase, how the time of the batches splits across statements;
// BENCH_EXPLAIN=1 prints the server's plans and timings of one batch's statements per ledger phase.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { AccountInput, Transfer, TransferInput } from '../src/ledger/model.ts';
import { createLedgerService, DEFAULT_PIPELINE_OPTIONS, type LedgerService } from '../src/ledger/service.ts';
import { LEDGER_LOCK_KEY, transferColumns } from '../src/ledger/store.ts';
import { openDatabase, sqlState, type Database, type SqlClient, type StoreKind } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { describeGc, startGcMeter, type GcFigures } from './gc-meter.ts';
import { timeStatements, type StatementTimer } from './timing.ts';

// ---------------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npm run bench:ledger -- [options]
  --store postgres|pglite   store to run on (default postgres: DATABASE_URL or
                            postgres://postgres@127.0.0.1:5432/micropay_bench, dropped and recreated)
  --quick                   fewer transfers per phase (the run takes under a minute)
  --in-flight N             concurrent callers of the ledger phases and of the naive phase (default 1000)
  --batches-in-flight N     group commits in flight at once (default ${DEFAULT_PIPELINE_OPTIONS.batchesInFlightMax}, DEFAULT_PIPELINE_OPTIONS)
  --pool-size N             PostgreSQL connections of the ledger's pool (default max(10, batches-in-flight + 2))
  --naive-pool N            PostgreSQL connections of the naive baseline's pool (default 16)
  --accounts N              accounts per phase (default 10000; half are funded buyer wallets)
  --ceiling N --cold N --hot N --naive N    transfers per phase (override the defaults)
  --phase-seconds N         time budget per phase (default 8 with --quick, else 45): a phase that
                            reaches it stops and reports the rate of the transfers done within it
  --warm-up-seconds N       load of the same kind before each phase driven by callers (cold, hot,
                            naive) is measured (default 1): the phase's rate and latencies are those of
                            the transfers sent after it, by callers already in their stride
  --cold-start              do not warm the ledger service's cache before a ledger phase (LedgerService.warm):
                            the phase then starts as a process just started would, reading every account
                            its first batches meet
  --drop-any-database       allow DATABASE_URL to name a database whose name lacks "bench"
  BENCH_TIMING=1            print a per-statement time breakdown of each ledger phase to stderr
  BENCH_TRACE=1             print when the calls at or above p99 of each ledger phase were sent, and
                            the phase's first 40 batches (size, when answered, slowest call)
  BENCH_EXPLAIN=1           also print EXPLAIN (ANALYZE, BUFFERS, WAL) of the statements of one batch per ledger phase`;

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    quick: { type: 'boolean', default: false },
    'in-flight': { type: 'string' },
    'batches-in-flight': { type: 'string' },
    'pool-size': { type: 'string' },
    'naive-pool': { type: 'string' },
    accounts: { type: 'string' },
    ceiling: { type: 'string' },
    cold: { type: 'string' },
    hot: { type: 'string' },
    naive: { type: 'string' },
    'phase-seconds': { type: 'string' },
    'warm-up-seconds': { type: 'string' },
    'cold-start': { type: 'boolean', default: false },
    'drop-any-database': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(0);
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    process.stderr.write(`--${name} must be a positive whole number, got "${raw}"\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(raw);
}

function nonNegative(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw)) {
    process.stderr.write(`--${name} must be a number of seconds, 0 or more, got "${raw}"\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(raw);
}

if (args.store !== 'postgres' && args.store !== 'pglite') {
  process.stderr.write(`--store must be postgres or pglite, got "${args.store}"\n${USAGE}\n`);
  process.exit(2);
}
const STORE: StoreKind = args.store;
const QUICK = args.quick;
const WARM = !args['cold-start'];
const TIMING = process.env.BENCH_TIMING === '1';
const TRACE = process.env.BENCH_TRACE === '1';
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';

// Transfers per phase. PGlite runs the database in this process on one core, so it gets fewer.
const DEFAULT_COUNTS = {
  postgres: QUICK
    ? { ceiling: 100_000, cold: 40_000, hot: 40_000, naive: 3_000 }
    : { ceiling: 600_000, cold: 300_000, hot: 300_000, naive: 15_000 },
  pglite: QUICK
    ? { ceiling: 50_000, cold: 20_000, hot: 20_000, naive: 3_000 }
    : { ceiling: 400_000, cold: 150_000, hot: 150_000, naive: 20_000 },
}[STORE];

const IN_FLIGHT = positive('in-flight', args['in-flight'], 1000);
const BATCHES_IN_FLIGHT = positive(
  'batches-in-flight',
  args['batches-in-flight'],
  DEFAULT_PIPELINE_OPTIONS.batchesInFlightMax,
);
const POOL_SIZE = positive('pool-size', args['pool-size'], Math.max(10, BATCHES_IN_FLIGHT + 2));
const NAIVE_POOL = positive('naive-pool', args['naive-pool'], 16);
const ACCOUNTS = positive('accounts', args.accounts, 10_000);
const COUNTS = {
  ceiling: positive('ceiling', args.ceiling, DEFAULT_COUNTS.ceiling),
  cold: positive('cold', args.cold, DEFAULT_COUNTS.cold),
  hot: positive('hot', args.hot, DEFAULT_COUNTS.hot),
  naive: positive('naive', args.naive, DEFAULT_COUNTS.naive),
};
// A time budget per phase, so that a slow machine still finishes: a phase that reaches it stops
// issuing transfers and reports the rate of those done within it.
const PHASE_SECONDS = positive('phase-seconds', args['phase-seconds'], QUICK ? 8 : 45);
// Before a phase driven by callers is measured, the same load runs this long: a busy server's ledger
// has its connections open, its code compiled and its callers arriving in their stride, where the
// load's first instant has all of them start at once on a service just opened (see docs/performance.md).
const WARM_UP_MS = nonNegative('warm-up-seconds', args['warm-up-seconds'], 1) * 1000;
const CEILING_ROWS_PER_STATEMENT = 1000;
const FUNDING = 1_000_000_000_000n; // per buyer wallet; transfers move 1..10,000 minor units
const ASSET = 'USD';

if (ACCOUNTS < 4) {
  process.stderr.write('--accounts must be at least 4\n');
  process.exit(2);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (value: number, digits = 0) => Number(value.toFixed(digits));
const randomAmount = () => BigInt(1 + Math.floor(Math.random() * 10_000));
const pickOne = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

// ---------------------------------------------------------------------------------------------------
// The store: a fresh PostgreSQL database, or PGlite in a fresh temporary folder.

interface Store {
  kind: StoreKind;
  where: string;
  /** A database handle; on PGlite every handle shares the one embedded instance. */
  open(poolSize: number): Promise<Database>;
  destroy(): Promise<void>;
}

async function createStore(kind: StoreKind): Promise<Store> {
  if (kind === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'micropay-bench-'));
    let shared: Database | null = null;
    try {
      shared = await openDatabase({ dataDir });
      await migrate(shared);
    } catch (error) {
      await shared?.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    const db = shared;
    return {
      kind,
      where: dataDir,
      async open() {
        return { ...db, kind: db.kind, close: async () => undefined };
      },
      async destroy() {
        await db.close().catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }

  const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/micropay_bench';
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL names no database: ${databaseUrl}`);
  if (!name.includes('bench') && !args['drop-any-database']) {
    throw new Error(
      `refusing to drop and recreate database "${name}" (its name lacks "bench"); ` +
        'pass --drop-any-database if that is really meant',
    );
  }
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const quoted = `"${name.replaceAll('"', '""')}"`;
  const admin = async (sql: string, params?: unknown[]) => {
    const db = await openDatabase({ databaseUrl: adminUrl.toString(), poolSize: 1 });
    try {
      return (await db.query<{ count: number }>(sql, params)).rows;
    } finally {
      await db.close();
    }
  };
  // Another run on the same database would be killed by DROP ... WITH (FORCE) (and would kill this
  // one in turn). A run holds a session advisory lock named after the database for its whole length
  // (its phases open and close their own pools, so counting connections alone would leave gaps), and
  // refuses to start while another run holds it or anything else is connected to the database.
  const lock = new pg.Client({ connectionString: adminUrl.toString() });
  lock.on('error', () => undefined);
  await lock.connect();
  const releaseLock = () => lock.end().catch(() => undefined);
  try {
    const locked = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
      `micropay-bench:${name}`,
    ]);
    const [inUse] = await admin('SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1', [name]);
    if (!locked.rows[0]?.locked || (inUse?.count ?? 0) > 0) {
      throw new Error(
        `database "${name}" is in use (${locked.rows[0]?.locked ? `${inUse?.count} open connection(s)` : 'another bench run holds it'}); ` +
          'wait for it, or point DATABASE_URL at another database (e.g. .../micropay_bench_2)',
      );
    }
    await admin(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${quoted}`);
    try {
      const migrator = await openDatabase({ databaseUrl, poolSize: 1 });
      try {
        await migrate(migrator);
      } finally {
        await migrator.close();
      }
    } catch (error) {
      await admin(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`).catch(() => undefined);
      throw error;
    }
  } catch (error) {
    await releaseLock();
    throw error;
  }
  return {
    kind,
    where: `${url.host}/${name}`,
    open: (poolSize) => openDatabase({ databaseUrl, poolSize }),
    destroy: async () => {
      try {
        await admin(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
      } finally {
        await releaseLock();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Accounts: truncate everything, create ACCOUNTS accounts (half funded buyer wallets, half unlimited
// merchants) plus one unlimited funding account, fund the buyers through the ledger.

interface Accounts {
  all: string[];
  buyers: string[];
  others: string[];
  /** The hot merchant: one of `others`. */
  merchant: string;
}

async function freshAccounts(db: Database): Promise<Accounts> {
  const started = performance.now();
  await db.query('TRUNCATE ledger_transfers, ledger_open_holds, ledger_accounts');
  const buyers = Array.from({ length: Math.floor(ACCOUNTS / 2) }, () => randomUUID());
  const others = Array.from({ length: ACCOUNTS - buyers.length }, () => randomUUID());
  const funding = randomUUID();
  const inputs: AccountInput[] = [
    { id: funding, asset: ASSET, kind: 'rail_settlement' },
    ...buyers.map((id): AccountInput => ({ id, asset: ASSET, kind: 'buyer_wallet', flags: { debitsMustNotExceedCredits: true } })),
    ...others.map((id): AccountInput => ({ id, asset: ASSET, kind: 'merchant' })),
  ];
  const ledger = createLedgerService({ db });
  try {
    for (let start = 0; start < inputs.length; start += 5000) {
      const results = await ledger.createAccounts(inputs.slice(start, start + 5000));
      const failed = results.find((result) => result.result !== 'created');
      if (failed) throw new Error(`account setup failed: ${failed.id} ${failed.result}`);
    }
    for (let start = 0; start < buyers.length; start += 5000) {
      const results = await ledger.createTransfers(
        buyers
          .slice(start, start + 5000)
          .map((buyer) => ({ id: randomUUID(), debitAccountId: funding, creditAccountId: buyer, amount: FUNDING, code: 1 })),
      );
      const failed = results.find((result) => result.result !== 'created');
      if (failed) throw new Error(`funding failed: ${failed.id} ${failed.result}`);
    }
  } finally {
    await ledger.close();
  }
  // Comparable starting points: fresh planner statistics, and no checkpoint debt from the last phase.
  await db.query('ANALYZE ledger_accounts');
  await db.query('ANALYZE ledger_transfers');
  if (db.kind === 'postgres') await db.query('CHECKPOINT');
  log(`  setup: ${inputs.length} accounts, ${buyers.length} buyer wallets funded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { all: [...buyers, ...others], buyers, others, merchant: others[0]! };
}

function randomPair(accounts: Accounts): [string, string] {
  const debit = pickOne(accounts.all);
  let credit = pickOne(accounts.all);
  while (credit === debit) credit = pickOne(accounts.all);
  return [debit, credit];
}

// ---------------------------------------------------------------------------------------------------
// Progress on stderr, about once a second. Checked on every completion as well as by a timer: PGlite
// answers through promises alone, so while it is busy the event loop may not reach its timers.

interface Progress {
  readonly done: number;
  readonly started: number;
  add(count: number): void;
  stop(): number;
}

function startProgress(phase: string, total: number, unit: string): Progress {
  const started = performance.now();
  let lastAt = started;
  let lastDone = 0;
  let done = 0;
  const report = (now: number) => {
    const rate = done / ((now - started) / 1000);
    const recent = (done - lastDone) / ((now - lastAt) / 1000);
    lastAt = now;
    lastDone = done;
    log(`  [${phase}] ${done}/${total} ${unit}  ${rate.toFixed(0)} ${unit}/s overall, ${recent.toFixed(0)}/s last second`);
  };
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - lastAt >= 1000) report(now);
  }, 250);
  timer.unref();
  return {
    get done() {
      return done;
    },
    started,
    add(count) {
      done += count;
      const now = performance.now();
      if (now - lastAt >= 1000) report(now);
    },
    stop() {
      clearInterval(timer);
      return performance.now() - started;
    },
  };
}

interface Driven {
  /** The timed window: until the last call completed, or until the phase's time budget ran out. */
  ms: number;
  /** Calls completed within the window (some of the warm-up's among them). */
  done: number;
  /** Until every call issued completed (the calls in flight when the budget ran out included). */
  totalMs: number;
  /** Whether the time budget stopped the phase before `total` calls. */
  cut: boolean;
}

/**
 * Runs `callers` loops that each call `next` without a pause: first for `WARM_UP_MS` (calls made with
 * `measured` false), then until `total` measured calls were issued or the phase's time budget ran out;
 * the calls in flight then finish but are not counted in the window. The window opens, and `measuring`
 * runs, when the first caller finds the warm-up over. Its rate counts every call completed in it: the
 * warm-up's calls still in flight then finish inside it, and with a slow design (the naive baseline,
 * whose calls take longer than the warm-up) leaving them out would undercount it.
 */
async function drive(
  phase: string,
  total: number,
  callers: number,
  next: (measured: boolean) => Promise<void>,
  measuring: () => void = () => undefined,
): Promise<Driven> {
  const started = performance.now();
  let progress: Progress | null = null;
  let warmUpCalls = 0;
  const begin = (): Progress => {
    const warmUpMs = performance.now() - started;
    if (WARM_UP_MS > 0) {
      log(`  [${phase}] warm-up: ${warmUpCalls} transfers in ${(warmUpMs / 1000).toFixed(2)} s; measuring from here`);
    }
    measuring();
    progress = startProgress(phase, total, 'transfers');
    return progress;
  };
  const budget: { cut: { ms: number; done: number } | null } = { cut: null };
  // Checked by the callers rather than by a timer, which PGlite could starve (see startProgress).
  const budgetLeft = (window: Progress): boolean => {
    if (budget.cut) return false;
    const elapsed = performance.now() - window.started;
    if (elapsed < PHASE_SECONDS * 1000) return true;
    budget.cut = { ms: elapsed, done: window.done };
    log(`  [${phase}] time budget of ${PHASE_SECONDS} s reached; draining the calls in flight`);
    return false;
  };
  let issued = 0;
  let failure: unknown = null;
  const loop = async () => {
    while (failure === null) {
      const warmingUp = progress === null && performance.now() - started < WARM_UP_MS;
      const window = warmingUp ? null : (progress ?? begin());
      if (window !== null && (issued >= total || !budgetLeft(window))) return;
      if (window !== null) issued += 1;
      else warmUpCalls += 1;
      try {
        await next(window !== null);
      } catch (error) {
        failure ??= error;
        return;
      }
      (progress as Progress | null)?.add(1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(callers, total) }, loop));
  const window = progress as Progress | null;
  if (failure !== null) throw failure;
  if (window === null) throw new Error(`${phase}: the phase ended before its warm-up did`);
  const totalMs = window.stop();
  const { cut } = budget;
  return cut ? { ...cut, totalMs, cut: true } : { ms: totalMs, done: window.done, totalMs, cut: false };
}

/** Where the calls at or above p99 were sent, by 250 ms of the phase: whether the tail is a moment
 * (the cache filling at the start, a checkpoint) or spread out. */
function traceSlowest(phase: string, sorted: Float64Array, latencies: number[], sentAt: number[]): string {
  const p99 = percentile(sorted, 99);
  const windows = new Map<number, number>();
  latencies.forEach((latency, index) => {
    if (latency < p99) return;
    const window = Math.floor(sentAt[index]! / 250);
    windows.set(window, (windows.get(window) ?? 0) + 1);
  });
  const shown = [...windows].sort((a, b) => a[0] - b[0]).map(([window, count]) => `${window * 250} ms: ${count}`);
  return `  [${phase}] calls at or above p99 (${p99.toFixed(1)} ms), by when they were sent: ${shown.join(', ')}`;
}

/** The phase's first answers grouped by batch (the calls of a batch are answered together): how many,
 * when the first of them was answered, and the slowest of them. Shows how long a start takes to settle. */
function traceFirstBatches(phase: string, latencies: number[], sentAt: number[]): string {
  const answers = latencies.map((latency, index) => [sentAt[index]! + latency, latency] as const).sort((a, b) => a[0] - b[0]);
  const groups: string[] = [];
  let first = 0;
  for (let index = 1; index <= answers.length && groups.length < 40; index += 1) {
    if (index < answers.length && answers[index]![0] - answers[index - 1]![0] <= 0.3) continue;
    const group = answers.slice(first, index);
    const slowest = group.reduce((max, answer) => Math.max(max, answer[1]), 0);
    groups.push(`${group.length} at ${group[0]![0].toFixed(0)} ms (slowest ${slowest.toFixed(0)} ms)`);
    first = index;
  }
  return `  [${phase}] first answers by batch: ${groups.join(', ')}`;
}

/** The pipeline's counters over the measured window: `after` less `before` (`queued` is a level, kept). */
function since<T extends { queued: number }>(after: T, before: T): T {
  const entries = Object.entries(after).map(([key, value]) => [key, key === 'queued' ? value : (value as number) - (before[key as keyof T] as number)]);
  return Object.fromEntries(entries) as T;
}

/** Numbers a phase records, in one typed array allocated up front (doubled if it fills): recording
 * 300,000 latencies in a growing array would hand the measured process's collector megabytes of
 * discarded copies, and old-generation collections with them. */
class Samples {
  private data: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length] = value;
    this.length += 1;
  }
  values(): number[] {
    return Array.from(this.data.subarray(0, this.length));
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** drift rows + asset imbalance rows + limit violations of the ledger as it stands. */
async function verifyDrift(ledger: LedgerService, phase: string): Promise<number> {
  const started = performance.now();
  const report = await ledger.verify();
  const drift = report.drift.length + report.assetImbalance.length + report.limitViolations.length;
  log(
    `  [${phase}] verify: ${report.transfersChecked} transfers, ${report.accountsChecked} accounts, ` +
      `drift ${report.drift.length}, asset imbalance ${report.assetImbalance.length}, ` +
      `limit violations ${report.limitViolations.length}, ok=${report.ok} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return drift;
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting, to tell where a phase's time went: this process, the PostgreSQL backends serving this
// database (read from /proc when the server is local), and the whole machine.

function readProcTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
  } catch {
    return null;
  }
}

function readMachineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

const CLOCK_TICKS_PER_S = 100;

/** Starts measuring; the returned function describes the CPU used since, over `wallMs`. */
async function startCpuMeter(db: Database | null): Promise<(wallMs: number) => string> {
  const node = process.cpuUsage();
  const machine = readMachineTicks();
  let backends: Array<{ pid: number; ticks: number }> = [];
  if (db?.kind === 'postgres') {
    const rows = await db.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    const self = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pids = [...rows.rows, ...self.rows].map((row) => row.pid);
    backends = pids.flatMap((pid) => {
      const ticks = readProcTicks(pid);
      return ticks === null ? [] : [{ pid, ticks }];
    });
  }
  return (wallMs) => {
    const used = process.cpuUsage(node);
    const parts = [`node CPU ${(((used.user + used.system) / 1000 / wallMs) * 100).toFixed(0)}%`];
    if (backends.length > 0) {
      const ticks = backends.reduce((sum, backend) => sum + ((readProcTicks(backend.pid) ?? backend.ticks) - backend.ticks), 0);
      parts.push(`db backends CPU ${((ticks / CLOCK_TICKS_PER_S / (wallMs / 1000)) * 100).toFixed(0)}% (${backends.length} backends)`);
    }
    const after = readMachineTicks();
    if (machine && after && after.total > machine.total) {
      parts.push(
        `machine busy ${(((after.busy - machine.busy) / (after.total - machine.total)) * 100).toFixed(0)}% of ${cpus().length} cores`,
      );
    }
    return parts.join(', ');
  };
}

/** Opens `connections` connections of a PostgreSQL pool, and the serial one, before the clock starts
 * (PGlite has one). */
async function warmPool(db: Database, connections: number): Promise<void> {
  if (db.kind !== 'postgres') return;
  await Promise.all([
    ...Array.from({ length: connections }, () => db.transaction((tx) => tx.query('SELECT pg_sleep(0.05)'))),
    db.serial.query('SELECT 1'),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Phase 1: ceiling

// The same columns and casts as store.insertTransfers, without ON CONFLICT.
const CEILING_INSERT_SQL = `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind,
    pending_id, pending_amount, timeout_seconds, expires_at, code, metadata, created_at)
  SELECT t.id, t.debit_account_id, t.credit_account_id, t.asset, t.amount, t.kind, t.pending_id,
    t.pending_amount, t.timeout_seconds, t.expires_at, t.code, t.metadata::jsonb, $12::timestamptz
  FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int8[], $6::int2[], $7::uuid[], $8::int8[],
    $9::int4[], $10::timestamptz[], $11::int4[], $13::text[])
    AS t(id, debit_account_id, credit_account_id, asset, amount, kind, pending_id, pending_amount,
         timeout_seconds, expires_at, code, metadata)`;

class RollBack extends Error {}

/** BENCH_EXPLAIN: the server's plan and time for one ceiling statement, in a transaction rolled back. */
async function explainRolledBack(db: Database, sql: string, columns: unknown[]): Promise<void> {
  await db
    .transaction(async (tx) => {
      const plan = await tx.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS, WAL) ${sql}`, [
        ...columns.slice(0, 11),
        new Date().toISOString(),
        columns[11],
      ]);
      log(['  EXPLAIN ANALYZE of the ceiling INSERT (1,000 rows):', ...plan.rows.map((row) => `    ${String(Object.values(row)[0])}`)].join('\n'));
      throw new RollBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RollBack)) throw error;
    });
}

async function ceilingPhase(store: Store): Promise<{ perSecond: number; rows: number; cut: boolean }> {
  log(`phase ceiling: ${COUNTS.ceiling} rows, ${CEILING_ROWS_PER_STATEMENT} per INSERT ... SELECT FROM unnest(), one connection`);
  const db = await store.open(1);
  try {
    const accounts = await freshAccounts(db);
    const build = (size: number): unknown[] => {
      const now = new Date();
      const transfers: Transfer[] = Array.from({ length: size }, () => {
        const [debitAccountId, creditAccountId] = randomPair(accounts);
        return {
          id: randomUUID(),
          debitAccountId,
          creditAccountId,
          asset: ASSET,
          amount: randomAmount(),
          kind: 'posted',
          pendingId: null,
          pendingAmount: null,
          timeoutSeconds: 0,
          expiresAt: null,
          code: 1,
          metadata: null,
          createdAt: now,
        };
      });
      return transferColumns(db, transfers);
    };
    const sizeAt = (start: number) => Math.min(CEILING_ROWS_PER_STATEMENT, COUNTS.ceiling - start);
    if (EXPLAIN) await explainRolledBack(db, CEILING_INSERT_SQL, build(CEILING_ROWS_PER_STATEMENT));
    const cpu = await startCpuMeter(db);
    const progress = startProgress('ceiling', COUNTS.ceiling, 'rows');
    let columns = build(sizeAt(0));
    let cut = false;
    for (let start = 0; start < COUNTS.ceiling; start += CEILING_ROWS_PER_STATEMENT) {
      if (performance.now() - progress.started > PHASE_SECONDS * 1000) {
        cut = true;
        log(`  [ceiling] time budget of ${PHASE_SECONDS} s reached`);
        break;
      }
      // Autocommitted. The next statement's rows are built while this one runs, so that the clock
      // measures the database.
      const running = db.query(
        CEILING_INSERT_SQL,
        [...columns.slice(0, 11), new Date().toISOString(), columns[11]],
      );
      const nextStart = start + CEILING_ROWS_PER_STATEMENT;
      const next = nextStart < COUNTS.ceiling ? build(sizeAt(nextStart)) : null;
      progress.add((await running).rowCount);
      if (next) columns = next;
    }
    const ms = progress.stop();
    const perSecond = progress.done / (ms / 1000);
    log(`  [ceiling] ${progress.done} rows in ${(ms / 1000).toFixed(2)} s: ${perSecond.toFixed(0)} rows/s, ${cpu(ms)}`);
    return { perSecond, rows: progress.done, cut };
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Phases 2 and 3: the ledger, cold (random accounts) and hot (one merchant credited by every transfer)

interface LedgerPhaseResult {
  perSecond: number;
  transfers: number;
  cut: boolean;
  failed: number;
  p50: number;
  p99: number;
  /** p99 of the warm-up's calls, the load's first instant included. */
  warmUpP99: number;
  max: number;
  batches: number;
  averageBatch: number;
  retries: number;
  splits: number;
  drift: number;
  /** This process's garbage-collection pauses during the phase. */
  gc: GcFigures;
}

async function ledgerPhase(store: Store, phase: 'cold' | 'hot', total: number): Promise<LedgerPhaseResult> {
  log(
    `phase ${phase}: ${total} transfers through createTransfers, ${IN_FLIGHT} callers in flight, ` +
      `batchesInFlightMax ${STORE === 'pglite' ? 1 : BATCHES_IN_FLIGHT}` +
      (phase === 'hot' ? ', every transfer credits one merchant' : ', random accounts'),
  );
  const raw = await store.open(POOL_SIZE);
  try {
    const accounts = await freshAccounts(raw);
    const timer: StatementTimer | null = TIMING || EXPLAIN ? timeStatements(raw, EXPLAIN ? { explain: log } : {}) : null;
    const ledger = createLedgerService({
      db: timer?.db ?? raw,
      pipeline: { batchesInFlightMax: BATCHES_IN_FLIGHT },
    });
    try {
      const latencies = new Samples(total);
      const sentAt = new Samples(total);
      let failed = 0;
      const firstFailures = new Map<string, number>();
      const make = (): TransferInput => {
        const [debitAccountId, creditAccountId] =
          phase === 'hot' ? [pickOne(accounts.buyers), accounts.merchant] : randomPair(accounts);
        return { id: randomUUID(), debitAccountId, creditAccountId, amount: randomAmount(), code: 1 };
      };
      await warmPool(raw, Math.min(POOL_SIZE, BATCHES_IN_FLIGHT));
      // A busy server's ledger service has been running: its cache holds the accounts it meets (the
      // server warms it when it starts). --cold-start measures a service that has just started instead.
      if (WARM) {
        const warmed = await ledger.warm();
        log(`  [${phase}] cache warmed: ${warmed.accounts} accounts in ${warmed.ms.toFixed(0)} ms`);
      }
      const warmUpLatencies = new Samples(IN_FLIGHT * 100);
      const gc = startGcMeter();
      let phaseStart = performance.now();
      let cpu: Promise<(wallMs: number) => string> | null = null;
      let statsBefore = ledger.pipelineStats();
      const driven = await drive(
        phase,
        total,
        IN_FLIGHT,
        async (measured) => {
          const transfer = make();
          const sent = performance.now();
          const [result] = await ledger.createTransfers([transfer]);
          if (measured) {
            latencies.push(performance.now() - sent);
            sentAt.push(sent - phaseStart);
          } else {
            warmUpLatencies.push(performance.now() - sent);
          }
          if (result?.result !== 'created') {
            failed += 1;
            const code = result?.result ?? 'no result';
            firstFailures.set(code, (firstFailures.get(code) ?? 0) + 1);
          }
        },
        () => {
          phaseStart = performance.now();
          gc.reset();
          timer?.reset();
          statsBefore = ledger.pipelineStats();
          cpu = startCpuMeter(raw);
        },
      );
      const { ms, done } = driven;
      const cpuUsed = (await cpu!)(driven.totalMs);
      const gcFigures = await gc.read();
      gc.stop();
      const stats = since(ledger.pipelineStats(), statsBefore);
      const sorted = latencies.sorted();
      if (TRACE) log(traceSlowest(phase, sorted, latencies.values(), sentAt.values()));
      if (TRACE) log(traceFirstBatches(phase, latencies.values(), sentAt.values()));
      const result: LedgerPhaseResult = {
        perSecond: done / (ms / 1000),
        transfers: done,
        cut: driven.cut,
        failed,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        warmUpP99: percentile(warmUpLatencies.sorted(), 99),
        max: sorted[sorted.length - 1] ?? 0,
        batches: stats.batches,
        averageBatch: stats.batches > 0 ? stats.units / stats.batches : 0,
        retries: stats.retries,
        splits: stats.splits,
        drift: 0,
        gc: gcFigures,
      };
      log(
        `  [${phase}] ${done} transfers in ${(ms / 1000).toFixed(2)} s: ${result.perSecond.toFixed(0)} transfers/s, ` +
          `latency p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms, failed ${failed}` +
          (firstFailures.size > 0 ? ` (${[...firstFailures].map(([code, n]) => `${code}: ${n}`).join(', ')})` : ''),
      );
      log(`  [${phase}] ${cpuUsed}`);
      log(`  [${phase}] ${describeGc(gcFigures, driven.totalMs / 1000)}`);
      log(
        `  [${phase}] pipelineStats: ${JSON.stringify(stats)}; average batch ${result.averageBatch.toFixed(1)} transfers, ` +
          `${(result.batches / (driven.totalMs / 1000)).toFixed(1)} batches/s, ` +
          `${(driven.totalMs / Math.max(1, result.batches)).toFixed(2)} ms per batch`,
      );
      if (timer) log(timer.report(driven.totalMs));
      result.drift = await verifyDrift(ledger, phase);
      return result;
    } finally {
      await ledger.close();
    }
  } finally {
    await raw.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Phase 4: naive hot: one database transaction per transfer, all crediting one merchant.

interface NaiveResult {
  perSecond: number;
  transfers: number;
  cut: boolean;
  failed: number;
  retries: number;
  p50: number;
  p99: number;
  drift: number;
}

interface NaiveAccountRow {
  id: string;
  flags: number;
  overdraft_limit: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_posted: bigint;
}

class LimitExceeded extends Error {}

async function naiveTransfer(tx: SqlClient, debit: string, credit: string, amount: bigint): Promise<void> {
  const locked = await tx.query<NaiveAccountRow>(
    `SELECT id, flags, overdraft_limit, checkpoint_debits_pending AS debits_pending,
       checkpoint_debits_posted AS debits_posted, checkpoint_credits_posted AS credits_posted
     FROM ledger_accounts WHERE id IN ($1::uuid, $2::uuid) ORDER BY id FOR UPDATE`,
    [debit, credit],
  );
  const debitRow = locked.rows.find((row) => row.id === debit);
  if (!debitRow || locked.rows.length !== 2) throw new Error('naive: account not found');
  if (
    debitRow.flags === 1 &&
    debitRow.debits_pending + debitRow.debits_posted + amount > debitRow.credits_posted + debitRow.overdraft_limit
  ) {
    throw new LimitExceeded('exceeds_credits');
  }
  const inserted = await tx.query<{ seq: bigint }>(
    `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, pending_id,
       pending_amount, timeout_seconds, expires_at, code, metadata, created_at)
     VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5::int8, 0, NULL, NULL, 0, NULL, 1, NULL, now())
     RETURNING seq`,
    [randomUUID(), debit, credit, ASSET, amount.toString()],
  );
  // The row holds every transfer of the account, so its checkpoint is the highest seq it holds.
  await tx.query(
    `UPDATE ledger_accounts
     SET checkpoint_debits_posted = checkpoint_debits_posted + CASE WHEN id = $1::uuid THEN $3::int8 ELSE 0 END,
         checkpoint_credits_posted = checkpoint_credits_posted + CASE WHEN id = $2::uuid THEN $3::int8 ELSE 0 END,
         balance_seq = greatest(balance_seq, $4::int8)
     WHERE id IN ($1::uuid, $2::uuid)`,
    [debit, credit, amount.toString(), inserted.rows[0]!.seq.toString()],
  );
}

async function naivePhase(store: Store): Promise<NaiveResult> {
  const poolSize = STORE === 'pglite' ? 1 : NAIVE_POOL;
  log(
    `phase naive hot: ${COUNTS.naive} transfers, one database transaction each, ${IN_FLIGHT} callers over ` +
      `${STORE === 'pglite' ? 'the single PGlite connection' : `a pool of ${poolSize} connections`}, one hot merchant`,
  );
  const db = await store.open(poolSize);
  try {
    const accounts = await freshAccounts(db);
    // The naive baseline keeps every balance in its row, as most ledgers do: start it from rows that
    // hold every transfer so far (the ledger writes balances back only now and then: docs/ledger.md).
    await db.transaction(
      (tx) =>
        tx.query(
          `UPDATE ledger_accounts AS a
           SET checkpoint_debits_pending = b.debits_pending, checkpoint_debits_posted = b.debits_posted,
               checkpoint_credits_pending = b.credits_pending, checkpoint_credits_posted = b.credits_posted,
               balance_seq = (SELECT seq FROM ledger_head)
           FROM ledger_balances AS b WHERE b.id = a.id AND b.unflushed > 0`,
        ),
      { advisoryLock: LEDGER_LOCK_KEY },
    );
    const latencies = new Samples(COUNTS.naive);
    let failed = 0;
    let retries = 0;
    await warmPool(db, poolSize);
    let cpu: Promise<(wallMs: number) => string> | null = null;
    const driven = await drive(
      'naive',
      COUNTS.naive,
      IN_FLIGHT,
      async (measured) => {
        const buyer = pickOne(accounts.buyers);
        const amount = randomAmount();
        const sent = performance.now();
        for (let attempt = 0; ; attempt += 1) {
          try {
            await db.transaction((tx) => naiveTransfer(tx, buyer, accounts.merchant, amount));
            break;
          } catch (error) {
            if (error instanceof LimitExceeded) {
              failed += 1;
              break;
            }
            const state = sqlState(error);
            if (attempt < 4 && (state === '40P01' || state === '40001')) {
              retries += 1;
              continue;
            }
            throw error;
          }
        }
        if (measured) latencies.push(performance.now() - sent);
      },
      () => {
        cpu = startCpuMeter(db);
      },
    );
    const { ms, done } = driven;
    const cpuUsed = (await cpu!)(driven.totalMs);
    // Its inserts bypassed the ledger: move the head past them, as a batch would have, so that a later
    // write-back on this database cannot checkpoint a row below transfers it already holds.
    await db.query(`UPDATE ledger_head SET seq = (SELECT coalesce(max(seq), 0) FROM ledger_transfers), token = gen_random_uuid()`);
    const sorted = latencies.sorted();
    const result: NaiveResult = {
      perSecond: done / (ms / 1000),
      transfers: done,
      cut: driven.cut,
      failed,
      retries,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      drift: 0,
    };
    log(
      `  [naive] ${done} transfers in ${(ms / 1000).toFixed(2)} s: ${result.perSecond.toFixed(0)} transfers/s, ` +
        `latency p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, failed ${failed}, retries ${retries}`,
    );
    log(`  [naive] ${cpuUsed}`);
    const ledger = createLedgerService({ db });
    try {
      result.drift = await verifyDrift(ledger, 'naive');
    } finally {
      await ledger.close();
    }
    return result;
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------

/** The commit measured, and whether src/ had uncommitted changes then (best effort; null outside git). */
function codeVersion(): string | null {
  try {
    const run = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${run('rev-parse', '--short', 'HEAD')}${run('status', '--porcelain', '--', 'src') ? '+uncommitted-src' : ''}`;
  } catch {
    return null;
  }
}

const CODE = codeVersion();

async function main(): Promise<void> {
  const started = performance.now();
  log(
    `bench:ledger store=${STORE}${QUICK ? ' (quick)' : ''} in_flight=${IN_FLIGHT} batches_in_flight=${BATCHES_IN_FLIGHT} ` +
      `pool=${POOL_SIZE} naive_pool=${NAIVE_POOL} accounts=${ACCOUNTS} counts=${JSON.stringify(COUNTS)} ` +
      `phase_seconds=${PHASE_SECONDS} code=${CODE}`,
  );
  const store = await createStore(STORE);
  log(`store: ${store.kind} at ${store.where}`);
  let summary: Record<string, unknown>;
  try {
    const ceiling = await ceilingPhase(store);
    const cold = await ledgerPhase(store, 'cold', COUNTS.cold);
    const hot = await ledgerPhase(store, 'hot', COUNTS.hot);
    const naive = await naivePhase(store);
    const drift = cold.drift + hot.drift + naive.drift;
    log(`phase verify: drift ${drift} (cold ${cold.drift}, hot ${hot.drift}, naive ${naive.drift})`);

    const coldVsCeiling = cold.perSecond / ceiling.perSecond;
    const hotVsCold = hot.perSecond / cold.perSecond;
    const hotVsNaive = hot.perSecond / naive.perSecond;
    summary = {
      store: STORE,
      code: CODE,
      quick: QUICK,
      warm_cache: WARM,
      in_flight: IN_FLIGHT,
      batches_in_flight: STORE === 'pglite' ? 1 : BATCHES_IN_FLIGHT,
      accounts: ACCOUNTS,
      transfers_per_s: round(cold.perSecond),
      hot_transfers_per_s: round(hot.perSecond),
      naive_hot_transfers_per_s: round(naive.perSecond),
      ceiling_transfers_per_s: round(ceiling.perSecond),
      p50_ms: round(hot.p50, 2),
      p99_ms: round(hot.p99, 2),
      warm_up_s: WARM_UP_MS / 1000,
      hot_warm_up_p99_ms: round(hot.warmUpP99, 2),
      hot_gc_pause_max_ms: hot.gc.maxMs,
      hot_gc_ms: hot.gc.totalMs,
      cold_p50_ms: round(cold.p50, 2),
      cold_p99_ms: round(cold.p99, 2),
      naive_p50_ms: round(naive.p50, 2),
      naive_p99_ms: round(naive.p99, 2),
      drift,
      ceiling_transfers: ceiling.rows,
      cold_transfers: cold.transfers,
      hot_transfers: hot.transfers,
      naive_transfers: naive.transfers,
      phases_cut_by_time: [
        ...(ceiling.cut ? ['ceiling'] : []),
        ...(cold.cut ? ['cold'] : []),
        ...(hot.cut ? ['hot'] : []),
        ...(naive.cut ? ['naive'] : []),
      ],
      failed_transfers: cold.failed + hot.failed + naive.failed,
      cold_avg_batch: round(cold.averageBatch, 1),
      hot_avg_batch: round(hot.averageBatch, 1),
      cold_vs_ceiling: round(coldVsCeiling, 3),
      hot_vs_cold: round(hotVsCold, 3),
      hot_vs_naive: round(hotVsNaive, 2),
      targets_met: {
        cold_ge_half_ceiling: coldVsCeiling >= 0.5,
        hot_ge_0_9_cold: hotVsCold >= 0.9,
        hot_ge_10x_naive: hotVsNaive >= 10,
        p99_le_25ms: hot.p99 <= 25,
        drift_zero: drift === 0,
      },
    };
  } finally {
    await store.destroy().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  }
  summary.elapsed_s = round((performance.now() - started) / 1000, 1);
  summary.loadavg_1m = round(loadavg()[0] ?? 0, 2);
  log(`done in ${summary.elapsed_s} s`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  log(`bench:ledger failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
