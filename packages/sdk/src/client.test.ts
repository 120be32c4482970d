// The SDK against a real server on each store: the app of test/support/api.ts listening on a loopback
// port, driven only through the SDK (funding aside, which has no endpoint of its own in these tests).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi, type TestMerchant } from '../../../test/support/api.ts';
import { STORE_KINDS } from '../../../test/support/stores.ts';
import { Micropay, MicropayError, type Customer } from './index.ts';

for (const kind of STORE_KINDS) {
  describe(`SDK against a live server (${kind})`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    let baseUrl: string;
    let micropay: Micropay;

    before(async () => {
      api = await startTestApi(kind);
      merchant = await api.createMerchant({ name: 'SDK shop', feeBps: 100, feeFixed: { USD: 1 } });
      baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
      micropay = new Micropay({ apiKey: merchant.secretKey, baseUrl, retryDelayMs: 5, retryDelayMsMax: 20 });
    });
    after(async () => {
      await api.close();
    });

    async function fundedCustomer(amount: number): Promise<Customer> {
      const customer = await micropay.customers.create({ email: 'buyer@example.com', name: 'Ada' });
      await api.fundWallet(merchant, customer.id, BigInt(amount), 'USD');
      return customer;
    }

    async function available(customerId: string): Promise<number> {
      const wallet = await micropay.customers.wallet(customerId);
      return wallet.balances.find((balance) => balance.currency === 'USD')?.available ?? 0;
    }

    it('creates, retrieves and lists customers', async () => {
      const customer = await micropay.customers.create({ name: 'Grace', metadata: { player: '42' } });
      assert.match(customer.id, /^cus_/);
      assert.equal(customer.livemode, false);
      assert.deepEqual(await micropay.customers.retrieve(customer.id), customer);
      const page = await micropay.customers.list({ limit: 100 });
      assert.equal(page.object, 'list');
      assert.ok(page.data.some((listed) => listed.id === customer.id));
    });

    it('creates and confirms a payment in one call, and the wallet pays it', async () => {
      const customer = await fundedCustomer(10_000);
      assert.equal(await available(customer.id), 10_000);
      const payment = await micropay.payments.create({
        customer: customer.id,
        amount: 200,
        currency: 'USD',
        description: 'A sword',
        line_items: [{ description: 'Sword', category: 'virtual_good', unit_amount: 200 }],
        confirm: true,
      });
      assert.equal(payment.status, 'succeeded');
      assert.equal(payment.amount_captured, 200);
      assert.equal(payment.application_fee_amount, 3); // 1% of 200 plus 1 fixed, paid by the merchant
      assert.equal(await available(customer.id), 9_800);
      assert.deepEqual(await micropay.payments.retrieve(payment.id), payment);
      const page = await micropay.payments.list({ customer: customer.id });
      assert.deepEqual(page.data.map((listed) => listed.id), [payment.id]);
    });

    it('confirms a created payment in a second call', async () => {
      const customer = await fundedCustomer(1_000);
      const created = await micropay.payments.create({ customer: customer.id, amount: 100, currency: 'USD' });
      assert.equal(created.status, 'requires_confirmation');
      const confirmed = await micropay.payments.confirm(created.id);
      assert.equal(confirmed.status, 'succeeded');
      assert.equal(await available(customer.id), 900);
    });

    it('holds, captures part, and cancels another hold', async () => {
      const customer = await fundedCustomer(1_000);
      const held = await micropay.payments.create({ customer: customer.id, amount: 400, currency: 'USD', capture_method: 'manual', confirm: true });
      assert.equal(held.status, 'requires_capture');
      assert.equal(await available(customer.id), 600);
      const captured = await micropay.payments.capture(held.id, { amount_to_capture: 300 });
      assert.equal(captured.status, 'succeeded');
      assert.equal(captured.amount_captured, 300);
      assert.equal(await available(customer.id), 700);

      const second = await micropay.payments.create({ customer: customer.id, amount: 200, currency: 'USD', capture_method: 'manual', confirm: true });
      assert.equal(await available(customer.id), 500);
      const canceled = await micropay.payments.cancel(second.id, { cancellation_reason: 'abandoned' });
      assert.equal(canceled.status, 'canceled');
      assert.equal(canceled.cancellation_reason, 'abandoned');
      assert.equal(await available(customer.id), 700);
    });

    it('throws MicropayError with the code, type, status, param and request id of the API error', async () => {
      const customer = await fundedCustomer(50);
      const insufficient = await micropay.payments
        .create({ customer: customer.id, amount: 100, currency: 'USD', confirm: true })
        .then(() => assert.fail('expected insufficient_funds'), (error: unknown) => error);
      assert.ok(insufficient instanceof MicropayError);
      assert.equal(insufficient.code, 'insufficient_funds');
      assert.equal(insufficient.type, 'payment_error');
      assert.equal(insufficient.status, 402);
      assert.match(insufficient.requestId ?? '', /^req_/);
      assert.equal(await available(customer.id), 50);

      await assert.rejects(micropay.payments.retrieve('pay_doesnotexist'), (error: unknown) => {
        assert.ok(error instanceof MicropayError);
        assert.equal(error.code, 'resource_missing');
        assert.equal(error.status, 404);
        assert.equal(error.param, 'id');
        return true;
      });
      await assert.rejects(
        micropay.payments.create({ customer: customer.id, amount: 1.5, currency: 'USD' }),
        (error: unknown) => error instanceof MicropayError && error.code === 'parameter_invalid' && error.param === 'amount',
      );
      const readOnly = new Micropay({ apiKey: merchant.readKey, baseUrl });
      await assert.rejects(readOnly.customers.create(), (error: unknown) => error instanceof MicropayError && error.code === 'api_key_scope_insufficient' && error.status === 403);
      const nobody = new Micropay({ apiKey: 'sk_test_not_a_key', baseUrl });
      await assert.rejects(nobody.customers.list(), (error: unknown) => error instanceof MicropayError && error.code === 'api_key_invalid' && error.type === 'authentication_error');
    });

    it('retries a payment whose answer was lost with the same Idempotency-Key: charged once', async () => {
      const customer = await fundedCustomer(1_000);
      const seen: Array<{ key: string | null; replayed: string | null }> = [];
      let dropped = 0;
      // The request reaches the server and is done; the answer is then lost, as when a connection breaks.
      const lossy = new Micropay({
        apiKey: merchant.secretKey,
        baseUrl,
        retryDelayMs: 5,
        fetch: async (request) => {
          const response = await fetch(request);
          seen.push({ key: request.headers.get('idempotency-key'), replayed: response.headers.get('idempotent-replayed') });
          if (dropped === 0) {
            dropped += 1;
            throw new TypeError('fetch failed: socket hang up');
          }
          return response;
        },
      });
      const payment = await lossy.payments.create({ customer: customer.id, amount: 300, currency: 'USD', confirm: true });
      assert.equal(payment.status, 'succeeded');
      assert.equal(seen.length, 2);
      assert.ok(seen[0]!.key);
      assert.equal(seen[1]!.key, seen[0]!.key, 'the retry carries the same Idempotency-Key');
      assert.equal(seen[1]!.replayed, 'true', 'the server replayed the first answer');
      assert.equal(await available(customer.id), 700, 'charged once');
      const page = await micropay.payments.list({ customer: customer.id });
      assert.equal(page.data.length, 1);

      // Two logical calls are two payments: each gets its own key.
      await micropay.payments.create({ customer: customer.id, amount: 100, currency: 'USD', confirm: true });
      await micropay.payments.create({ customer: customer.id, amount: 100, currency: 'USD', confirm: true });
      assert.equal(await available(customer.id), 500);

      // A caller's own key makes a repeated call the same call.
      const first = await micropay.payments.create({ customer: customer.id, amount: 50, currency: 'USD', confirm: true }, { idempotencyKey: `order-${customer.id}` });
      const again = await micropay.payments.create({ customer: customer.id, amount: 50, currency: 'USD', confirm: true }, { idempotencyKey: `order-${customer.id}` });
      assert.equal(again.id, first.id);
      assert.equal(await available(customer.id), 450);
      await assert.rejects(
        micropay.payments.create({ customer: customer.id, amount: 51, currency: 'USD', confirm: true }, { idempotencyKey: `order-${customer.id}` }),
        (error: unknown) => error instanceof MicropayError && error.code === 'idempotency_key_reused' && error.type === 'idempotency_error',
      );
    });

    it('gives up after the bounded retries when the server cannot be reached', async () => {
      let attempts = 0;
      const unreachable = new Micropay({
        apiKey: merchant.secretKey,
        baseUrl,
        maxRetries: 2,
        retryDelayMs: 1,
        fetch: async () => {
          attempts += 1;
          throw new TypeError('fetch failed: connect ECONNREFUSED');
        },
      });
      await assert.rejects(unreachable.customers.create(), (error: unknown) => {
        assert.ok(error instanceof MicropayError);
        assert.equal(error.type, 'connection_error');
        assert.equal(error.code, 'connection_failed');
        assert.equal(error.status, null);
        return true;
      });
      assert.equal(attempts, 3);
    });

    it('tops up a wallet from a test card, pays, and refunds part of the payment', async () => {
      const customer = await micropay.customers.create({ name: 'Card holder' });
      const card = { number: '4242424242424242', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' };
      const topUp = await micropay.topUps.create({ customer: customer.id, amount: 1_000, currency: 'USD', card });
      assert.equal(topUp.status, 'succeeded');
      assert.equal(await available(customer.id), 1_000);
      assert.equal((await micropay.topUps.retrieve(topUp.id)).id, topUp.id);

      const declined = await micropay.topUps.create({ customer: customer.id, amount: 1_000, currency: 'USD', card: { ...card, number: '4000000000000002' } });
      assert.equal(declined.status, 'failed', 'a decline is a failed top-up, not an error');
      assert.equal(await available(customer.id), 1_000);
      await assert.rejects(
        micropay.topUps.create({ customer: customer.id, amount: 1, currency: 'USD', card }),
        (error: unknown) => error instanceof MicropayError && error.code === 'amount_too_small' && error.param === 'amount',
      );

      const payment = await micropay.payments.create({ customer: customer.id, amount: 300, currency: 'USD', confirm: true });
      const refund = await micropay.refunds.create({ payment: payment.id, amount: 100 });
      assert.equal(refund.status, 'succeeded');
      assert.equal(await available(customer.id), 800);
      const refunds = await micropay.refunds.list({ payment: payment.id });
      assert.deepEqual(refunds.data.map((listed) => listed.id), [refund.id]);
      assert.equal((await micropay.payments.retrieve(payment.id)).amount_refunded, 100);
      await assert.rejects(
        micropay.refunds.create({ payment: payment.id, amount: 1_000 }),
        (error: unknown) => error instanceof MicropayError && error.code === 'refund_amount_too_large',
      );
    });

    it('reaches any endpoint of the OpenAPI document through request()', async () => {
      const account = await micropay.request('get', '/v1/account');
      assert.equal(account.id, merchant.id);
      const customer = await micropay.request('post', '/v1/customers', { body: { name: 'Via request' } });
      const fetched = await micropay.request('get', '/v1/customers/{id}', { params: { path: { id: customer.id } } });
      assert.equal(fetched.name, 'Via request');
    });
  });
}
