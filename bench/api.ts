// API throughput benchmark: `npm run bench:api [-- options]`.
//
// One run, over loopback, on this machine:
//   1. database: a fresh PostgreSQL database (DATABASE_URL, default
//      postgres://postgres@127.0.0.1:5432/micropay_bench_api; dropped and recreated, and only if its
//      name contains "bench").
//   2. seed (in this process, through the services, before any clock starts): merchants with secret
//      test keys and a platform fee (one hot merchant, a few others), thousands of customers whose
//      buyer wallets are funded through the ledger as a settled top-up would be.
//   3. payments: the Micropay server in a child process (bench/api-server.ts: startServer, as `micropay
//      start` runs it, workers included), loaded by autocannon in this process with create-and-confirm
//      payments, `POST /v1/payments` with `confirm: true`, each from a random buyer, `--hot-share` of
//      them to the hot merchant, each with its own Idempotency-Key (as the SDK sends). A warm-up first.
//   4. hello: a plain Fastify hello-world in a child process (bench/api-hello.ts), loaded the same way
//      (same connections, same duration, GET /). Then the floor, on the same process: the payment
//      requests themselves, validated and answered through the API's schemas and nothing else. Then the
//      durable floor: the same, plus one row per payment committed in PostgreSQL before the answer.
//   5. verify: ledger.verify() on the database after the load: drift = drift rows + asset imbalances +
//      limit violations (must be 0); the payments in the database are counted against the 2xx answers.
//
// Server and baseline each run in their own process, and autocannon in this one, so that the load
// generator does not steal the server's event loop. On a 2-core machine PostgreSQL, the server and
// autocannon share the cores: the figures are of the whole machine, and the ratio between the two
// servers, measured in one run, is the figure to compare across runs.
//
// Progress goes to stderr; the last line on stdout is one JSON object of results.
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import pg from 'pg';
import { ledgerId, newId } from '../src/api/ids.ts';
import { TRANSFER_CODES } from '../src/books/service.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/log/logger.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';
import { openDatabase } from '../src/store/database.ts';
import type { StatementStats } from './api-statements.ts';
import { describeGc } from './gc-meter.ts';

const USAGE = `usage: npm run bench:api -- [options]
  --quick                 short phases and fewer buyers (the run takes under a minute)
  --seconds N             measured seconds per server (default 30; 8 with --quick)
  --warmup-seconds N      unmeasured load before each measurement (default 5; 2 with --quick)
  --connections N         concurrent HTTP connections of autocannon, for both servers (default 50)
  --buyers N              customers with funded wallets, over all merchants (default 5000; 2000 with --quick)
  --merchants N           merchants, the first one hot (default 4)
  --hot-share F           share of payments going to the hot merchant, 0..1 (default 0.8)
  --pool-size N           the server's PostgreSQL connections, DATABASE_POOL_SIZE (default the server's, 10)
  --log-level L           the server's LOG_LEVEL (default warn: no line per request, like the baseline)
  --without-idempotency-key   send payments without an Idempotency-Key (to measure what the key costs)
  --profile DIR           write a V8 CPU profile of the server process into DIR (--cpu-prof)
  --server-node-flags S   Node flags of the Micropay server process, space-separated (default "--max-semi-space-size=64", as npm start)
  --keep-database         leave the database in place after the run, for inspection
  --drop-any-database     allow DATABASE_URL to name a database whose name lacks "bench"
Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/micropay_bench_api);
  DURABLE_FLOOR_CONNECTIONS (default 1): commits the durable floor keeps in flight, one per connection.`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    'warmup-seconds': { type: 'string' },
    connections: { type: 'string' },
    buyers: { type: 'string' },
    merchants: { type: 'string' },
    'hot-share': { type: 'string' },
    'pool-size': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'without-idempotency-key': { type: 'boolean', default: false },
    profile: { type: 'string' },
    'server-node-flags': { type: 'string' },
    'keep-database': { type: 'boolean', default: false },
    'drop-any-database': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(0);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function whole(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) fail(`--${name} must be a whole number of at least ${min}, got "${raw}"`);
  return Number(raw);
}

