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
  });
}
