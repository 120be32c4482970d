// Statements that join a JSON array of a few rows with a large table probe the table's index instead
// of scanning it, on both stores (jsonb_to_recordset alone is estimated at 100 rows, and against that
// the planner hashed the whole table).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { reserveSql, storeAnswersSql } from '../api/idempotency.ts';
import { jsonRecords } from './json-records.ts';

const KEYS = 20_000;

/** Every node of an EXPLAIN (FORMAT JSON) plan, subplans and CTEs included. */
function planNodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (plan.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

async function scansOf(store: TestStore, sql: string, params: unknown[]): Promise<string[]> {
  const { rows } = await store.db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const raw = rows[0]!['QUERY PLAN'];
  const document = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: Record<string, unknown> }>;
  return planNodes(document[0]!.Plan)
    .filter((node) => typeof node['Relation Name'] === 'string')
    .map((node) => `${node['Node Type']} on ${node['Relation Name']}`);
}

for (const kind of STORE_KINDS) {
  describe(`JSON rows joined with a large table (${kind})`, () => {
    let store: TestStore;
    before(async () => {
      store = await createTestStore(kind);
      await store.db.query(
        `INSERT INTO idempotency_keys (owner, key, request_digest, state, response_status, response_body, locked_until)
         SELECT 'mer_' || (i % 4), 'key-' || i, 'digest', 'done', 200, '{"id":"pay_1"}', now() FROM generate_series(1, ${KEYS}) AS i`,
      );
    });
    after(() => store.drop());

    const keys = JSON.stringify([1, 2, 3].map((i) => ({ owner: 'mer_1', key: `key-${i * 4 + 1}`, digest: 'digest' })));

    it('stores answers by primary key lookups', async () => {
      const answers = JSON.stringify([1, 2, 3].map((i) => ({ owner: 'mer_1', key: `key-${i * 4 + 1}`, status: 200, body: {} })));
      const scans = await scansOf(store, storeAnswersSql(1, 3), [answers]);
      assert.ok(scans.some((scan) => /^Index( Only)? Scan on idempotency_keys$/.test(scan)), scans.join(', '));
      assert.ok(!scans.includes('Seq Scan on idempotency_keys'), scans.join(', '));
    });

    it('reserves keys and reads the ones already there by primary key lookups', async () => {
      const scans = await scansOf(store, reserveSql(3), [keys, 60, 24]);
      assert.ok(!scans.includes('Seq Scan on idempotency_keys'), scans.join(', '));
      // And what it reports is right: three existing, finished keys are replayed, not taken.
      const { rows } = await store.db.query<{ key: string; taken: boolean; state: string }>(reserveSql(3), [keys, 60, 24]);
      assert.deepEqual(rows.map((row) => [row.key, row.taken, row.state]).sort(), [
        ['key-13', false, 'done'], ['key-5', false, 'done'], ['key-9', false, 'done'],
      ]);
    });

    it('gives the planner the number of rows sent, and loses none of them', async () => {
      const records = jsonRecords('$1', 'r(owner text, key text)', 3);
      assert.match(records, /LIMIT 3\) AS r$/);
      const { rows } = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${records}`, [keys]);
      assert.equal(rows[0]!.n, 3);
      assert.throws(() => jsonRecords('$1', 'r(a text)', -1), /not a row count/);
      assert.throws(() => jsonRecords('$1', 'r; DROP TABLE x; (a text)', 1), /not an alias/);
    });
  });
}