const QUICK = args.quick;
const SECONDS = whole('seconds', args.seconds, QUICK ? 8 : 30);
const WARMUP_SECONDS = whole('warmup-seconds', args['warmup-seconds'], QUICK ? 2 : 5, 0);
const CONNECTIONS = whole('connections', args.connections, 50);
const BUYERS = whole('buyers', args.buyers, QUICK ? 2000 : 5000);
const MERCHANTS = whole('merchants', args.merchants, 4);
const HOT_SHARE = args['hot-share'] === undefined ? 0.8 : Number(args['hot-share']);
if (!(HOT_SHARE >= 0 && HOT_SHARE <= 1)) fail(`--hot-share must be between 0 and 1, got "${args['hot-share']}"`);
if (BUYERS < MERCHANTS) fail('--buyers must be at least --merchants');
const POOL_SIZE = args['pool-size'] === undefined ? undefined : whole('pool-size', args['pool-size'], 10);
const IDEMPOTENCY_KEYS = !args['without-idempotency-key'];

const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/micropay_bench_api';
const CURRENCY = 'USD';
/** Each wallet holds far more than the run can spend: a refusal would be an error of the benchmark. */
const WALLET_FUNDING = 1_000_000_000n;
const FEE_BPS = 250;
const AMOUNT_MAX = 500;
const SEED_CONCURRENCY = 8;
const FUNDING_BATCH = 1000;
const CHILD_START_TIMEOUT_MS = 60_000;
const CHILD_STOP_TIMEOUT_MS = 15_000;
const HERE = dirname(fileURLToPath(import.meta.url));

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (value: number, digits = 0) => Number(value.toFixed(digits));

// ---------------------------------------------------------------------------------------------------
// The database: refuse a name without "bench", hold an advisory lock for the run, drop and recreate.

interface BenchDatabase {
  name: string;
  destroy(keep: boolean): Promise<void>;
}

