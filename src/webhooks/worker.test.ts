import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import pg from 'pg';
import { createTestStore, STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../../test/support/webhook-receiver.ts';
import { createLogger } from '../log/logger.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { insertEvents } from '../events/outbox.ts';
import { createSecretBox, webhookSecretKey } from './secrets.ts';
import * as store from './store.ts';
import { startWebhookWorker, type WebhookWorker } from './worker.ts';

const WEBHOOK_ENV = {
  WEBHOOK_POLL_INTERVAL_MS: '20',
  WEBHOOK_RETRY_SCHEDULE_MS: '60,60',
  // Long enough that a loaded machine rarely times out a healthy attempt (which sends it again, as
  // at-least-once allows; the two-worker test tells such a retry from a double send), short enough for
  // the timeout test.
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_CONCURRENCY: '8',
  WEBHOOK_BATCH_MAX: '8',
  WEBHOOK_FAN_OUT_BATCH_MAX: '25',
};
const EVENTS = 150;

for (const kind of STORE_KINDS) {
  describe(`webhook workers on ${kind}`, () => {
    let api: TestApi;
    const receivers: WebhookReceiver[] = [];
    const extraRuntimes: Runtime[] = [];
    const extraWorkers: WebhookWorker[] = [];

    before(async () => {
      // The API's runtime has no workers: every delivery here is made by the workers each test starts.
      api = await startTestApi(kind, { workers: false, env: WEBHOOK_ENV });
    });
    after(async () => {
      await Promise.all(extraWorkers.map((worker) => worker.stop()));
      for (const runtime of extraRuntimes) await runtime.close();
      await api.close();
      await Promise.all(receivers.map((receiver) => receiver.close()));
    });

    async function receiver(respond?: WebhookReceiver['respond']): Promise<WebhookReceiver> {
      const started = await startWebhookReceiver(respond);
      receivers.push(started);
      return started;
    }

    async function endpoint(merchant: TestMerchant, url: string): Promise<{ id: string; secret: string }> {
      const response = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body: { url, enabled_events: ['*'] } });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    /** Two more workers on the same database, started once: two more processes' runtimes on PostgreSQL;
     * on PGlite (one process only) two worker instances over the API's connection. */
    async function startTwoWorkers(): Promise<WebhookWorker[]> {
      if (extraRuntimes.length > 0) return extraRuntimes.map((runtime) => runtime.workers.webhooks!);
      if (extraWorkers.length > 0) return extraWorkers;
      if (kind === 'postgres') {
        for (let index = 0; index < 2; index += 1) {
          const runtime = await openRuntime(api.runtime.config, { logger: createLogger('silent'), workers: true });
          extraRuntimes.push(runtime);
        }
        return extraRuntimes.map((runtime) => runtime.workers.webhooks!);
      }
      const config = api.runtime.config;
      const secretBox = createSecretBox(webhookSecretKey({ explicit: config.webhooks.secretEncryptionKey, vaultMasterKey: config.vault?.masterKey, production: false }));
      for (let index = 0; index < 2; index += 1) {
        extraWorkers.push(startWebhookWorker({ db: api.runtime.db, secretBox, options: config.webhooks }));
      }
      return extraWorkers;
    }

    async function writeEvents(merchant: TestMerchant, count: number, label: string): Promise<string[]> {
      const events = Array.from({ length: count }, (_, index) => ({
        merchantId: merchant.id,
        livemode: false,
        type: 'test.ping',
        object: { id: `${label}_${index}`, object: 'ping', index },
        occurrence: '0',
      }));
      await api.runtime.db.transaction((tx) => insertEvents(tx, events));
      const { rows } = await api.runtime.db.query<{ id: string }>(`SELECT id FROM events WHERE merchant_id = $1 AND type = 'test.ping'`, [merchant.id]);
      return rows.map((row) => row.id);
    }

    it('takes over a delivery whose worker died mid-attempt once its lease ends', async () => {
      const merchant = await api.createMerchant();
      const target = await receiver();
      const { id } = await endpoint(merchant, target.url);
      await writeEvents(merchant, 1, 'lease');
      // No worker runs yet. One claims the delivery for a second and dies: no answer is ever recorded.
      // Then two workers start; one of them sends it once the lease has ended.
      let claimedAt = 0;
      const claimed = await eventually(async () => {
        await store.fanOut(api.runtime.db, 100, 3);
        claimedAt = Date.now();
        const due = await store.claimDue(api.runtime.db, 100, 1);
        return due.length > 0 ? due : undefined;
      });
      assert.deepEqual(claimed.map((delivery) => delivery.endpoint.id), [id]);
      await startTwoWorkers();
      await target.waitFor(1, 5000);
      assert.ok(Date.now() - claimedAt >= 900, 'nobody sends it while the lease holds');
      const delivery = await eventually(async () => {
        const response = await api.call('GET', `/v1/webhook_endpoints/${id}/deliveries`, { key: merchant.secretKey });
        const [row] = response.json().data;
        return row?.status === 'succeeded' ? row : undefined;
      });
      assert.equal(delivery.attempts, 2, 'the lost attempt counts');
    });

    it('sends each claimed attempt once with two workers on one database: every event reaches each endpoint', async () => {
      const workers = await startTwoWorkers();
      const before = workers.map((worker) => worker.stats().attemptsStarted);
      const merchant = await api.createMerchant();
      // A little latency keeps several attempts in flight at once in both workers.
      const first = await receiver(() => ({ status: 200, delayMs: 3 }));
      const second = await receiver(() => ({ status: 200, delayMs: 3 }));
      const firstEndpoint = await endpoint(merchant, first.url);
      const secondEndpoint = await endpoint(merchant, second.url);
      // The two workers started by the test before are running.
      const started = performance.now();
      const eventIds = await writeEvents(merchant, EVENTS, 'two_workers');
      await first.waitFor(EVENTS, 20_000);
      await second.waitFor(EVENTS, 20_000);
      const elapsedMs = performance.now() - started;
      // Every delivery ends (a timed-out attempt is retried after it); anything sent twice would arrive
      // within a few polls after that, so give it the time to.
      await eventually(async () => {
        const { rows } = await api.runtime.db.query(`SELECT 1 FROM webhook_deliveries WHERE merchant_id = $1 AND status = 'pending' LIMIT 1`, [merchant.id]);
        return rows.length === 0 ? true : undefined;
      }, 20_000, 'every delivery ended');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Exactly once per claim: every request a receiver got is one recorded attempt (two workers sending
      // under one claim would show as more requests than attempts). A second attempt is allowed only
      // after a first that timed out, as at-least-once delivery must: on a loaded machine PGlite, which
      // runs on the test's own thread, can hold an answer past the 1 s timeout.
      const { rows: attempts } = await api.runtime.db.query<{ endpoint_id: string; attempt: number; error: string | null; status: string }>(
        `SELECT d.endpoint_id, a.attempt, a.error, d.status FROM webhook_delivery_attempts a
         JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.merchant_id = $1`,
        [merchant.id],
      );
      for (const [target, created] of [[first, firstEndpoint], [second, secondEndpoint]] as const) {
        const own = attempts.filter((row) => row.endpoint_id === created.id);
        assert.equal(target.received.length, own.length, 'one request per recorded attempt');
        const ids = target.received.map((message) => message.headers['webhook-id']);
        assert.deepEqual([...new Set(ids)].sort(), [...eventIds].sort());
        for (const message of target.received) new Webhook(created.secret).verify(message.body, message.headers);
        const retried = own.filter((row) => row.attempt > 1);
        assert.ok(retried.length <= EVENTS / 10, `few retries (${retried.length})`);
        for (const row of own.filter((candidate) => candidate.error !== null)) assert.match(row.error!, /^timeout/, 'only a timed-out attempt is sent again');
        assert.equal(own.filter((row) => row.error === null).length, EVENTS, 'one successful attempt per event');
      }
      const { rows } = await api.runtime.db.query<{ status: string; count: bigint }>(
        `SELECT status, count(*) AS count FROM webhook_deliveries WHERE merchant_id = $1 GROUP BY status`,
        [merchant.id],
      );
      assert.deepEqual(rows.map((row) => [row.status, Number(row.count)]), [['succeeded', EVENTS * 2]]);
      const shares = workers.map((worker, index) => worker.stats().attemptsStarted - before[index]!);
      assert.equal(shares[0]! + shares[1]!, attempts.length);
      assert.ok(shares.every((share) => share > 0), `both workers delivered (${shares.join(' + ')})`);
      console.log(`${kind}: ${EVENTS * 2} deliveries by two workers (${shares.join(' + ')}) in ${Math.round(elapsedMs)} ms`);
    });

    it('never skips an event whose transaction commits after a later one', { skip: kind !== 'postgres' && 'needs two connections' }, async () => {
      await startTwoWorkers();
      const merchant = await api.createMerchant();
      const target = await receiver();
      await endpoint(merchant, target.url);
      const early = new pg.Client({ connectionString: api.store.location.databaseUrl });
      const late = new pg.Client({ connectionString: api.store.location.databaseUrl });
      await early.connect();
      await late.connect();
      const insert = (client: pg.Client, id: string) =>
        client.query(`INSERT INTO events (id, merchant_id, livemode, type, data) VALUES ($1, $2, false, 'test.ping', '{"object": {"id": "x"}}')`, [id, merchant.id]);
      try {
        // `early` takes its transaction id first; `late` then writes its event first (the lower seq) but
        // commits last. A cursor over seq alone would pass the late event by.
        await early.query('BEGIN');
        await early.query('SELECT pg_current_xact_id()');
        await late.query('BEGIN');
        await insert(late, 'evt_committed_last');
        await insert(early, 'evt_committed_first');
        await early.query('COMMIT');
        const [first] = await target.waitFor(1);
        assert.equal(first!.headers['webhook-id'], 'evt_committed_first');
        await late.query('COMMIT');
        const [, second] = await target.waitFor(2);
        assert.equal(second!.headers['webhook-id'], 'evt_committed_last');
      } finally {
        await early.end();
        await late.end();
      }
    });

    it("is not held back by a long transaction in another database of the server", { skip: kind !== 'postgres' && 'one database only' }, async () => {
      await startTwoWorkers();
      const merchant = await api.createMerchant();
      const target = await receiver();
      await endpoint(merchant, target.url);
      const neighbour = await createTestStore('postgres', { open: false });
      const stranger = new pg.Client({ connectionString: neighbour.location.databaseUrl });
      await stranger.connect();
      try {
        await stranger.query('BEGIN');
        await stranger.query('SELECT pg_current_xact_id()');
        await writeEvents(merchant, 1, 'neighbour');
        const [message] = await target.waitFor(1);
        assert.match(message!.headers['webhook-id']!, /^evt_/);
      } finally {
        await stranger.query('ROLLBACK');
        await stranger.end();
        await neighbour.drop();
      }
    });

    it('bounds an attempt: a slow receiver times out, a large answer is stored truncated', async () => {
      const merchant = await api.createMerchant();
      const slow = await receiver(() => ({ status: 200, delayMs: 1500 }));
      const large = await receiver(() => ({ status: 400, body: `ab\u0000${'x'.repeat(10_000)}` }));
      const slowEndpoint = await endpoint(merchant, slow.url);
      const largeEndpoint = await endpoint(merchant, large.url);
      await startTwoWorkers();
      await writeEvents(merchant, 1, 'bounds');
      const failedOf = (endpointId: string) =>
        eventually(
          async () => {
            const response = await api.call('GET', `/v1/webhook_endpoints/${endpointId}/deliveries`, { key: merchant.secretKey });
            const [row] = response.json().data;
            return row?.status === 'failed' ? row : undefined;
          },
          8000,
        );
      const timedOut = await failedOf(slowEndpoint.id);
      assert.equal(timedOut.attempts, 3);
      assert.match(timedOut.error, /^timeout/);
      assert.equal(timedOut.response_status, null);
      const truncated = await failedOf(largeEndpoint.id);
      assert.equal(truncated.response_status, 400);
      assert.equal(truncated.response_body.length, 1024);
      assert.equal(truncated.response_body.slice(0, 4), 'ab\uFFFDx', 'a NUL in an answer is stored as U+FFFD');
    });
  });
}
