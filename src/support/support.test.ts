// Support and self-service refunds over HTTP on both stores: a buyer signed in with a passkey asks for a
// refund of their purchase (decided at once by the automatic policy), disputes one, and opens a support
// ticket that the merchant answers; statuses, notifications, events and tenancy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';

const CURRENCY = 'USD';

for (const kind of STORE_KINDS) {
  describe(`support and self-service refunds on ${kind}`, () => {
    let api: TestApi;
    let shop: TestMerchant;
    let other: TestMerchant;

    before(async () => {
      api = await startTestApi(kind);
      shop = await api.createMerchant({ name: 'Daily Planet' });
      other = await api.createMerchant({ name: 'Other Shop' });
    });
    after(async () => {
      assert.equal((await api.runtime.ledger.verify()).drift.length, 0);
      await api.close();
    });

    function expectError(response: LightMyRequestResponse, status: number, code: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
    }

    /** A signed-up buyer with a funded wallet at `merchant`. */
    async function buyerAt(merchant: TestMerchant): Promise<{ buyer: TestBuyer; customerId: string }> {
      const buyer = await signUpBuyer(api, merchant.publishableKey);
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
      await api.fundWallet(merchant, customer.id, 100_000n, CURRENCY);
      return { buyer, customerId: customer.id };
    }

    /** A succeeded purchase of the buyer's customer at `merchant`. */
    async function purchase(merchant: TestMerchant, customerId: string, amount: number): Promise<string> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customerId, amount, currency: CURRENCY, confirm: true } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'succeeded');
      return response.json().id;
    }

    const asBuyer = (buyer: TestBuyer | null, method: 'GET' | 'POST', url: string, body?: unknown, merchant = shop, headers: Record<string, string> = {}) =>
      api.call(method, url, { key: merchant.publishableKey, body, headers: { ...buyer?.headers, ...headers } });
    const asMerchant = (merchant: TestMerchant, method: 'GET' | 'POST', url: string, body?: unknown) => api.call(method, url, { key: merchant.secretKey, body });

    it('a small refund request of a recent purchase is decided at once by the automatic policy', async () => {
      const { buyer } = await buyerAt(shop);
      const customer = await api.runtime.services.customers.findForBuyer({ merchantId: shop.id, livemode: false }, buyer.id);
      const paymentId = await purchase(shop, customer!.id, 300);
      const response = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, { amount: 200, reason: 'product_unacceptable' }, shop, { 'idempotency-key': `refund-${paymentId}` });
      assert.equal(response.statusCode, 200, response.body);
      const refund = response.json();
      assert.equal(refund.status, 'succeeded');
      assert.equal(refund.automatic, true);
      assert.equal(refund.amount, 200);
      assert.equal(refund.initiated_by, undefined, 'the buyer sees the refund without the merchant-side fields');
      assert.equal(refund.metadata, undefined);
      // The same request again replays the first answer; nothing is refunded twice.
      const again = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, { amount: 200, reason: 'product_unacceptable' }, shop, { 'idempotency-key': `refund-${paymentId}` });
      assert.equal(again.json().id, refund.id);
      const payment = await asMerchant(shop, 'GET', `/v1/payments/${paymentId}`);
      assert.equal(payment.json().amount_refunded, 200);
      // A large request waits for the merchant.
      const bigPayment = await purchase(shop, customer!.id, 5_000);
      const pending = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${bigPayment}/refund_requests`, {});
      assert.equal(pending.statusCode, 200, pending.body);
      assert.equal(pending.json().status, 'pending');
      assert.equal(pending.json().pending_reason, 'over_automatic_limit');
      assert.equal(pending.json().reason, 'requested_by_customer');
    });

    it('a buyer disputes their purchase through the disputes service', async () => {
      const { buyer, customerId } = await buyerAt(shop);
      const paymentId = await purchase(shop, customerId, 700);
      const response = await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/disputes`, { reason: 'product_not_received' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().status, 'needs_response');
      assert.equal(response.json().amount, 700);
      assert.equal(response.json().evidence, undefined);
      const merchantView = await asMerchant(shop, 'GET', `/v1/disputes/${response.json().id}`);
      assert.equal(merchantView.statusCode, 200, merchantView.body);
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/disputes`, { reason: 'general' }), 409, 'dispute_exists');
    });

    it('a ticket thread goes both ways with its statuses, notifications and events', async () => {
      const { buyer, customerId } = await buyerAt(shop);
      const paymentId = await purchase(shop, customerId, 450);
      const opened = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Article cut off', message: 'The article stops mid-sentence.' }, shop, { 'idempotency-key': `ticket-${paymentId}` });
      assert.equal(opened.statusCode, 200, opened.body);
      const ticket = opened.json();
      assert.match(ticket.id, /^tkt_[0-9A-Za-z]{20,}$/);
      assert.equal(ticket.status, 'open');
      assert.equal(ticket.payment, paymentId);
      assert.deepEqual(ticket.messages.map((message: { author: string; body: string }) => [message.author, message.body]), [['buyer', 'The article stops mid-sentence.']]);
      const replayed = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Article cut off', message: 'The article stops mid-sentence.' }, shop, { 'idempotency-key': `ticket-${paymentId}` });
      assert.equal(replayed.json().id, ticket.id);

      const open = await asMerchant(shop, 'GET', '/v1/support/tickets?status=open');
      assert.ok(open.json().data.some((one: { id: string }) => one.id === ticket.id));
      const answered = await asMerchant(shop, 'POST', `/v1/support/tickets/${ticket.id}/messages`, { message: 'Sorry! The full text is back online.' });
      assert.equal(answered.statusCode, 200, answered.body);
      assert.equal(answered.json().status, 'answered');
      assert.equal(answered.json().messages.length, 2);

      const outbox = await api.runtime.services.messageOutbox!.list({ to: buyer.email, limit: 10 });
      const notice = outbox.find((message) => message.body.includes(ticket.id));
      assert.ok(notice, 'the buyer is told of the answer');
      assert.equal(notice.channel, 'email');
      assert.match(notice.body, /Daily Planet answered/);
      assert.match(notice.body, /The full text is back online/);

      const seen = await asBuyer(buyer, 'GET', `/v1/buyer/tickets/${ticket.id}`);
      assert.equal(seen.json().status, 'answered');
      assert.deepEqual(seen.json().messages.map((message: { author: string }) => message.author), ['buyer', 'merchant']);
      const replied = await asBuyer(buyer, 'POST', `/v1/buyer/tickets/${ticket.id}/messages`, { message: 'Thanks, it works now.' });
      assert.equal(replied.json().status, 'open');
      assert.equal(replied.json().message_count, 3);

      const closed = await asMerchant(shop, 'POST', `/v1/support/tickets/${ticket.id}/close`);
      assert.equal(closed.json().status, 'closed');
      assert.equal(typeof closed.json().closed_at, 'number');
      assert.equal((await asMerchant(shop, 'POST', `/v1/support/tickets/${ticket.id}/close`)).json().status, 'closed');
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/tickets/${ticket.id}/messages`, { message: 'One more thing' }), 409, 'support_ticket_closed');
      expectError(await asMerchant(shop, 'POST', `/v1/support/tickets/${ticket.id}/messages`, { message: 'And another' }), 409, 'support_ticket_closed');

      const list = await asBuyer(buyer, 'GET', '/v1/buyer/tickets');
      assert.deepEqual(list.json().data.map((one: { id: string; status: string }) => [one.id, one.status]), [[ticket.id, 'closed']]);
      assert.equal(list.json().data[0].messages, undefined);

      const { rows } = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq`, [ticket.id]);
      assert.deepEqual(rows.map((row) => row.type), ['support_ticket.created', 'support_ticket.buyer_replied', 'support_ticket.closed']);
    });

    it('buyers and merchants see only their own purchases and tickets', async () => {
      const { buyer, customerId } = await buyerAt(shop);
      const { buyer: stranger } = await buyerAt(shop);
      const paymentId = await purchase(shop, customerId, 250);
      const opened = await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Question', message: 'Hello?' });
      assert.equal(opened.statusCode, 200, opened.body);
      const ticket = opened.json();

      // Another buyer of the same merchant.
      expectError(await asBuyer(stranger, 'GET', `/v1/buyer/tickets/${ticket.id}`), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/tickets/${ticket.id}/messages`, { message: 'Me too' }), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Mine?', message: 'x' }), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, {}), 404, 'resource_missing');
      expectError(await asBuyer(stranger, 'POST', `/v1/buyer/payments/${paymentId}/disputes`, { reason: 'general' }), 404, 'resource_missing');
      assert.deepEqual((await asBuyer(stranger, 'GET', '/v1/buyer/tickets')).json().data, []);

      // The same buyer through another merchant's key.
      expectError(await asBuyer(buyer, 'GET', `/v1/buyer/tickets/${ticket.id}`, undefined, other), 404, 'resource_missing');
      expectError(await asBuyer(buyer, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, {}, other), 404, 'resource_missing');

      // Another merchant.
      expectError(await asMerchant(other, 'GET', `/v1/support/tickets/${ticket.id}`), 404, 'resource_missing');
      expectError(await asMerchant(other, 'POST', `/v1/support/tickets/${ticket.id}/messages`, { message: 'Hi' }), 404, 'resource_missing');
      expectError(await asMerchant(other, 'POST', `/v1/support/tickets/${ticket.id}/close`), 404, 'resource_missing');
      assert.deepEqual((await asMerchant(other, 'GET', '/v1/support/tickets')).json().data, []);

      // No session, or a read-only or publishable key on the merchant side.
      expectError(await asBuyer(null, 'GET', '/v1/buyer/tickets'), 401, 'buyer_session_required');
      expectError(await asBuyer(null, 'POST', `/v1/buyer/payments/${paymentId}/refund_requests`, {}), 401, 'buyer_session_required');
      expectError(await asBuyer(buyer, 'GET', '/v1/buyer/tickets', undefined, shop, { 'micropay-buyer-session': 'bses_forged' }), 401, 'buyer_session_required');
      expectError(await api.call('GET', '/v1/support/tickets', { key: shop.publishableKey }), 403, 'secret_key_required');
      expectError(await api.call('POST', `/v1/support/tickets/${ticket.id}/close`, { key: shop.readKey, body: {} }), 403, 'api_key_scope_insufficient');
    });

    it('bounds what a ticket holds', async () => {
      const { buyer, customerId } = await buyerAt(shop);
      const paymentId = await purchase(shop, customerId, 150);
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'x'.repeat(201), message: 'hi' }), 400, 'parameter_invalid');
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Hi', message: 'y'.repeat(5001) }), 400, 'parameter_invalid');
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: '   ', message: 'hi' }), 400, 'parameter_invalid');
      expectError(await asBuyer(buyer, 'POST', '/v1/buyer/tickets', { payment: paymentId, subject: 'Hi', message: 'hi', extra: 1 }), 400, 'parameter_unknown');
    });
  });
}