async function freshDatabase(): Promise<BenchDatabase> {
  const url = new URL(DATABASE_URL);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL names no database: ${DATABASE_URL}`);
  if (!name.includes('bench') && !args['drop-any-database']) {
    throw new Error(`refusing to drop and recreate database "${name}" (its name lacks "bench"); pass --drop-any-database if that is really meant`);
  }
  const adminUrl = new URL(DATABASE_URL);
  adminUrl.pathname = '/postgres';
  const quoted = `"${name.replaceAll('"', '""')}"`;
  // The lock connection stays open for the whole run: a second run on the same database refuses to
  // start instead of dropping the database under the first.
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  admin.on('error', () => undefined);
  await admin.connect();
  const locked = await admin.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`micropay-bench:${name}`]);
  const inUse = await admin.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1', [name]);
  if (!locked.rows[0]?.locked || (inUse.rows[0]?.count ?? 0) > 0) {
    await admin.end();
    throw new Error(`database "${name}" is in use (another bench run, or open connections); wait, or point DATABASE_URL at another database`);
  }
  await admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${quoted}`);
  return {
    name: `${url.host}/${name}`,
    async destroy(keep) {
      try {
        if (!keep) await admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Seeding through the services, as the API would create the same objects.

interface SeededMerchant {
  id: string;
  secretKey: string;
  customerIds: string[];
}

async function runConcurrently<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function seed(runtime: Runtime): Promise<SeededMerchant[]> {
  const { services, ledger } = runtime;
  const started = performance.now();
  const merchants: SeededMerchant[] = [];
  for (let index = 0; index < MERCHANTS; index += 1) {
    const merchant = await services.merchants.create({ name: index === 0 ? 'Hot game' : `Shop ${index}`, feeBps: FEE_BPS });
    const key = await services.auth.createKey({ merchantId: merchant.id, kind: 'secret', livemode: false });
    merchants.push({ id: merchant.id, secretKey: key.secret, customerIds: [] });
  }
  // Buyers in proportion to the traffic each merchant gets.
  const hotBuyers = MERCHANTS === 1 ? BUYERS : Math.max(1, Math.round(BUYERS * HOT_SHARE));
  const coldEach = MERCHANTS === 1 ? 0 : Math.max(1, Math.floor((BUYERS - hotBuyers) / (MERCHANTS - 1)));
  const plan = merchants.flatMap((merchant, index) => Array.from({ length: index === 0 ? hotBuyers : coldEach }, () => merchant));
  const buyerIds: string[] = [];
  await runConcurrently(plan, SEED_CONCURRENCY, async (merchant) => {
    const customer = await services.customers.create({ merchantId: merchant.id, livemode: false }, { name: 'Bench buyer' });
    merchant.customerIds.push(customer.id);
    buyerIds.push(customer.buyerId);
  });
  log(`seed: ${merchants.length} merchants, ${buyerIds.length} customers in ${round((performance.now() - started) / 1000, 1)} s`);

  const settlement = services.books.account('card_settlement', 'platform', false, CURRENCY);
  const wallets = buyerIds.map((buyerId) => services.books.account('wallet', buyerId, false, CURRENCY));
  for (let offset = 0; offset < wallets.length; offset += FUNDING_BATCH) {
    const batch = wallets.slice(offset, offset + FUNDING_BATCH);
    await services.books.ensure(offset === 0 ? [settlement, ...batch] : batch);
    const results = await ledger.createTransfers(
      batch.map((wallet) => ({
        id: ledgerId(newId('top')),
        debitAccountId: settlement.id,
        creditAccountId: wallet.id,
        amount: WALLET_FUNDING,
        code: TRANSFER_CODES.top_up,
      })),
    );
    const failed = results.find((result) => result.result !== 'created');
    if (failed) throw new Error(`funding a wallet failed: ${failed.result}`);
  }
  log(`seed: ${wallets.length} wallets funded in ${round((performance.now() - started) / 1000, 1)} s total`);
  return merchants;
}

// ---------------------------------------------------------------------------------------------------
// Child processes: the API server and the hello-world baseline.

interface Child {
  url: string;
  process: ChildProcess;
  ask<T>(type: string, answer: string): Promise<T>;
  stop(): Promise<void>;
}

/** Node's flags for both servers, the platform's and the hello-world: those `npm start` runs with (a
 * young generation large enough for the objects of requests in flight: docs/operations.md). */
const SERVER_NODE_FLAGS = (args['server-node-flags'] ?? '--max-semi-space-size=64').split(' ').filter((flag) => flag.length > 0);

async function startChild(script: string, env: Record<string, string>, execArgv: string[] = []): Promise<Child> {
  const child = fork(join(HERE, script), [], {
    execArgv: [...SERVER_NODE_FLAGS, '--import', 'tsx', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${CHILD_START_TIMEOUT_MS} ms`)), CHILD_START_TIMEOUT_MS);
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'listening' && message.url) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening`));
    });
  });
  return {
    url,
    process: child,
    ask<T>(type: string, answer: string) {
      return new Promise<T>((resolve) => {
        const onMessage = (message: { type?: string } & Record<string, unknown>) => {
          if (message.type !== answer) return;
          child.off('message', onMessage);
          resolve(message as T);
        };
        child.on('message', onMessage);
        child.send({ type });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Load.

interface LoadFigures {
  ok: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  seconds: number;
}

async function load(label: string, url: string, seconds: number, requests: AutocannonRequest[], quiet = false): Promise<LoadFigures> {
  const instance = autocannon({ url, connections: CONNECTIONS, duration: seconds, timeout: 10, requests });
  let tick = 0;
  let lastCounter = 0;
  instance.on('tick', (progress: { counter: number }) => {
    tick += 1;
    lastCounter = progress.counter;
    if (!quiet && tick % 5 === 0) log(`${label}: ${tick} s, ${lastCounter} answers in the last second`);
  });
  const result: AutocannonResult = await instance;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]));
  const ok = result['2xx'];
  return {
    ok,
    perSecond: ok / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    seconds: result.duration,
  };
}

function paymentRequests(merchants: SeededMerchant[]): AutocannonRequest[] {
  const hot = merchants[0]!;
  const others = merchants.slice(1).filter((merchant) => merchant.customerIds.length > 0);
  const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
  return [
    {
      method: 'POST',
      path: '/v1/payments',
      setupRequest(request) {
        const merchant = others.length === 0 || Math.random() < HOT_SHARE ? hot : pick(others);
        const amount = 1 + Math.floor(Math.random() * AMOUNT_MAX);
        return {
          ...request,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${merchant.secretKey}`,
            ...(IDEMPOTENCY_KEYS ? { 'idempotency-key': randomUUID() } : {}),
          },
          body: JSON.stringify({
            customer: pick(merchant.customerIds),
            amount,
            currency: CURRENCY,
            description: 'Bench item',
            line_items: [{ description: 'Gem pack', category: 'virtual_good', unit_amount: amount }],
            confirm: true,
          }),
        };
      },
    },
  ];
}

