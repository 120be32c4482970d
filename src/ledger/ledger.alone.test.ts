// A batch written alone (docs/ledger.md, "A batch written alone"): with one batch in flight, a batch
// decided ahead of the lock is one autocommit statement that takes the ledger lock and the head first
// (`ledger_enter`), and fails whole with 40001 when the head moved. Against real stores: the path is
// taken, dates its transfers as stored, is undone whole (its writers' rows included) and redone under
// the lock when another process committed, and waits for the lock before any of its parts writes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import type { TransferInput } from './model.ts';
import { createLedgerService, type LedgerService } from './service.ts';
import { LEDGER_LOCK_KEY } from './store.ts';
import { statementWriter } from './unit-of-work.ts';

const uuid = () => randomUUID();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A writer of probe rows, made of statements, so that it rides in the ledger's statement. */
const probeWriter = statementWriter((rows, first) => [
  {
    sql: `INSERT INTO alone_probe (note) SELECT unnest($${first}::text[]) RETURNING 1`,
    params: [rows as string[]],
    expectedRows: rows.length,
  },
]);

async function accounts(ledger: LedgerService, count: number): Promise<string[]> {
  const inputs = Array.from({ length: count }, () => ({ id: uuid(), asset: 'USD', kind: 'merchant' as const }));
  const results = await ledger.createAccounts(inputs);
  assert.ok(results.every((result) => result.result === 'created'));
  return inputs.map((input) => input.id);
}

function transfer(debitAccountId: string, creditAccountId: string, amount = 1n): TransferInput {
  return { id: uuid(), debitAccountId, creditAccountId, amount, code: 1 };
}

/** Another session holding the ledger lock in an open transaction, as a batch of another process does
 * (PostgreSQL): `COMMIT` on it lets the batches waiting for the lock go. */
async function holdLedgerLock(store: TestStore): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: store.location.databaseUrl });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT pg_advisory_xact_lock($1::int8)', [BigInt.asIntN(64, LEDGER_LOCK_KEY).toString()]);
  return holder;
}

for (const kind of STORE_KINDS) {
  describe(`${kind}: a batch written alone`, () => {
    let store: TestStore;
    let ledger: LedgerService;

    before(async () => {
      store = await createTestStore(kind);
      await store.db.query('CREATE TABLE alone_probe (id bigint GENERATED ALWAYS AS IDENTITY, note text NOT NULL)');
      ledger = createLedgerService({ db: store.db, pipeline: { batchesInFlightMax: 1 } });
      ledger.registerWriter('probe', probeWriter);
    });

    after(async () => {
      await ledger?.close();
      await store?.drop();
    });

    it('writes batches decided ahead in one statement, dated as stored, and balances stay exact', async () => {
      const [a, b, c] = await accounts(ledger, 3);
      // The first batch reads its accounts under the lock; the ones after it are decided from the cache.
      await ledger.createTransfers([transfer(a!, b!), transfer(b!, c!)]);
      const before = ledger.pipelineStats().writtenAlone;
      const results = [];
      for (let wave = 0; wave < 3; wave += 1) {
        results.push(
          ...(await Promise.all(
            Array.from({ length: 20 }, (_, unit) => {
              const index = wave * 20 + unit;
              return ledger.commit({
                transfers: [transfer(index % 2 === 0 ? a! : b!, c!, BigInt(index + 1))],
                finish: (unitResults) => ({ value: unitResults, writes: [{ writer: 'probe', row: `unit ${index}` }] }),
              });
            }),
          )),
        );
      }
      assert.ok(ledger.pipelineStats().writtenAlone >= before + 3, 'each wave was written alone');
      assert.ok(results.every((unit) => unit[0]!.result === 'created'));
      for (const unit of results.slice(0, 5)) {
        const created = unit[0]!;
        assert.ok(created.result === 'created');
        const stored = await ledger.getTransfer(created.id);
        assert.equal(stored?.createdAt.getTime(), created.transfer.createdAt.getTime(), 'the answer carries the stored time');
      }
      const probes = await store.db.query<{ count: string }>('SELECT count(*)::text AS count FROM alone_probe');
      assert.equal(probes.rows[0]!.count, '60');
      const credited = await ledger.getBalance(c!);
      assert.equal(credited?.posted, 1n + (60n * 61n) / 2n);
      assert.deepEqual((await ledger.verify()).drift, []);
    });

    it('opens a hold with a timeout in the same statement, in the index of open holds, and closes it when posted', async () => {
      const [a, b] = await accounts(ledger, 2);
      await ledger.createTransfers([transfer(a!, b!)]);
      const alone = ledger.pipelineStats().writtenAlone;
      const hold = { ...transfer(a!, b!, 40n), pending: true, timeoutSeconds: 3600 };
      const [opened] = await ledger.createTransfers([hold]);
      assert.ok(opened?.result === 'created');
      assert.equal(ledger.pipelineStats().writtenAlone, alone + 1, 'the hold was written alone');
      const stored = await ledger.getTransfer(hold.id);
      assert.equal(stored?.expiresAt?.getTime(), opened.transfer.expiresAt?.getTime());
      assert.equal(opened.transfer.expiresAt!.getTime() - opened.transfer.createdAt.getTime(), 3_600_000);
      const index = await store.db.query<{ expires_at: Date }>('SELECT expires_at FROM ledger_open_holds WHERE pending_id = $1', [hold.id]);
      assert.equal(index.rows[0]?.expires_at.getTime(), stored?.expiresAt?.getTime());
      const [posted] = await ledger.createTransfers([{ id: uuid(), postPendingId: hold.id, code: 1 }]);
      assert.equal(posted?.result, 'created');
      const left = await store.db.query('SELECT 1 FROM ledger_open_holds WHERE pending_id = $1', [hold.id]);
      assert.equal(left.rows.length, 0, 'a posted hold leaves the index');
      assert.deepEqual((await ledger.verify()).drift, []);
    });
  });
}

