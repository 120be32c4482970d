// Crash tests: a child process streams transfers into a real store and acknowledges each one only
// after its createTransfers promise resolved with `created`; the parent kills it with SIGKILL at a
// random moment, then opens the store itself and checks that every acknowledged transfer is there
// exactly once, that nothing unsent was stored, and that the balances equal the transfers.
// Runs on PGlite (a data folder) and PostgreSQL. The seed is printed; CRASH_SEED=<n> replays a run's
// kill points and workloads (not its exact timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, type Database } from '../store/database.ts';
import { createLedgerService } from './service.ts';
import { STORE_KINDS, createTestStore } from '../../test/support/stores.ts';
import type { WriterConfig } from '../../test/fixtures/transfer-writer.ts';
import { seededRandom } from '../../test/support/random.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('../../test/fixtures/transfer-writer.ts', import.meta.url));
const RUNS_PER_STORE = 3;
const BASE_SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));


interface RunOutcome {
  acked: string[];
  sent: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/**
 * Starts a writer, waits for its first ack (or, with `from: 'spawn'`, only for the process to start: the
 * kill then lands while it loads, opens or recovers the store), lets it run `killAfterMs` more, SIGKILLs it
 * and waits for it to be gone.
 */
async function runAndKill(config: WriterConfig, killAfterMs: number, from: 'first-ack' | 'spawn'): Promise<RunOutcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, JSON.stringify(config)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  const sent: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let firstAck: () => void = () => undefined;
  const firstAckSeen = new Promise<void>((resolve) => {
    firstAck = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'acking') firstAck();
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const first =
    from === 'spawn'
      ? 'ack'
      : await Promise.race([
          firstAckSeen.then(() => 'ack' as const),
          closed.then(() => 'closed' as const),
          sleep(30_000, undefined, { ref: false }).then(() => 'timeout' as const),
        ]);
  if (first !== 'ack') {
    child.kill('SIGKILL');
    await closed;
    throw new Error(`the writer produced no ack (${first}); stderr:\n${stderr}`);
  }
  await sleep(killAfterMs);
  child.kill('SIGKILL');
  const { code, signal } = await closed;
  // The log is complete: the child is dead. Only whole lines count (a torn last line was never acted on).
  const log = existsSync(config.logPath) ? readFileSync(config.logPath, 'utf8') : '';
  for (const line of log.slice(0, log.lastIndexOf('\n') + 1).split('\n')) {
    if (line.startsWith('ack ')) acked.push(line.slice(4));
    else if (line.startsWith('send ')) sent.push(...line.slice(5).split(' '));
  }
  return { acked, sent, code, signal, stderr };
}

for (const kind of STORE_KINDS) {
  test(`acknowledged transfers survive SIGKILL of the writer (${kind})`, { timeout: 180_000 }, async (t) => {
    const seed = (BASE_SEED + (kind === 'pglite' ? 0 : 7919)) >>> 0;
    t.diagnostic(`seed ${seed} (CRASH_SEED=${BASE_SEED})`);
    console.log(`[crash ${kind}] CRASH_SEED=${BASE_SEED} store seed ${seed}`);
    const random = seededRandom(seed);
    const store = await createTestStore(kind, { open: false });
    const accounts = {
      rail: randomUUID(),
      fee: randomUUID(),
      merchants: Array.from({ length: 3 }, () => randomUUID()),
      buyers: Array.from({ length: 40 }, () => randomUUID()),
    };
    const logDir = mkdtempSync(join(tmpdir(), 'micropay-crash-logs-'));
    const allAcked = new Set<string>();
    const allSent = new Set<string>();
    try {
      // The last run kills the writer early, counted from its spawn: during start-up, opening (for PGlite,
      // possibly recovering) the store, creating accounts or funding, whichever it reached.
      for (let run = 0; run <= RUNS_PER_STORE; run += 1) {
        const from = run < RUNS_PER_STORE ? 'first-ack' : 'spawn';
        const killAfterMs = from === 'first-ack' ? 300 + Math.floor(random() * 1200) : 200 + Math.floor(random() * 1800);
        const config: WriterConfig = {
          location: store.location,
          logPath: join(logDir, `run-${run}.log`),
          ...accounts,
          seed: Math.floor(random() * 2 ** 31),
          concurrency: 48,
          maxRunMs: 20_000,
        };
        const outcome = await runAndKill(config, killAfterMs, from);
        if (outcome.stderr.trim() !== '') console.log(`[crash ${kind}] run ${run}: writer stderr:\n${outcome.stderr.slice(-4000)}`);
        assert.equal(outcome.signal, 'SIGKILL', `run ${run}: the writer must die by SIGKILL, not exit (${outcome.code}); stderr:\n${outcome.stderr}`);
        for (const id of outcome.sent) allSent.add(id);
        for (const id of outcome.acked) {
          assert.ok(!allAcked.has(id), `run ${run}: id ${id} was acknowledged as created twice`);
          allAcked.add(id);
        }

        // The child is gone (its 'close' event fired): only now may this process open the store.
        let db: Database;
        const reopenStarted = performance.now();
        try {
          db = await openDatabase(store.location);
        } catch (error) {
          assert.fail(`run ${run}: reopening the ${kind} store after SIGKILL failed: ${String((error as Error)?.stack ?? error)}`);
        }
        const reopenMs = Math.round(performance.now() - reopenStarted);
        try {
          const duplicates = await db.query<{ id: string; n: bigint }>(
            'SELECT id::text AS id, count(*)::int8 AS n FROM ledger_transfers GROUP BY id HAVING count(*) > 1',
          );
          assert.deepEqual(duplicates.rows, [], `run ${run}: ids stored more than once`);

          const stored = await db.query<{ id: string }>('SELECT id::text AS id FROM ledger_transfers');
          const storedIds = new Set(stored.rows.map((row) => row.id));
          const lost = [...allAcked].filter((id) => !storedIds.has(id));
          assert.deepEqual(lost.slice(0, 20), [], `run ${run}: ${lost.length} acknowledged transfers are missing after the crash`);
          const phantom = [...storedIds].filter((id) => !allSent.has(id));
          assert.deepEqual(phantom.slice(0, 20), [], `run ${run}: ${phantom.length} stored transfers were never sent`);

          // Every open-hold row names an unresolved hold, and every unresolved hold with a timeout has one.
          const strayHolds = await db.query<{ pending_id: string }>(
            `SELECT o.pending_id::text AS pending_id FROM ledger_open_holds o
             LEFT JOIN ledger_transfers h ON h.id = o.pending_id
             WHERE h.id IS NULL OR h.kind <> 1 OR EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = o.pending_id)`,
          );
          assert.deepEqual(strayHolds.rows, [], `run ${run}: open-hold rows of resolved or unknown holds`);
          const untracked = await db.query<{ id: string }>(
            `SELECT h.id::text AS id FROM ledger_transfers h
             WHERE h.kind = 1 AND h.expires_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = h.id)
               AND NOT EXISTS (SELECT 1 FROM ledger_open_holds o WHERE o.pending_id = h.id)`,
          );
          assert.deepEqual(untracked.rows, [], `run ${run}: open holds with a timeout missing from ledger_open_holds`);

          const ledger = createLedgerService({ db });
          const report = await ledger.verify();
          assert.deepEqual(report.drift, [], `run ${run}: balances drifted from the transfers`);
          assert.deepEqual(report.assetImbalance, [], `run ${run}: debits and credits differ`);
          assert.deepEqual(report.limitViolations, [], `run ${run}: limited accounts crossed their limit`);
          assert.equal(report.ok, true);
          await ledger.close();
          const message =
            `[crash ${kind}] run ${run}: killed ${killAfterMs} ms after ${from === 'spawn' ? 'spawn' : 'the first ack'}; ` +
            `${outcome.acked.length} acks, ` +
            `${storedIds.size} transfers stored, ${allAcked.size} acked in all runs, all present; reopened in ${reopenMs} ms`;
          console.log(message);
        } finally {
          await db.close();
        }
      }
    } finally {
      await store.drop();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
}