/** A warm-up, then `label`'s measured load against `child`, logged, with what it cost: the share of the
 * machine's cores busy, and the CPU milliseconds of the child and of PostgreSQL. */
async function measuredLoad(label: string, child: Child, requests: AutocannonRequest[]) {
  if (WARMUP_SECONDS > 0) await load(`${label} warm-up`, child.url, WARMUP_SECONDS, requests, true);
  const before = { machine: cpuSnapshot(), child: childCpuMs(child.process.pid), postgres: postgresCpuMs() };
  const figures = await load(label, child.url, SECONDS, requests);
  const cost = {
    busy: busyShare(before.machine, cpuSnapshot()),
    childCpuMs: childCpuMs(child.process.pid) - before.child,
    postgresCpuMs: postgresCpuMs() - before.postgres,
  };
  log(describeLoad(label, figures));
  return { figures, ...cost };
}

function describeLoad(label: string, figures: LoadFigures): string {
  return (
    `${label}: ${round(figures.perSecond)}/s over ${round(figures.seconds, 1)} s, p50 ${figures.p50Ms} ms, p90 ${figures.p90Ms} ms, ` +
    `p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms, non-2xx ${figures.non2xx}, socket errors ${figures.socketErrors} ` +
    `(timeouts ${figures.timeouts}), status ${JSON.stringify(figures.statusCodes)}`
  );
}

/** Statements per successful payment and their mean time, heaviest first, from the server's counts. */
function statementProfile(stats: StatementStats, payments: number) {
  return Object.entries(stats.statements)
    .map(([kind, entry]) => ({
      statement: kind,
      per_payment: round(entry.count / Math.max(1, payments), 3),
      mean_ms: round(entry.milliseconds / Math.max(1, entry.count), 2),
    }))
    .sort((a, b) => b.per_payment - a.per_payment);
}

function codeVersion(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: HERE, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** CPU milliseconds used so far by the local PostgreSQL server's processes (from /proc; 0 where there
 * is no /proc or the database is elsewhere). Backends that exit in between take their time with them,
 * which the pool's long-lived connections make negligible. */
function postgresCpuMs(): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return 0;
  }
  let ms = 0;
  for (const pid of entries) {
    const used = processCpu(pid);
    if (used?.command.startsWith('postgres')) ms += used.ms;
  }
  return ms;
}

/** A process's command name and the CPU milliseconds it has used so far (from /proc/PID/stat; null
 * where there is no such process, or no /proc). */
function processCpu(pid: number | string | undefined): { command: string; ms: number } | null {
  const ticksPerSecond = 100; // USER_HZ, which Linux fixes at 100 for /proc
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat
    return { command: stat.slice(stat.indexOf('(') + 1, close), ms: ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000 };
  } catch {
    return null; // the process ended between the listing and the read
  }
}