describe('postgres: a batch written alone, beside another process', () => {
  let store: TestStore;
  let first: LedgerService;
  let second: LedgerService;

  before(async () => {
    store = await createTestStore('postgres');
    await store.db.query('CREATE TABLE alone_probe (id bigint GENERATED ALWAYS AS IDENTITY, note text NOT NULL)');
    // Two services on one database, as two server processes are: each its own cache and pipeline.
    first = createLedgerService({ db: store.db, pipeline: { batchesInFlightMax: 1 } });
    second = createLedgerService({ db: store.db, pipeline: { batchesInFlightMax: 1 } });
    first.registerWriter('probe', probeWriter);
    second.registerWriter('probe', probeWriter);
  });

  after(async () => {
    await first?.close();
    await second?.close();
    await store?.drop();
  });

  it('is undone whole and redone under the lock when the head moved since it was decided', async () => {
    const [a, b] = await accounts(first, 2);
    await first.createTransfers([transfer(a!, b!)]);
    await first.createTransfers([transfer(a!, b!)]); // decided from the cache: the cache stands at the head
    await second.createTransfers([transfer(b!, a!, 5n)]); // the head moves under the first's cache
    const stats = first.pipelineStats();
    const note = `after the head moved ${uuid()}`;
    const [result] = await first.commit({
      transfers: [transfer(a!, b!, 7n)],
      finish: (unitResults) => ({ value: unitResults, writes: [{ writer: 'probe', row: note }] }),
    });
    assert.equal(result!.result, 'created');
    const after = first.pipelineStats();
    assert.equal(after.retries, stats.retries + 1, 'the statement written alone failed once (40001)');
    assert.equal(after.decidedUnderLock, stats.decidedUnderLock + 1, 'and the batch was redone under the lock');
    const probes = await store.db.query<{ count: string }>('SELECT count(*)::text AS count FROM alone_probe WHERE note = $1', [note]);
    assert.equal(probes.rows[0]!.count, '1', "the failed statement's writer rows were undone with it");
    const account = await first.getAccount(b!);
    assert.equal(account?.creditsPosted, 9n);
    assert.equal(account?.debitsPosted, 5n);
    assert.deepEqual((await first.verify()).drift, []);
  });

  it('takes the ledger lock before any of its parts writes', async () => {
    const [a, b] = await accounts(first, 2);
    await first.createTransfers([transfer(a!, b!)]);
    await first.createTransfers([transfer(a!, b!)]);
    const holder = await holdLedgerLock(store);
    try {
      const sequence = async () =>
        (await store.db.query<{ is_called: boolean; last_value: string }>('SELECT is_called, last_value::text FROM alone_probe_id_seq')).rows[0]!;
      const seen = await sequence();
      const alone = first.pipelineStats().writtenAlone;
      const committing = first.commit({
        transfers: [transfer(a!, b!, 3n)],
        finish: (unitResults) => ({ value: unitResults, writes: [{ writer: 'probe', row: 'behind the lock' }] }),
      });
      // The statement is sent and waits for the lock inside PostgreSQL.
      let waiting = false;
      for (let tries = 0; tries < 250 && !waiting; tries += 1) {
        const found = await store.db.query<{ count: string }>(
          "SELECT count(*)::text AS count FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        );
        waiting = found.rows[0]!.count !== '0';
        if (!waiting) await sleep(20);
      }
      assert.ok(waiting, 'the statement waits for the ledger lock');
      assert.deepEqual(await sequence(), seen, 'no probe row was inserted while the lock was held elsewhere');
      await holder.query('COMMIT');
      const [result] = await committing;
      assert.equal(result!.result, 'created');
      assert.equal(first.pipelineStats().writtenAlone, alone + 1);
      assert.notDeepEqual(await sequence(), seen);
    } finally {
      await holder.end();
    }
  });
});

describe('postgres: two batches in flight on the serial connection', () => {
  let store: TestStore;
  let ledger: LedgerService;

  before(async () => {
    store = await createTestStore('postgres');
    ledger = createLedgerService({ db: store.db, pipeline: { batchesInFlightMax: 2, serial: true } });
  });

  after(async () => {
    await ledger?.close();
    await store?.drop();
  });

  const waitingForLock = async () =>
    Number((await store.db.query<{ count: string }>("SELECT count(*)::text AS count FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]!.count);

  async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
    for (let tries = 0; tries < 250; tries += 1) {
      if (await condition()) return;
      await sleep(20);
    }
    assert.fail(`timed out waiting until ${what}`);
  }

  it('queues the next batch behind the one at the server, in order, and writes both alone without a retry', async () => {
    const [a, b, c] = await accounts(ledger, 3);
    const [hold] = [{ ...transfer(a!, b!, 50n), pending: true }];
    assert.equal((await ledger.createTransfers([hold]))[0]!.result, 'created');
    await ledger.createTransfers([transfer(a!, c!)]);
    const holder = await holdLedgerLock(store);
    try {
      const stats = ledger.pipelineStats();
      const first = Array.from({ length: 5 }, (_, index) => transfer(a!, c!, BigInt(index + 1)));
      const firstDone = Promise.all(first.map((input) => ledger.createTransfers([input])));
      await until(async () => (await waitingForLock()) === 1, 'the first batch waits for the lock at the server');
      // The second batch is formed while the first is at the server: decided ahead from where the first
      // leaves the books, and queued behind it on the same connection rather than sent beside it.
      const second = Array.from({ length: 5 }, (_, index) => transfer(b!, c!, BigInt(index + 10)));
      const secondDone = Promise.all(second.map((input) => ledger.createTransfers([input])));
      await until(() => ledger.pipelineStats().batches === stats.batches + 2, 'the second batch is formed');
      await sleep(50);
      assert.equal(await waitingForLock(), 1, 'one statement waits at the server; the second waits behind it on the connection');
      // A batch that needs a transaction (posting a hold reads it under the lock) queues behind both.
      const thirdDone = ledger.createTransfers([{ id: uuid(), postPendingId: hold.id, code: 1 }]);
      await holder.query('COMMIT');
      const [firstResults, secondResults, [posted]] = await Promise.all([firstDone, secondDone, thirdDone]);
      assert.ok([...firstResults, ...secondResults].every(([result]) => result!.result === 'created'));
      assert.equal(posted!.result, 'created');
      const after = ledger.pipelineStats();
      assert.equal(after.retries, stats.retries, 'no statement failed its gate');
      assert.equal(after.writtenAlone, stats.writtenAlone + 2, 'both batches were written alone');
      assert.equal(after.decidedUnderLock, stats.decidedUnderLock + 1, 'the post was decided under the lock');
      // The batches reached the lock in the order they were formed.
      const seqs = await store.db.query<{ id: string; seq: string }>('SELECT id, seq::text AS seq FROM ledger_transfers WHERE id = ANY($1::uuid[])', [
        [...first, ...second].map((input) => input.id),
      ]);
      const seqOf = new Map(seqs.rows.map((row) => [row.id, BigInt(row.seq)]));
      const lastOfFirst = first.reduce((max, input) => (seqOf.get(input.id)! > max ? seqOf.get(input.id)! : max), 0n);
      assert.ok(second.every((input) => seqOf.get(input.id)! > lastOfFirst));
      assert.equal((await ledger.getAccount(c!))?.creditsPosted, 1n + 15n + 60n);
      assert.equal((await ledger.getAccount(b!))?.creditsPosted, 50n);
      assert.deepEqual((await ledger.verify()).drift, []);
    } finally {
      await holder.end();
    }
  });
});
