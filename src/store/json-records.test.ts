// Statements that join a JSON array of a few rows with a large table probe the table's index instead
// of scanning it, on both stores (jsonb_to_recordset alone is estimated at 100 rows, and against that
// the planner hashed the whole table).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestStore, STORE_KINDS, type TestStore } from '../../test/support/stores.ts';
import { RESERVE_SQL, storeAnswersSql } from '../api/idempotency.ts';
import { jsonRecords } from './json-records.ts';

const KEYS = 20_000;

/** Every node of an EXPLAIN (FORMAT JSON) plan, subplans and CTEs included. */
function planNodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (plan.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

function scansIn(raw: unknown): string[] {
  const document = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: Record<string, unknown> }>;
  return planNodes(document[0]!.Plan)
    .filter((node) => typeof node['Relation Name'] === 'string')
    .map((node) => `${node['Node Type']} on ${node['Relation Name']}`);
}

async function scansOf(store: TestStore, sql: string, params: unknown[]): Promise<string[]> {
  const { rows } = await store.db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  return scansIn(rows[0]!['QUERY PLAN']);
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

    it('reserves keys and reads the ones already there by primary key lookups, in its generic plan too', async () => {
      const scans = await scansOf(store, RESERVE_SQL, [keys, 60, 24, 3]);
      assert.ok(!scans.includes('Seq Scan on idempotency_keys'), scans.join(', '));
      // The statement is prepared once per connection, and PostgreSQL may keep a generic plan made at
      // the server's first requests, while the table is empty: that plan must look keys up too (a plain
      // join planned then hashes the whole table for good). Planned here on the table emptied inside a
      // transaction that is rolled back.
      const generic = await store.db
        .transaction(async (tx) => {
          await tx.query('TRUNCATE idempotency_keys');
          await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
          await tx.query(`PREPARE reserve_generic (jsonb, integer, integer, bigint) AS ${RESERVE_SQL}`);
          const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE reserve_generic ('${keys}', 60, 24, 3)`);
          await tx.query('DEALLOCATE reserve_generic');
          throw Object.assign(new Error('roll back'), { scans: scansIn(rows[0]!['QUERY PLAN']) });
        })
        .catch((error: { scans?: string[] }) => {
          if (!error.scans) throw error;
          return error.scans;
        });
      assert.ok(generic.some((scan) => /^Index( Only)? Scan on idempotency_keys$/.test(scan)), generic.join(', '));
      assert.ok(!generic.includes('Seq Scan on idempotency_keys'), generic.join(', '));
      // And what it reports is right: three existing, finished keys are replayed, not taken.
      const { rows } = await store.db.query<{ key: string; taken: boolean; state: string }>(RESERVE_SQL, [keys, 60, 24, 3]);
      assert.deepEqual(rows.map((row) => [row.key, row.taken, row.state]).sort(), [
        ['key-13', false, 'done'], ['key-5', false, 'done'], ['key-9', false, 'done'],
      ]);
    });

    it('gives the planner the number of rows sent, and loses none of them', async () => {
      const records = jsonRecords('$1', 'r(owner text, key text)', 3);
      assert.match(records, /LIMIT 3\) AS r$/);
      const { rows } = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${records}`, [keys]);
      assert.equal(rows[0]!.n, 3);
      assert.match(jsonRecords('$1', 'r(a text)', '$4'), /LIMIT \$4::bigint\) AS r$/);
      assert.throws(() => jsonRecords('$1', 'r(a text)', -1), /not a row count/);
      assert.throws(() => jsonRecords('$1', 'r(a text)', '$0; DROP TABLE x' as `$${number}`), /not a row count/);
      assert.throws(() => jsonRecords('$1', 'r; DROP TABLE x; (a text)', 1), /not an alias/);
    });
  });
}
