import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { eventually, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../test/support/webhook-receiver.ts';
import { ATTEMPTS_PER_DELIVERY_MAX } from './model.ts';

// Three automatic attempts 60 ms apart, and an endpoint disabled after two deliveries in a row used
// them all up: the whole retry story runs in well under a second.
const WEBHOOK_ENV = {
  WEBHOOK_POLL_INTERVAL_MS: '20',
  WEBHOOK_RETRY_SCHEDULE_MS: '60,60',
  WEBHOOK_DISABLE_AFTER_EXHAUSTED_DELIVERIES: '2',
  WEBHOOK_TIMEOUT_MS: '2000',
};

function verify(secret: string, webhook: ReceivedWebhook): { id: string; type: string; data: { object: Record<string, unknown> } } {
  return new Webhook(secret).verify(webhook.body, webhook.headers) as never;
}

for (const kind of STORE_KINDS) {
  describe(`webhooks on ${kind}`, () => {
    let api: TestApi;
    const receivers: WebhookReceiver[] = [];

    before(async () => {
      api = await startTestApi(kind, { workers: true, env: WEBHOOK_ENV });
    });
    after(async () => {
      await api.close();
      await Promise.all(receivers.map((receiver) => receiver.close()));
    });

    async function receiver(respond?: WebhookReceiver['respond']): Promise<WebhookReceiver> {
      const started = await startWebhookReceiver(respond);
      receivers.push(started);
      return started;
    }

    async function endpoint(merchant: TestMerchant, url: string, enabledEvents: string[] = ['*']): Promise<{ id: string; secret: string }> {
      const response = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body: { url, enabled_events: enabledEvents } });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    /** A payment that succeeds through the API: its `payment.succeeded` event is written with it. */
    async function succeededPayment(merchant: TestMerchant, amount = 100): Promise<string> {
      const customer = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} });
      await api.fundWallet(merchant, customer.json().id, 10_000n, 'USD');
      const payment = await api.call('POST', '/v1/payments', {
        key: merchant.secretKey,
        body: { customer: customer.json().id, amount, currency: 'USD', confirm: true, line_items: [{ description: 'Gem pack', category: 'virtual_good', unit_amount: amount }] },
      });
      assert.equal(payment.statusCode, 200, payment.body);
      assert.equal(payment.json().status, 'succeeded');
      return payment.json().id;
    }

    const deliveries = async (merchant: TestMerchant, endpointId: string) => {
      const response = await api.call('GET', `/v1/webhook_endpoints/${endpointId}/deliveries`, { key: merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data as Array<Record<string, any>>;
    };

    it('manages endpoints: the secret is shown once, then list, retrieve, update and delete', async () => {
      const merchant = await api.createMerchant();
      const created = await api.call('POST', '/v1/webhook_endpoints', {
        key: merchant.secretKey,
        body: { url: 'https://example.com/hooks', enabled_events: ['payment.succeeded', 'payment.succeeded', 'payment.canceled'], description: 'orders' },
      });
      assert.equal(created.statusCode, 200, created.body);
      const endpointBody = created.json();
      assert.match(endpointBody.id, /^we_/);
      assert.match(endpointBody.secret, /^whsec_[A-Za-z0-9+/]{32}$/);
      assert.deepEqual(endpointBody.enabled_events, ['payment.succeeded', 'payment.canceled']);
      assert.equal(endpointBody.status, 'enabled');
      assert.equal(endpointBody.livemode, false);
      // The secret is a usable Standard Webhooks key.
      assert.doesNotThrow(() => new Webhook(endpointBody.secret));

      const fetched = await api.call('GET', `/v1/webhook_endpoints/${endpointBody.id}`, { key: merchant.readKey });
      assert.equal(fetched.statusCode, 200);
      assert.equal(fetched.json().secret, undefined);
      assert.equal(fetched.json().url, 'https://example.com/hooks');
      const listed = await api.call('GET', '/v1/webhook_endpoints', { key: merchant.secretKey });
      assert.deepEqual(listed.json().data.map((item: { id: string }) => item.id), [endpointBody.id]);
      assert.ok(!listed.body.includes('whsec_'));

      const updated = await api.call('POST', `/v1/webhook_endpoints/${endpointBody.id}`, {
        key: merchant.secretKey,
        body: { url: 'https://example.com/v2', enabled_events: ['*'], description: null, disabled: true },
      });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json().url, 'https://example.com/v2');
      assert.deepEqual(updated.json().enabled_events, ['*']);
      assert.equal(updated.json().description, null);
      assert.equal(updated.json().status, 'disabled');
      assert.equal(updated.json().disabled_reason, 'requested');
      const enabled = await api.call('POST', `/v1/webhook_endpoints/${endpointBody.id}`, { key: merchant.secretKey, body: { disabled: false } });
      assert.equal(enabled.json().status, 'enabled');
      assert.equal(enabled.json().disabled_reason, null);

      const readOnly = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.readKey, body: { url: 'https://example.com', enabled_events: ['*'] } });
      assert.equal(readOnly.json().error.code, 'api_key_scope_insufficient');
      const publishable = await api.call('GET', '/v1/webhook_endpoints', { key: merchant.publishableKey });
      assert.equal(publishable.json().error.code, 'secret_key_required');

      const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/webhook_endpoints/${endpointBody.id}`, headers: { authorization: `Bearer ${merchant.secretKey}` } });
      assert.equal(deleted.statusCode, 200, deleted.body);
      assert.deepEqual(deleted.json(), { id: endpointBody.id, object: 'webhook_endpoint', deleted: true });
      assert.equal((await api.call('GET', `/v1/webhook_endpoints/${endpointBody.id}`, { key: merchant.secretKey })).statusCode, 404);
      const { rows } = await api.runtime.db.query<{ secret_sealed: string | null }>('SELECT secret_sealed FROM webhook_endpoints WHERE id = $1', [endpointBody.id]);
      assert.equal(rows[0]?.secret_sealed, null, 'a deleted endpoint keeps no secret');
    });

    it('stores the secret sealed, and a keyed create replays the same endpoint', async () => {
      const merchant = await api.createMerchant();
      const headers = { 'idempotency-key': 'endpoint-1' };
      const body = { url: 'https://example.com/a', enabled_events: ['*'] };
      const first = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body, headers });
      const second = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body, headers });
      assert.equal(second.json().id, first.json().id);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      const { rows } = await api.runtime.db.query<{ secret_sealed: string }>('SELECT secret_sealed FROM webhook_endpoints WHERE id = $1', [first.json().id]);
      assert.ok(rows[0]!.secret_sealed.startsWith('v1.'));
      assert.ok(!rows[0]!.secret_sealed.includes(first.json().secret.slice(6)), 'the stored form is not the secret');
    });

    it('answers a keyed create re-run after its endpoint was deleted with 404 resource_missing, every time', async () => {
      const merchant = await api.createMerchant();
      const key = `endpoint-deleted-${kind}`;
      const headers = { 'idempotency-key': key };
      const body = { url: 'https://example.com/gone', enabled_events: ['*'] };
      const first = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body, headers });
      assert.equal(first.statusCode, 200, first.body);
      const id = first.json().id as string;
      const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/webhook_endpoints/${id}`, headers: { authorization: `Bearer ${merchant.secretKey}` } });
      assert.equal(deleted.statusCode, 200, deleted.body);
      // The first run "never answered" (a crash after its commit): the retry resumes it with the same seed,
      // so it lands on the id of the deleted endpoint.
      await api.runtime.db.query(
        `UPDATE idempotency_keys SET state = 'running', response_status = NULL, response_body = NULL, locked_until = now() - interval '1 second' WHERE key = $1`,
        [key],
      );
      for (const attempt of [1, 2]) {
        const retried = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body, headers });
        assert.equal(retried.statusCode, 404, `attempt ${attempt}: ${retried.body}`);
        assert.equal(retried.json().error.code, 'resource_missing');
        assert.match(retried.json().error.message, new RegExp(`${id}.*deleted`));
      }
      const { rows } = await api.runtime.db.query<{ deleted: boolean }>('SELECT deleted_at IS NOT NULL AS deleted FROM webhook_endpoints WHERE id = $1', [id]);
      assert.deepEqual(rows, [{ deleted: true }], 'the deleted endpoint stays deleted');
      const listed = await api.call('GET', '/v1/webhook_endpoints', { key: merchant.secretKey });
      assert.deepEqual(listed.json().data, []);
    });

    it("pages endpoints within the caller's mode: a cursor of the other mode's endpoint starts nothing", async () => {
      const merchant = await api.createMerchant();
      const before = await endpoint(merchant, 'https://example.com/test-0');
      const live = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.liveSecretKey, body: { url: 'https://example.com/live', enabled_events: ['*'] } });
      assert.equal(live.statusCode, 200, live.body);
      const later = await endpoint(merchant, 'https://example.com/test-1');
      const page = async (startingAfter: string, key = merchant.secretKey) =>
        (await api.call('GET', `/v1/webhook_endpoints?starting_after=${startingAfter}`, { key })).json().data.map((item: { id: string }) => item.id);
      assert.deepEqual(await page(before.id), [later.id]);
      assert.deepEqual(await page(live.json().id), [], "the live endpoint's place does not page test endpoints");
      assert.deepEqual(await page(before.id, merchant.liveSecretKey), [], "nor a test endpoint's place live ones");
      assert.deepEqual(await page(later.id), []);
    });

    it('validates urls and event types, https only in live mode', async () => {
      const merchant = await api.createMerchant();
      const create = (body: Record<string, unknown>, key = merchant.secretKey) => api.call('POST', '/v1/webhook_endpoints', { key, body });
      const refused: Array<[Record<string, unknown>, string, string]> = [
        [{ url: 'ftp://example.com/x', enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: 'not a url', enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: 'https://user:pass@example.com/', enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: 'https://example.com/#frag', enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: `https://example.com/${'a'.repeat(2100)}`, enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: 'https://example.com/', enabled_events: [] }, 'parameter_invalid', 'enabled_events'],
        [{ url: 'https://example.com/', enabled_events: ['Payment Succeeded'] }, 'parameter_invalid', 'enabled_events[0]'],
        [{ url: 'https://example.com/', enabled_events: ['payment'] }, 'parameter_invalid', 'enabled_events[0]'],
        [{ url: 'https://example.com/', enabled_events: ['*.succeeded'] }, 'parameter_invalid', 'enabled_events[0]'],
        [{ url: 'https://example.com/' }, 'parameter_missing', 'enabled_events'],
        [{ url: 'https://example.com/', enabled_events: ['*'], secret: 'mine' }, 'parameter_unknown', 'secret'],
        [{ url: 'https://example.com/\u0000', enabled_events: ['*'] }, 'parameter_invalid', 'url'],
        [{ url: 'https://example.com/', enabled_events: ['*'], description: 'a\u0000b' }, 'parameter_invalid', 'description'],
      ];
      for (const [body, code, param] of refused) {
        const response = await create(body);
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        assert.equal(response.json().error.code, code, JSON.stringify(body));
        assert.equal(response.json().error.param, param, JSON.stringify(body));
      }
      // Live mode: https only, and never the installation's own network (WEBHOOK_PRIVATE_TARGETS=test).
      for (const url of ['http://example.com/hooks', 'https://127.0.0.1/hooks', 'https://localhost/hooks', 'https://[::1]/hooks', 'https://169.254.169.254/latest']) {
        const response = await create({ url, enabled_events: ['*'] }, merchant.liveSecretKey);
        assert.equal(response.statusCode, 400, url);
        assert.equal(response.json().error.param, 'url', url);
      }
      const live = await create({ url: 'https://example.com/hooks', enabled_events: ['*'] }, merchant.liveSecretKey);
      assert.equal(live.statusCode, 200, live.body);
      assert.equal(live.json().livemode, true);
      // Test mode: plain http and loopback, for a developer's own machine.
      assert.equal((await create({ url: 'http://127.0.0.1:9/hooks', enabled_events: ['payment.succeeded'] })).statusCode, 200);
      // Modes are separate: the test key does not see the live endpoint.
      assert.equal((await api.call('GET', `/v1/webhook_endpoints/${live.json().id}`, { key: merchant.secretKey })).statusCode, 404);
      const update = await api.call('POST', `/v1/webhook_endpoints/${live.json().id}`, { key: merchant.liveSecretKey, body: { url: 'http://example.com/' } });
      assert.equal(update.json().error.code, 'parameter_invalid');
    });

    it('refuses a 17th endpoint in one mode', async () => {
      const merchant = await api.createMerchant();
      for (let index = 0; index < 16; index += 1) await endpoint(merchant, `https://example.com/${index}`);
      const refused = await api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body: { url: 'https://example.com/17', enabled_events: ['*'] } });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error.code, 'webhook_endpoint_limit_reached');
    });

    it('delivers the event of a real payment, signed with Standard Webhooks, only to endpoints that want it', async () => {
      const merchant = await api.createMerchant();
      const all = await receiver();
      const succeeded = await receiver();
      const canceledOnly = await receiver();
      const payments = await receiver();
      const allEndpoint = await endpoint(merchant, all.url, ['*']);
      const succeededEndpoint = await endpoint(merchant, succeeded.url, ['payment.succeeded']);
      await endpoint(merchant, canceledOnly.url, ['payment.canceled']);
      await endpoint(merchant, payments.url, ['payment.*']);

      const paymentId = await succeededPayment(merchant, 250);
      const [message] = await succeeded.waitFor(1);
      const event = verify(succeededEndpoint.secret, message!);
      assert.equal(event.type, 'payment.succeeded');
      assert.equal(event.data.object.id, paymentId);
      assert.equal(event.data.object.amount, 250);
      assert.equal(message!.headers['webhook-id'], event.id);
      assert.match(message!.headers['webhook-timestamp']!, /^\d+$/);
      assert.match(message!.headers['webhook-signature']!, /^v1,[A-Za-z0-9+/=]+$/);
      assert.equal(message!.headers['content-type'], 'application/json');
      // The payload is the event as the events API shows it.
      const fromApi = await api.call('GET', `/v1/events/${event.id}`, { key: merchant.secretKey });
      assert.deepEqual(JSON.parse(message!.body), fromApi.json());
      assert.throws(() => verify(allEndpoint.secret, message!), WebhookVerificationError, 'each endpoint has its own secret');

      const [allMessage] = await all.waitFor(1);
      assert.equal(verify(allEndpoint.secret, allMessage!).id, event.id);

      // A canceled payment reaches the catch-all and the canceled-only endpoint, not the succeeded-only one.
      const customer = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: {} });
      const payment = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customer.json().id, amount: 100, currency: 'USD' } });
      const canceled = await api.call('POST', `/v1/payments/${payment.json().id}/cancel`, { key: merchant.secretKey });
      assert.equal(canceled.json().status, 'canceled');
      const [canceledMessage] = await canceledOnly.waitFor(1);
      assert.equal(JSON.parse(canceledMessage!.body).type, 'payment.canceled');
      await all.waitFor(2);
      const prefixed = await payments.waitFor(2);
      assert.deepEqual(prefixed.map((message) => JSON.parse(message.body).type).sort(), ['payment.canceled', 'payment.succeeded']);
      await api.runtime.workers.webhooks!.idle();
      assert.equal(succeeded.received.length, 1);
      assert.equal(canceledOnly.received.length, 1);

      const log = await eventually(async () => {
        const rows = await deliveries(merchant, succeededEndpoint.id);
        return rows[0]?.status === 'succeeded' ? rows : undefined;
      });
      assert.equal(log.length, 1);
      assert.equal(log[0]!.event, event.id);
      assert.equal(log[0]!.attempts, 1);
      assert.equal(log[0]!.response_status, 200);
      assert.equal(log[0]!.response_body, 'ok');
      assert.equal(typeof log[0]!.latency_ms, 'number');
      assert.equal(log[0]!.next_attempt, null);
    });

    it('retries a receiver that fails twice, then succeeds; the log shows every attempt', async () => {
      const merchant = await api.createMerchant();
      const flaky = await receiver((_request, index) => (index < 2 ? 500 : 200));
      const { id, secret } = await endpoint(merchant, flaky.url, ['payment.succeeded']);
      await succeededPayment(merchant);
      const messages = await flaky.waitFor(3);
      // The same message every time: one id, each attempt signed afresh and verifiable.
      assert.equal(new Set(messages.map((message) => message.headers['webhook-id'])).size, 1);
      for (const message of messages) verify(secret, message);
      const gaps = messages.slice(1).map((message, index) => message.receivedAtMs - messages[index]!.receivedAtMs);
      for (const gap of gaps) assert.ok(gap >= 50, `a retry waits for the schedule (${gap} ms)`);

      const delivery = await eventually(async () => {
        const [row] = await deliveries(merchant, id);
        return row?.status === 'succeeded' ? row : undefined;
      });
      assert.equal(delivery.attempts, 3);
      const detail = await api.call('GET', `/v1/webhook_deliveries/${delivery.id}`, { key: merchant.secretKey });
      assert.equal(detail.statusCode, 200, detail.body);
      const history = detail.json().attempt_history as Array<Record<string, unknown>>;
      assert.deepEqual(history.map((attempt) => attempt.response_status), [500, 500, 200]);
      assert.deepEqual(history.map((attempt) => attempt.attempt), [1, 2, 3]);
      assert.match(String(history[0]!.error), /^http_status/);
      assert.equal(history[0]!.response_body, 'failing on purpose (500)');
      assert.equal(history[2]!.error, null);

      // Manual retries are bounded too: a delivery that has had every attempt it may have is refused.
      await api.runtime.db.query(`UPDATE webhook_deliveries SET attempts = $2 WHERE id = $1`, [delivery.id, ATTEMPTS_PER_DELIVERY_MAX]);
      const exhausted = await api.call('POST', `/v1/webhook_deliveries/${delivery.id}/retry`, { key: merchant.secretKey });
      assert.equal(exhausted.statusCode, 409, exhausted.body);
      assert.equal(exhausted.json().error.code, 'webhook_delivery_attempts_exhausted');
    });

    it('disables an endpoint after persistent failure, announces it, and replays once it is enabled again', async () => {
      const merchant = await api.createMerchant();
      let healthy = false;
      const failing = await receiver(() => (healthy ? 200 : 503));
      const watcher = await receiver();
      const failingEndpoint = await endpoint(merchant, failing.url, ['payment.succeeded']);
      const watcherEndpoint = await endpoint(merchant, watcher.url, ['webhook_endpoint.disabled']);
      await succeededPayment(merchant);
      await succeededPayment(merchant);

      // Two deliveries use up their three attempts each: the endpoint is disabled.
      const disabled = await eventually<Record<string, any>>(async () => {
        const response = await api.call('GET', `/v1/webhook_endpoints/${failingEndpoint.id}`, { key: merchant.secretKey });
        return response.json().status === 'disabled' ? response.json() : undefined;
      });
      assert.equal(disabled.disabled_reason, 'failing');
      assert.equal(failing.received.length, 6);
      const failed = await deliveries(merchant, failingEndpoint.id);
      assert.deepEqual(failed.map((row) => [row.status, row.attempts]), [['failed', 3], ['failed', 3]]);

      // The disabling is an event, delivered to the endpoint that asked for it.
      const [notice] = await watcher.waitFor(1);
      const announced = verify(watcherEndpoint.secret, notice!);
      assert.equal(announced.type, 'webhook_endpoint.disabled');
      assert.equal(announced.data.object.id, failingEndpoint.id);
      assert.equal(announced.data.object.secret, undefined);
      const listed = await api.call('GET', '/v1/events?type=webhook_endpoint.disabled', { key: merchant.secretKey });
      assert.deepEqual(listed.json().data.map((event: { id: string }) => event.id), [announced.id]);

      // No replay while disabled; after enabling, a replay goes out and succeeds.
      const blocked = await api.call('POST', `/v1/webhook_deliveries/${failed[0]!.id}/retry`, { key: merchant.secretKey });
      assert.equal(blocked.statusCode, 409);
      assert.equal(blocked.json().error.code, 'webhook_endpoint_disabled');
      healthy = true;
      await api.call('POST', `/v1/webhook_endpoints/${failingEndpoint.id}`, { key: merchant.secretKey, body: { disabled: false } });
      const retried = await api.call('POST', `/v1/webhook_deliveries/${failed[0]!.id}/retry`, { key: merchant.secretKey });
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().status, 'pending');
      const replayed = await failing.waitFor(7);
      verify(failingEndpoint.secret, replayed[6]!);
      assert.equal(replayed[6]!.headers['webhook-id'], failed[0]!.event);
      const done = await eventually<Record<string, any>>(async () => {
        const response = await api.call('GET', `/v1/webhook_deliveries/${failed[0]!.id}`, { key: merchant.secretKey });
        return response.json().status === 'succeeded' ? response.json() : undefined;
      });
      assert.equal(done.attempts, 4);

      // Replay by event: the other failed event, sent to the endpoint again.
      const sent = await api.call('POST', `/v1/webhook_endpoints/${failingEndpoint.id}/deliveries`, { key: merchant.secretKey, body: { event: failed[1]!.event } });
      assert.equal(sent.statusCode, 200, sent.body);
      assert.equal(sent.json().id, failed[1]!.id);
      await failing.waitFor(8);
      assert.equal(failing.received[7]!.headers['webhook-id'], failed[1]!.event);
    });

    it('rotates the secret: both secrets verify during the overlap, only the new one after', async () => {
      const merchant = await api.createMerchant();
      const target = await receiver();
      const { id, secret: oldSecret } = await endpoint(merchant, target.url, ['payment.succeeded']);
      const rotated = await api.call('POST', `/v1/webhook_endpoints/${id}/rotate_secret`, { key: merchant.secretKey, body: { expires_in_seconds: 1 } });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newSecret = rotated.json().secret as string;
      assert.match(newSecret, /^whsec_/);
      assert.notEqual(newSecret, oldSecret);
      assert.equal(typeof rotated.json().previous_secret_expires_at, 'number');

      await succeededPayment(merchant);
      const [during] = await target.waitFor(1);
      assert.equal(during!.headers['webhook-signature']!.split(' ').length, 2);
      verify(oldSecret, during!);
      verify(newSecret, during!);

      await new Promise((resolve) => setTimeout(resolve, 1100));
      await succeededPayment(merchant);
      const [, afterOverlap] = await target.waitFor(2);
      assert.equal(afterOverlap!.headers['webhook-signature']!.split(' ').length, 1);
      verify(newSecret, afterOverlap!);
      assert.throws(() => verify(oldSecret, afterOverlap!), WebhookVerificationError);
      const fetched = await api.call('GET', `/v1/webhook_endpoints/${id}`, { key: merchant.secretKey });
      assert.equal(fetched.json().previous_secret_expires_at, null);
      assert.equal(fetched.json().secret, undefined);

      // Without an overlap the old secret stops at once.
      const immediate = await api.call('POST', `/v1/webhook_endpoints/${id}/rotate_secret`, { key: merchant.secretKey, body: { expires_in_seconds: 0 } });
      await succeededPayment(merchant);
      const [, , third] = await target.waitFor(3);
      verify(immediate.json().secret, third!);
      assert.throws(() => verify(newSecret, third!), WebhookVerificationError);
    });

    it('lists events newest first, filtered by type, with cursor pagination', async () => {
      const merchant = await api.createMerchant();
      const first = await succeededPayment(merchant);
      const second = await succeededPayment(merchant);
      const page = await api.call('GET', '/v1/events?limit=1', { key: merchant.secretKey });
      assert.equal(page.statusCode, 200, page.body);
      assert.equal(page.json().has_more, true);
      assert.equal(page.json().data[0].data.object.id, second);
      const next = await api.call('GET', `/v1/events?limit=1&starting_after=${page.json().data[0].id}`, { key: merchant.secretKey });
      assert.equal(next.json().data[0].data.object.id, first);
      assert.equal(next.json().has_more, false);
      const byType = await api.call('GET', '/v1/events?type=payment.succeeded', { key: merchant.secretKey });
      assert.equal(byType.json().data.length, 2);
      const byPrefix = await api.call('GET', '/v1/events?type=payment.*', { key: merchant.secretKey });
      assert.equal(byPrefix.json().data.length, 2);
      const none = await api.call('GET', '/v1/events?type=payment.canceled', { key: merchant.secretKey });
      assert.equal(none.json().data.length, 0);
      const bad = await api.call('GET', '/v1/events?type=DROP%20TABLE', { key: merchant.secretKey });
      assert.equal(bad.json().error.code, 'parameter_invalid');
      const live = await api.call('GET', '/v1/events', { key: merchant.liveSecretKey });
      assert.equal(live.json().data.length, 0, 'test events are not seen in live mode');
    });

    it("answers another merchant's endpoints, deliveries and events with 404", async () => {
      const owner = await api.createMerchant();
      const stranger = await api.createMerchant();
      const target = await receiver();
      const { id } = await endpoint(owner, target.url, ['payment.succeeded']);
      await succeededPayment(owner);
      await target.waitFor(1);
      const [delivery] = await eventually(async () => {
        const rows = await deliveries(owner, id);
        return rows.length > 0 ? rows : undefined;
      });
      const eventId = delivery!.event as string;
      const key = stranger.secretKey;
      const attempts: Array<[string, string, unknown?]> = [
        ['GET', `/v1/webhook_endpoints/${id}`],
        ['POST', `/v1/webhook_endpoints/${id}`, { disabled: true }],
        ['POST', `/v1/webhook_endpoints/${id}/rotate_secret`, {}],
        ['GET', `/v1/webhook_endpoints/${id}/deliveries`],
        ['POST', `/v1/webhook_endpoints/${id}/deliveries`, { event: eventId }],
        ['GET', `/v1/webhook_deliveries/${delivery!.id}`],
        ['POST', `/v1/webhook_deliveries/${delivery!.id}/retry`, {}],
        ['GET', `/v1/events/${eventId}`],
      ];
      for (const [method, url, body] of attempts) {
        const response = await api.call(method as 'GET' | 'POST', url, { key, body });
        assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'resource_missing', `${method} ${url}`);
      }
      const removal = await api.app.inject({ method: 'DELETE', url: `/v1/webhook_endpoints/${id}`, headers: { authorization: `Bearer ${key}` } });
      assert.equal(removal.statusCode, 404);
      // Nor can a merchant send another merchant's event to its own endpoint.
      const own = await endpoint(stranger, 'https://example.com/x');
      const foreign = await api.call('POST', `/v1/webhook_endpoints/${own.id}/deliveries`, { key, body: { event: eventId } });
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().error.param, 'event');
      assert.equal((await api.call('GET', '/v1/events', { key })).json().data.length, 0);
      assert.equal((await api.call('GET', '/v1/webhook_endpoints', { key })).json().data.length, 1);
      // The owner's endpoint is untouched.
      const still = await api.call('GET', `/v1/webhook_endpoints/${id}`, { key: owner.secretKey });
      assert.equal(still.json().status, 'enabled');
    });
  });
}
