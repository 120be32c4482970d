// The store interface's promises that the rest relies on, on both stores.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';

for (const kind of STORE_KINDS) {
  describe(`database (${kind})`, () => {
    let store: TestStore;
    before(async () => {
      store = await createTestStore(kind);
    });
    after(() => store.drop());

    it('commits through `unflushed` without waiting for the WAL flush, and everything else with it', async () => {
      const setting = async (client: typeof store.db.unflushed) => (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit;
      // PGlite has one connection with fsync off: its `unflushed` is the database itself.
      const usual = await setting(store.db);
      assert.equal(await setting(store.db.unflushed), kind === 'postgres' ? 'off' : usual);
      if (kind === 'postgres') assert.equal(usual, 'on');
      assert.equal(await store.db.transaction((tx) => setting(tx)), usual);
      // What it writes is a committed write like any other, seen at once by the other connections.
      await store.db.unflushed.query('CREATE TABLE unflushed_rows (id int PRIMARY KEY)');
      await store.db.unflushed.query('INSERT INTO unflushed_rows VALUES (1), (2)');
      assert.equal((await store.db.query('SELECT id FROM unflushed_rows')).rows.length, 2);
    });

    it('runs the statements and transactions of `serial` one after another, in the order they were sent', async () => {
      await store.db.query('CREATE TABLE serial_rows (seq int GENERATED ALWAYS AS IDENTITY, note text NOT NULL, pid int NOT NULL)');
      const insert = 'INSERT INTO serial_rows (note, pid) VALUES ($1, pg_backend_pid())';
      // A slow transaction first: what is sent after it waits for it instead of overtaking it.
      const sent = [
        store.db.serial.transaction(async (tx) => {
          await tx.query('SELECT pg_sleep(0.1)');
          await tx.query(insert, ['transaction']);
        }),
        store.db.serial.query(insert, ['statement']),
        store.db.serial.transaction((tx) => tx.query(insert, ['second transaction'])),
        store.db.serial.queryArrays(insert, ['arrays']),
      ];
      await Promise.all(sent);
      const rows = (await store.db.query<{ note: string; pid: number }>('SELECT note, pid FROM serial_rows ORDER BY seq')).rows;
      assert.deepEqual(rows.map((row) => row.note), ['transaction', 'statement', 'second transaction', 'arrays']);
      assert.equal(new Set(rows.map((row) => row.pid)).size, 1, 'all on one connection');
    });

    it('goes on with the next job on `serial` after a statement or a transaction fails', async () => {
      const failing = store.db.serial.query('SELECT 1 / 0');
      const rolledBack = store.db.serial.transaction(async (tx) => {
        await tx.query("INSERT INTO serial_rows (note, pid) VALUES ('rolled back', 0)");
        throw new Error('the work failed');
      });
      const next = store.db.serial.query<{ one: number }>('SELECT 1 AS one');
      await assert.rejects(failing, /division by zero/);
      await assert.rejects(rolledBack, /the work failed/);
      assert.equal((await next).rows[0]!.one, 1);
      assert.equal((await store.db.query("SELECT 1 FROM serial_rows WHERE note = 'rolled back'")).rows.length, 0);
    });

    if (kind === 'postgres') {
      it('opens `serial` again after its connection broke', async () => {
        const pid = async () => (await store.db.serial.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const before = await pid();
        await store.db.query('SELECT pg_terminate_backend($1)', [before]);
        // What was written on the broken connection fails; the next job opens a new one.
        let after: number | null = null;
        for (let tries = 0; tries < 50 && after === null; tries += 1) after = await pid().catch(() => null);
        assert.ok(after !== null && after !== before);
      });
    }
  });
}