/** CPU milliseconds a child process has used so far (0 where it cannot be read). */
function childCpuMs(pid: number | undefined): number {
  return processCpu(pid)?.ms ?? 0;
}

/** Busy share of all cores between two snapshots of os.cpus(). */
function cpuSnapshot() {
  return cpus().map((cpu) => ({ idle: cpu.times.idle, total: Object.values(cpu.times).reduce((sum, value) => sum + value, 0) }));
}
function busyShare(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>): number {
  let idle = 0;
  let total = 0;
  after.forEach((cpu, index) => {
    idle += cpu.idle - (before[index]?.idle ?? 0);
    total += cpu.total - (before[index]?.total ?? 0);
  });
  return total === 0 ? 0 : 1 - idle / total;
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = performance.now();
  const version = codeVersion();
  log(
    `bench:api at ${version}: ${CONNECTIONS} connections, ${SECONDS} s measured (+${WARMUP_SECONDS} s warm-up) per server, ` +
      `${BUYERS} buyers, ${MERCHANTS} merchants (hot share ${HOT_SHARE}), Idempotency-Key ${IDEMPOTENCY_KEYS ? 'on' : 'off'}; ` +
      `${cpus().length} cores, load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`,
  );
  const database = await freshDatabase();
  log(`database: ${database.name} recreated`);
  const dataDir = mkdtempSync(join(tmpdir(), 'micropay-bench-api-'));
  const serverEnv: Record<string, string> = {
    DATABASE_URL,
    MICROPAY_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: args['log-level'],
    ...(POOL_SIZE === undefined ? {} : { DATABASE_POOL_SIZE: String(POOL_SIZE) }),
  };
  let server: Child | null = null;
  let hello: Child | null = null;
  try {
    const seeding = await openRuntime(loadConfig(serverEnv), { logger: createLogger('silent'), workers: false });
    const merchants = await seed(seeding).finally(() => seeding.close());

    const profileArgv = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
    server = await startChild('api-server.ts', serverEnv, profileArgv);
    log(`payments: server at ${server.url}`);
    const requests = paymentRequests(merchants);
    const warmup = WARMUP_SECONDS > 0 ? await load('payments warm-up', server.url, WARMUP_SECONDS, requests, true) : null;
    if (warmup) log(describeLoad('payments warm-up', warmup));
    await server.ask('reset', 'reset-done');
    const cpuBefore = cpuSnapshot();
    const postgresBefore = postgresCpuMs();
    const loaderBefore = process.cpuUsage();
    const payments = await load('payments', server.url, SECONDS, requests);
    const loaderCpu = process.cpuUsage(loaderBefore);
    const postgresCpu = postgresCpuMs() - postgresBefore;
    const paymentsBusy = busyShare(cpuBefore, cpuSnapshot());
    const { stats } = await server.ask<{ stats: StatementStats }>('stats', 'stats');
    log(describeLoad('payments', payments));
    await server.stop();
    server = null;

    hello = await startChild('api-hello.ts', { DATABASE_URL });
    log(`hello: baseline at ${hello.url}`);
    const helloPhase = await measuredLoad('hello', hello, [{ method: 'GET', path: '/' }]);
    const helloFigures = helloPhase.figures;
    // The floor: what Fastify alone spends on these very requests (bench/api-hello.ts).
    const floorPhase = await measuredLoad('floor', hello, requests);
    const floor = floorPhase.figures;
    // The durable floor: the floor plus one row per payment committed in PostgreSQL (bench/api-hello.ts).
    const durablePhase = await measuredLoad('durable floor', hello, requests.map((request) => ({ ...request, path: `/durable${request.path}` })));
    const durableFloor = durablePhase.figures;
    await hello.stop();
    hello = null;

    const verifier = await openRuntime(loadConfig(serverEnv), { logger: createLogger('silent'), workers: false });
    let drift: number;
    let paymentsInDatabase: Record<string, number>;
    try {
      const report = await verifier.ledger.verify();
      drift = report.drift.length + report.assetImbalance.length + report.limitViolations.length;
      log(`verify: ${report.accountsChecked} accounts, ${report.transfersChecked} transfers, drift ${report.drift.length}, asset imbalance ${report.assetImbalance.length}, limit violations ${report.limitViolations.length}`);
      const counts = await openDatabase({ databaseUrl: DATABASE_URL, poolSize: 1 });
      try {
        const { rows } = await counts.query<{ status: string; count: number }>('SELECT status, count(*)::int AS count FROM payments GROUP BY status ORDER BY status');
        paymentsInDatabase = Object.fromEntries(rows.map((row) => [row.status, row.count]));
      } finally {
        await counts.close();
      }
    } finally {
      await verifier.close();
    }

    const profile = statementProfile(stats, payments.ok);
    log('where the time goes, per successful payment (statements the server sent, mean time from send to answer):');
    for (const row of profile.slice(0, 20)) log(`  ${String(row.per_payment).padStart(7)} × ${String(row.mean_ms).padStart(6)} ms  ${row.statement}`);
    // The ledger's batches: one statement each, opening with the `head` part (src/ledger/store.ts), one
    // in flight on the serial connection. Its time from send to answer per payment is what that
    // connection spends on each; its inverse caps payments/s while one batch is in flight at a time.
    const batches = profile.find((row) => row.statement.startsWith('WITH head:'));
    const batchMsPerPayment = batches ? round(batches.per_payment * batches.mean_ms, 3) : null;
    const batchInFlightShare = batchMsPerPayment === null ? null : round((batchMsPerPayment * payments.perSecond) / 1000, 2);
    log(
      batchMsPerPayment === null
        ? 'ledger batches: none seen'
        : `ledger batches: ${round(1 / Math.max(0.001, batches!.per_payment), 1)} payments each, ${batchMsPerPayment} ms per payment from send to answer: ` +
            `a batch in flight ${round(batchInFlightShare! * 100)} % of the time, a ceiling of ${round(1000 / Math.max(0.001, batchMsPerPayment))} payments/s`,
    );
    const serverCpuMs = stats.cpuUserMs + stats.cpuSystemMs;
    const loaderCpuMs = (loaderCpu.user + loaderCpu.system) / 1000;
    const perPayment = (milliseconds: number) => round(milliseconds / Math.max(1, payments.ok), 3);
    const cores = (milliseconds: number) => round(milliseconds / (payments.seconds * 1000), 2);
    log(
      `CPU per payment: server process ${perPayment(serverCpuMs)} ms (${cores(serverCpuMs)} cores), PostgreSQL ${perPayment(postgresCpu)} ms ` +
        `(${cores(postgresCpu)} cores), autocannon ${perPayment(loaderCpuMs)} ms (${cores(loaderCpuMs)} cores); ` +
        `whole machine busy ${round(paymentsBusy * 100)} % of ${cpus().length} cores under payments, ${round(helloPhase.busy * 100)} % under hello, ` +
          `${round(floorPhase.busy * 100)} % under the floor, ${round(durablePhase.busy * 100)} % under the durable floor`,
    );
    const { eventLoopDelay, gc } = stats;
    log(
      `server event loop: timers late by p50 ${eventLoopDelay.p50Ms} ms, p99 ${eventLoopDelay.p99Ms} ms, max ${eventLoopDelay.maxMs} ms; ` +
        describeGc(gc, payments.seconds),
    );

    const errors = payments.non2xx + payments.socketErrors;
    const result = {
      payments_per_s: round(payments.perSecond),
      hello_rps: round(helloFigures.perSecond),
      ratio: round(payments.perSecond / Math.max(1, helloFigures.perSecond), 3),
      p50_ms: payments.p50Ms,
      p90_ms: payments.p90Ms,
      p99_ms: payments.p99Ms,
      max_ms: payments.maxMs,
      errors,
      non2xx: payments.non2xx,
      socket_errors: payments.socketErrors,
      drift,
      hello_p50_ms: helloFigures.p50Ms,
      hello_p99_ms: helloFigures.p99Ms,
      hello_errors: helloFigures.non2xx + helloFigures.socketErrors,
      // The same payment requests validated and answered by Fastify with the API's schemas, and nothing
      // else: the share of it that payments reach, and what a request costs that server.
      floor_rps: round(floor.perSecond),
      payments_vs_floor: round(payments.perSecond / Math.max(1, floor.perSecond), 3),
      floor_server_cpu_ms_per_request: round(floorPhase.childCpuMs / Math.max(1, floor.ok), 3),
      floor_errors: floor.non2xx + floor.socketErrors,
      // The floor plus one row per payment committed in PostgreSQL before the answer, grouped: what any
      // design that keeps a payment in this database before answering pays at the least.
      durable_floor_rps: round(durableFloor.perSecond),
      durable_floor_ratio: round(durableFloor.perSecond / Math.max(1, helloFigures.perSecond), 3),
      payments_vs_durable_floor: round(payments.perSecond / Math.max(1, durableFloor.perSecond), 3),
      durable_floor_p99_ms: durableFloor.p99Ms,
      durable_floor_server_cpu_ms_per_request: round(durablePhase.childCpuMs / Math.max(1, durableFloor.ok), 3),
      durable_floor_postgres_cpu_ms_per_request: round(durablePhase.postgresCpuMs / Math.max(1, durableFloor.ok), 3),
      durable_floor_errors: durableFloor.non2xx + durableFloor.socketErrors,
      payments_succeeded: payments.ok,
      payments_in_database: paymentsInDatabase,
      // autocannon stops with requests in flight; the server still completes them (at most one per
      // connection at each of the two stops), so the database holds slightly more than the 2xx seen.
      payments_unanswered_at_stops: (paymentsInDatabase.succeeded ?? 0) - payments.ok - (warmup?.ok ?? 0),
      statements_per_payment: round(profile.reduce((sum, row) => sum + row.per_payment, 0), 2),
      batch_ms_per_payment: batchMsPerPayment,
      batch_in_flight_share: batchInFlightShare,
      server_cpu_ms_per_payment: perPayment(serverCpuMs),
      postgres_cpu_ms_per_payment: perPayment(postgresCpu),
      autocannon_cpu_ms_per_payment: perPayment(loaderCpuMs),
      machine_busy_payments: round(paymentsBusy, 2),
      machine_busy_hello: round(helloPhase.busy, 2),
      machine_busy_floor: round(floorPhase.busy, 2),
      machine_busy_durable_floor: round(durablePhase.busy, 2),
      server_loop_delay_p99_ms: stats.eventLoopDelay.p99Ms,
      server_gc_ms_per_s: round(stats.gc.totalMs / payments.seconds, 1),
      server_gc_pause_max_ms: stats.gc.maxMs,
      connections: CONNECTIONS,
      server_node_flags: SERVER_NODE_FLAGS.join(' '),
      seconds: SECONDS,
      buyers: BUYERS,
      merchants: MERCHANTS,
      hot_share: HOT_SHARE,
      idempotency_keys: IDEMPOTENCY_KEYS,
      quick: QUICK,
      code: version,
      load_average_at_end: round(loadavg()[0]!, 2),
      elapsed_s: round((performance.now() - startedAt) / 1000, 1),
    };
    const targets = [
      `ratio ${result.ratio} (target ≥ 0.25)`,
      `p99 ${result.p99_ms} ms (target ≤ 50)`,
      `errors ${result.errors} (target 0)`,
      `drift ${result.drift} (target 0)`,
    ];
    log(`targets: ${targets.join(', ')}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server?.stop().catch(() => undefined);
    await hello?.stop().catch(() => undefined);
    await database.destroy(args['keep-database']).catch((error: unknown) => log(`could not drop the bench database: ${String(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:api failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
