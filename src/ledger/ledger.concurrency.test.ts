// Concurrency tests against real stores (never a mock): many concurrent callers in one process on both
// stores (group commit must batch them and keep every balance exact), and several processes on one
// PostgreSQL database sending the same transfer ids, resolving the same holds and hammering one hot
// account. Child processes are the scripts of test/fixtures/; they start together on a line written
// to their stdin and report their results as lines on stdout.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLedgerService, type LedgerService } from './service.ts';
import type { TransferInput } from './model.ts';
import { STORE_KINDS, createTestStore, type TestStore } from '../../test/support/stores.ts';
import type { PlannedTransfer, SenderPlan } from '../../test/fixtures/duplicate-sender.ts';
import type { HammerPlan, HammerSummary } from '../../test/fixtures/hammer.ts';
import { seededRandom } from '../../test/support/random.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
const SEED = Number(process.env.CONCURRENCY_SEED ?? Math.floor(Math.random() * 2 ** 31));


function shuffled<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

// ---- child processes ----

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startChild(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args], { cwd: REPO_ROOT });
  const lines: string[] = [];
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'ready') resolve();
      else lines.push(line);
    });
    void exited.then(({ code }) => reject(new Error(`${script} exited (${code}) before ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  return { proc, lines, ready, exited, stderr: () => stderr };
}

/** Starts the children, waits until every one is ready, releases them together and waits for their exit. */
async function runTogether(children: Child[]): Promise<void> {
  try {
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.proc.stdin.write('go\n');
    for (const child of children) {
      const { code, signal } = await child.exited;
      assert.equal(code, 0, `a child exited with ${code ?? signal}:\n${child.stderr()}`);
    }
  } finally {
    for (const child of children) if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  }
}

function planFile(dir: string, name: string, plan: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(plan));
  return path;
}

/** The JSON result lines of a duplicate-sender child, by transfer id. */
function senderResults(child: Child): Map<string, string> {
  const results = new Map<string, string>();
  for (const line of child.lines) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as { id: string; result?: string; error?: string };
    assert.equal(parsed.error, undefined, `createTransfers rejected for ${parsed.id}: ${parsed.error}`);
    assert.ok(!results.has(parsed.id), `two results for ${parsed.id}`);
    results.set(parsed.id, parsed.result!);
  }
  return results;
}

const planned = (transfer: TransferInput): PlannedTransfer => ({
  ...transfer,
  amount: transfer.amount === undefined ? undefined : transfer.amount.toString(),
});

// ---- shared setup ----

interface Accounts {
  rail: string;
  wallets: string[];
  merchants: string[];
}

/** A rail, limited buyer wallets funded with `funding` each, and merchants. */
async function openAccounts(ledger: LedgerService, wallets: number, merchants: number, funding: bigint): Promise<Accounts> {
  const accounts: Accounts = {
    rail: randomUUID(),
    wallets: Array.from({ length: wallets }, () => randomUUID()),
    merchants: Array.from({ length: merchants }, () => randomUUID()),
  };
  const created = await ledger.createAccounts([
    { id: accounts.rail, asset: 'USD', kind: 'rail_settlement' },
    ...accounts.wallets.map((id) => ({ id, asset: 'USD', kind: 'buyer_wallet' as const, flags: { debitsMustNotExceedCredits: true } })),
    ...accounts.merchants.map((id) => ({ id, asset: 'USD', kind: 'merchant' as const })),
  ]);
  assert.deepEqual(new Set(created.map((result) => result.result)), new Set(['created']));
  const funded = await ledger.createTransfers(
    accounts.wallets.map((wallet) => ({ id: randomUUID(), debitAccountId: accounts.rail, creditAccountId: wallet, amount: funding, code: 9 })),
  );
  assert.deepEqual(new Set(funded.map((result) => result.result)), new Set(['created']));
  return accounts;
}

async function assertVerified(ledger: LedgerService): Promise<void> {
  const report = await ledger.verify();
  assert.deepEqual(report.drift, [], 'balances drifted from the transfers');
  assert.deepEqual(report.assetImbalance, [], 'debits and credits differ');
  assert.deepEqual(report.limitViolations, [], 'limited accounts crossed their limit');
  assert.equal(report.ok, true);
}

/** Deadlocks PostgreSQL detected (and so aborted a transaction for) in the test database so far. */
async function deadlocksOf(store: TestStore): Promise<bigint> {
  const result = await store.db.query<{ deadlocks: bigint }>(
    'SELECT deadlocks::int8 AS deadlocks FROM pg_stat_database WHERE datname = current_database()',
  );
  return result.rows[0]?.deadlocks ?? 0n;
}

async function withStore(kind: TestStore['kind'], body: (store: TestStore, ledger: LedgerService) => Promise<void>): Promise<void> {
  const store = await createTestStore(kind);
  const ledger = createLedgerService({ db: store.db });
  try {
    await body(store, ledger);
  } finally {
    await ledger.close();
    await store.drop();
  }
}

console.log(`[concurrency] CONCURRENCY_SEED=${SEED}`);

// ---- one process, both stores ----

for (const kind of STORE_KINDS) {
  describe(`concurrent callers in one process (${kind})`, () => {
    test('2,400 concurrent payments from 200 small wallets to one merchant are grouped and exact', { timeout: 120_000 }, async (t) => {
      t.diagnostic(`seed ${SEED}`);
      await withStore(kind, async (_store, ledger) => {
        const random = seededRandom(SEED);
        const FUNDING = 500n;
        const accounts = await openAccounts(ledger, 200, 1, FUNDING);
        const merchant = accounts.merchants[0]!;
        const payments: TransferInput[] = Array.from({ length: 2400 }, () => ({
          id: randomUUID(),
          debitAccountId: accounts.wallets[Math.floor(random() * accounts.wallets.length)]!,
          creditAccountId: merchant,
          amount: BigInt(1 + Math.floor(random() * 100)),
          code: 1,
        }));

        const before = ledger.pipelineStats();
        const started = performance.now();
        const results = await Promise.all(payments.map((payment) => ledger.createTransfers([payment])));
        const elapsed = performance.now() - started;
        const after = ledger.pipelineStats();

        const byCode = new Map<string, number>();
        const spent = new Map<string, bigint>();
        const smallestFailure = new Map<string, bigint>();
        let merchantExpected = 0n;
        results.forEach((result, index) => {
          assert.equal(result.length, 1);
          const outcome = result[0]!;
          const payment = payments[index]!;
          assert.equal(outcome.id, payment.id);
          byCode.set(outcome.result, (byCode.get(outcome.result) ?? 0) + 1);
          if (outcome.result === 'created') {
            merchantExpected += payment.amount!;
            spent.set(payment.debitAccountId!, (spent.get(payment.debitAccountId!) ?? 0n) + payment.amount!);
          } else {
            assert.equal(outcome.result, 'exceeds_credits', `payment ${payment.id} failed with ${outcome.result}`);
            const smallest = smallestFailure.get(payment.debitAccountId!);
            if (smallest === undefined || payment.amount! < smallest) smallestFailure.set(payment.debitAccountId!, payment.amount!);
          }
        });
        assert.ok((byCode.get('created') ?? 0) > 0, 'some payments must succeed');
        assert.ok((byCode.get('exceeds_credits') ?? 0) > 0, 'some wallets must run dry');

        const merchantAccount = await ledger.getAccount(merchant);
        assert.equal(merchantAccount?.creditsPosted, merchantExpected, 'merchant credits = sum of created payments');
        assert.equal(merchantAccount?.debitsPosted, 0n);

        for (const wallet of accounts.wallets) {
          const account = (await ledger.getAccount(wallet))!;
          const balance = (await ledger.getBalance(wallet))!;
          const expected = FUNDING - (spent.get(wallet) ?? 0n);
          assert.equal(balance.posted, expected, `wallet ${wallet}: funding minus its created payments`);
          assert.equal(account.debitsPosted, spent.get(wallet) ?? 0n);
          assert.ok(balance.posted >= 0n && balance.available >= 0n, `wallet ${wallet} went below zero`);
          // Balances only fall here, so a payment refused for lack of funds must exceed what is left at the end.
          const smallest = smallestFailure.get(wallet);
          if (smallest !== undefined) {
            assert.ok(balance.posted < smallest, `wallet ${wallet} refused ${smallest} yet still holds ${balance.posted}`);
          }
        }
        await assertVerified(ledger);

        const batches = after.batches - before.batches;
        const message =
          `[concurrency ${kind}] ${payments.length} calls in ${Math.round(elapsed)} ms: ${byCode.get('created')} created, ` +
          `${byCode.get('exceeds_credits')} exceeds_credits; ${batches} batches, ${after.retries - before.retries} retries, ` +
          `${after.splits - before.splits} splits`;
        console.log(message);
        assert.equal(after.units - before.units, payments.length);
        assert.ok(batches <= payments.length / 20, `calls were not grouped: ${batches} batches for ${payments.length} calls`);
      });
    });
  });
}

// ---- several processes on one PostgreSQL database ----

describe('several processes on one PostgreSQL database', () => {
  /** Sends the shared transfers from two processes (plus ids of their own) and returns both result maps. */
  async function sendFromTwo(
    store: TestStore,
    planA: PlannedTransfer[],
    planB: PlannedTransfer[],
  ): Promise<[Map<string, string>, Map<string, string>]> {
    const dir = mkdtempSync(join(tmpdir(), 'micropay-plans-'));
    try {
      const databaseUrl = store.location.databaseUrl!;
      const children = [planA, planB].map((transfers, index) =>
        startChild('duplicate-sender.ts', [planFile(dir, `plan-${index}.json`, { databaseUrl, transfers, jitterMs: 600 } satisfies SenderPlan)]),
      );
      await runTogether(children);
      const stats = children.map((child) => child.lines.find((line) => line.startsWith('done '))?.slice(5));
      assert.ok(stats[0] && stats[1], 'both senders must finish with a done line');
      console.log(`[concurrency postgres]   pipeline stats: A ${stats[0]}, B ${stats[1]}; deadlocks detected: ${await deadlocksOf(store)}`);
      const [a, b] = children.map(senderResults) as [Map<string, string>, Map<string, string>];
      assert.equal(a.size, planA.length, 'sender A must report every transfer');
      assert.equal(b.size, planB.length, 'sender B must report every transfer');
      return [a, b];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async function storedCounts(store: TestStore, ids: string[]): Promise<Map<string, { count: bigint; amount: bigint }>> {
    const rows = await store.db.query<{ id: string; count: bigint; amount: bigint }>(
      `SELECT id::text AS id, count(*)::int8 AS count, max(amount)::int8 AS amount
       FROM ledger_transfers WHERE id = ANY($1::uuid[]) GROUP BY id`,
      [ids],
    );
    return new Map(rows.rows.map((row) => [row.id, { count: row.count, amount: row.amount }]));
  }

  function sharedPlan(accounts: Accounts, random: () => number, count: number): TransferInput[] {
    return Array.from({ length: count }, () => ({
      id: randomUUID(),
      debitAccountId: random() < 0.2 ? accounts.rail : accounts.wallets[Math.floor(random() * accounts.wallets.length)]!,
      creditAccountId: accounts.merchants[Math.floor(random() * accounts.merchants.length)]!,
      amount: BigInt(1 + Math.floor(random() * 1000)),
      code: 1,
    }));
  }

  test('the same 500 transfer ids sent concurrently by two processes are created exactly once', { timeout: 120_000 }, async () => {
    await withStore('postgres', async (store, ledger) => {
      const random = seededRandom(SEED + 1);
      const accounts = await openAccounts(ledger, 20, 5, 1_000_000_000n);
      const shared = sharedPlan(accounts, random, 500);
      const ownA = sharedPlan(accounts, random, 100);
      const ownB = sharedPlan(accounts, random, 100);
      const [resultsA, resultsB] = await sendFromTwo(
        store,
        shuffled([...shared, ...ownA], random).map(planned),
        shuffled([...shared, ...ownB], random).map(planned),
      );

      let createdByA = 0;
      for (const transfer of shared) {
        const pair = [resultsA.get(transfer.id), resultsB.get(transfer.id)];
        assert.deepEqual([...pair].sort(), ['created', 'exists'], `shared id ${transfer.id}: A ${pair[0]}, B ${pair[1]}`);
        if (pair[0] === 'created') createdByA += 1;
      }
      for (const transfer of ownA) assert.equal(resultsA.get(transfer.id), 'created');
      for (const transfer of ownB) assert.equal(resultsB.get(transfer.id), 'created');

      const stored = await storedCounts(store, [...shared, ...ownA, ...ownB].map((transfer) => transfer.id));
      assert.equal(stored.size, 700);
      for (const transfer of [...shared, ...ownA, ...ownB]) {
        assert.equal(stored.get(transfer.id)?.count, 1n, `${transfer.id} stored once`);
        assert.equal(stored.get(transfer.id)?.amount, transfer.amount);
      }
      const total = await store.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM ledger_transfers');
      assert.equal(total.rows[0]?.n, 20n + 700n);

      // Each merchant's credits are the sum of the stored transfers to it.
      for (const merchant of accounts.merchants) {
        const expected = [...shared, ...ownA, ...ownB]
          .filter((transfer) => transfer.creditAccountId === merchant)
          .reduce((sum, transfer) => sum + transfer.amount!, 0n);
        assert.equal((await ledger.getAccount(merchant))?.creditsPosted, expected);
      }
      await assertVerified(ledger);
      console.log(`[concurrency postgres] same ids from two processes: A created ${createdByA} of 500 shared, B ${500 - createdByA}`);
    });
  });

  test('the same ids with a different amount from the second process: one row each, the loser told why', { timeout: 120_000 }, async () => {
    await withStore('postgres', async (store, ledger) => {
      const random = seededRandom(SEED + 2);
      const accounts = await openAccounts(ledger, 20, 5, 1_000_000_000n);
      const shared = sharedPlan(accounts, random, 500);
      const sharedB = shared.map((transfer) => ({ ...transfer, amount: transfer.amount! + 1n }));
      const [resultsA, resultsB] = await sendFromTwo(store, shuffled(shared, random).map(planned), shuffled(sharedB, random).map(planned));

      const stored = await storedCounts(store, shared.map((transfer) => transfer.id));
      let createdByA = 0;
      for (const transfer of shared) {
        const a = resultsA.get(transfer.id);
        const b = resultsB.get(transfer.id);
        const row = stored.get(transfer.id);
        assert.equal(row?.count, 1n, `${transfer.id} must be stored exactly once`);
        if (a === 'created') {
          createdByA += 1;
          assert.equal(b, 'exists_with_different_amount', `${transfer.id}: A created, B got ${b}`);
          assert.equal(row?.amount, transfer.amount);
        } else {
          assert.equal(b, 'created', `${transfer.id}: A got ${a}, B got ${b}`);
          assert.equal(a, 'exists_with_different_amount', `${transfer.id}: B created, A got ${a}`);
          assert.equal(row?.amount, transfer.amount! + 1n);
        }
      }
      const total = await store.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM ledger_transfers');
      assert.equal(total.rows[0]?.n, 20n + 500n);
      await assertVerified(ledger);
      console.log(`[concurrency postgres] same ids, different amounts: A created ${createdByA} of 500, B ${500 - createdByA}`);
    });
  });

  test('two processes posting and voiding the same holds: exactly one resolution each', { timeout: 120_000 }, async () => {
    await withStore('postgres', async (store, ledger) => {
      const random = seededRandom(SEED + 3);
      const accounts = await openAccounts(ledger, 20, 5, 1_000_000_000n);
      const holds: TransferInput[] = Array.from({ length: 300 }, (_, index) => ({
        id: randomUUID(),
        debitAccountId: accounts.wallets[Math.floor(random() * accounts.wallets.length)]!,
        creditAccountId: accounts.merchants[Math.floor(random() * accounts.merchants.length)]!,
        amount: BigInt(2 + Math.floor(random() * 1000)),
        code: 2,
        pending: true,
        ...(index % 2 === 0 ? { timeoutSeconds: 600 } : {}),
      }));
      const held = await ledger.createTransfers(holds);
      assert.deepEqual(new Set(held.map((result) => result.result)), new Set(['created']));

      // A posts every hold in full; B voids the even ones and posts the odd ones partially, with its own ids.
      const byA = holds.map((hold): TransferInput => ({ id: randomUUID(), postPendingId: hold.id, code: 3 }));
      const byB = holds.map((hold, index): TransferInput =>
        index % 2 === 0
          ? { id: randomUUID(), voidPendingId: hold.id, code: 3 }
          : { id: randomUUID(), postPendingId: hold.id, amount: hold.amount! - 1n, code: 3 },
      );
      const [resultsA, resultsB] = await sendFromTwo(store, shuffled(byA, random).map(planned), shuffled(byB, random).map(planned));

      const resolutions = await store.db.query<{ pending_id: string; id: string; kind: number; amount: bigint }>(
        'SELECT pending_id::text AS pending_id, id::text AS id, kind, amount FROM ledger_transfers WHERE pending_id IS NOT NULL',
      );
      const resolutionOf = new Map<string, Array<{ id: string; kind: number; amount: bigint }>>();
      for (const row of resolutions.rows) resolutionOf.set(row.pending_id, [...(resolutionOf.get(row.pending_id) ?? []), row]);
      let wonByA = 0;
      holds.forEach((hold, index) => {
        const a = resultsA.get(byA[index]!.id);
        const b = resultsB.get(byB[index]!.id);
        const stored = resolutionOf.get(hold.id) ?? [];
        assert.equal(stored.length, 1, `hold ${hold.id} must have exactly one resolution, has ${stored.length}`);
        const bVoids = index % 2 === 0;
        if (a === 'created') {
          wonByA += 1;
          assert.equal(b, 'pending_transfer_already_posted', `hold ${hold.id}: A posted, B got ${b}`);
          assert.equal(stored[0]!.id, byA[index]!.id);
          assert.equal(stored[0]!.amount, hold.amount);
        } else {
          assert.equal(b, 'created', `hold ${hold.id}: A got ${a}, B got ${b}`);
          assert.equal(a, bVoids ? 'pending_transfer_already_voided' : 'pending_transfer_already_posted', `hold ${hold.id}: B won, A got ${a}`);
          assert.equal(stored[0]!.id, byB[index]!.id);
        }
      });
      const openHolds = await store.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM ledger_open_holds');
      assert.equal(openHolds.rows[0]?.n, 0n, 'every resolved hold must leave ledger_open_holds');
      for (const wallet of accounts.wallets) assert.equal((await ledger.getAccount(wallet))?.debitsPending, 0n);
      for (const merchant of accounts.merchants) assert.equal((await ledger.getAccount(merchant))?.creditsPending, 0n);
      await assertVerified(ledger);
      console.log(`[concurrency postgres] post/void race on 300 holds: A won ${wonByA}, B won ${300 - wonByA}`);
    });
  });

  test('three processes hammering one hot account: every call resolves, the ledger verifies, no deadlock', { timeout: 120_000 }, async () => {
    await withStore('postgres', async (store, ledger) => {
      const accounts = await openAccounts(ledger, 30, 1, 100_000n);
      const hot = accounts.merchants[0]!;
      const dir = mkdtempSync(join(tmpdir(), 'micropay-plans-'));
      let children: Child[] = [];
      try {
        children = [1, 2, 4].map((batchesInFlightMax, index) =>
          startChild('hammer.ts', [
            planFile(dir, `hammer-${index}.json`, {
              databaseUrl: store.location.databaseUrl!,
              hot,
              rail: accounts.rail,
              wallets: accounts.wallets,
              durationMs: 2500,
              concurrency: 64,
              batchesInFlightMax,
            } satisfies HammerPlan),
          ]),
        );
        await runTogether(children);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const summaries = children.map((child) => {
        const line = child.lines.find((candidate) => candidate.startsWith('summary '));
        assert.ok(line, `a hammer printed no summary:\n${child.stderr()}`);
        return JSON.parse(line.slice('summary '.length)) as HammerSummary;
      });
      let created = 0;
      const allowed = new Set(['created', 'exceeds_credits', 'linked_event_failed']);
      for (const summary of summaries) {
        assert.equal(summary.rejected, 0, `calls rejected instead of resolving:\n${summary.errors.join('\n')}`);
        assert.ok(summary.calls > 0);
        for (const code of Object.keys(summary.results)) assert.ok(allowed.has(code), `unexpected result ${code}`);
        created += summary.results.created ?? 0;
      }
      const total = await store.db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM ledger_transfers');
      assert.equal(total.rows[0]?.n, BigInt(30 + created), 'stored transfers = funding + every created result');
      await assertVerified(ledger);
      const deadlocks = await deadlocksOf(store);
      console.log(
        `[concurrency postgres] hammer: ${deadlocks} deadlocks detected; ${summaries
          .map((s) => `${s.calls} calls (results ${JSON.stringify(s.results)}, ${s.stats.batches} batches, ${s.stats.retries} retries, ${s.stats.splits} splits)`)
          .join('; ')}`,
      );
      // docs/ledger.md: batches commit one at a time under the ledger lock, so two batches (two processes)
      // never wait for each other on rows. Every id here is distinct, so no wait can form a cycle in a
      // correct ledger; a deadlock costs deadlock_timeout (1 s by default) and a redo, and five in a row
      // reject a caller.
      assert.equal(deadlocks, 0n, `PostgreSQL detected ${deadlocks} deadlocks between ledger batches, which hold one lock in turn`);
    });
  });
});
