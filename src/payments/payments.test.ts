import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import type { RiskHook, RiskVerdict } from '../risk/hook.ts';
import { newId } from '../api/ids.ts';

for (const kind of STORE_KINDS) {
  describe(`payments over HTTP on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    // The verdict the test risk hook gives next; 'allow' unless a test says otherwise.
    let verdict: RiskVerdict = 'allow';
    const risk: RiskHook = {
      async score(context) {
        return { id: newId('rsk'), decision: verdict, score: 0.5, reasons: [{ code: 'test_rule', message: `The test said ${verdict}.` }], context };
      },
    };

    before(async () => {
      api = await startTestApi(kind, { risk, env: { PAYMENT_CAPTURE_WINDOW_SECONDS: '2' } });
      merchant = await api.createMerchant({ feeBps: 250, feeFixed: { USD: 5 } });
    });
    after(() => api.close());

    async function customerWith(amount: bigint, currency = 'USD'): Promise<string> {
      const response = await api.call('POST', '/v1/customers', { key: merchant.secretKey, body: { email: 'buyer@example.com' } });
      assert.equal(response.statusCode, 200, response.body);
      const id = response.json().id as string;
      if (amount > 0n) await api.fundWallet(merchant, id, amount, currency);
      return id;
    }

    const pay = (body: Record<string, unknown>, key = merchant.secretKey, headers?: Record<string, string>) =>
      api.call('POST', '/v1/payments', { key, body, headers });

    async function walletAvailable(customer: string, currency = 'USD'): Promise<number> {
      const response = await api.call('GET', `/v1/customers/${customer}/wallet`, { key: merchant.secretKey });
      return response.json().balances.find((balance: { currency: string }) => balance.currency === currency)?.available ?? 0;
    }

    async function merchantBalance(currency = 'USD'): Promise<{ available: number; pending: number }> {
      const response = await api.call('GET', '/v1/balance', { key: merchant.secretKey });
      return response.json().balances.find((balance: { currency: string }) => balance.currency === currency) ?? { available: 0, pending: 0 };
    }

    it('creates, confirms and settles a payment with its platform fee as one linked group', async () => {
      const customer = await customerWith(1_000n);
      const before = await merchantBalance();
      const created = await pay({
        customer,
        amount: 300,
        currency: 'USD',
        description: 'Sword of dawn',
        line_items: [
          { description: 'Sword', category: 'virtual_good', unit_amount: 100, quantity: 2 },
          { description: 'Tip', category: 'tip', unit_amount: 100 },
        ],
      });
      assert.equal(created.statusCode, 200, created.body);
      assert.equal(created.json().status, 'requires_confirmation');
      const confirmed = await api.call('POST', `/v1/payments/${created.json().id}/confirm`, { key: merchant.secretKey });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      const payment = confirmed.json();
      assert.equal(payment.status, 'succeeded');
      assert.equal(payment.amount_captured, 300);
      // 2.5% of 300 is 7.5, rounded half up to 8, plus the fixed 5.
      assert.equal(payment.application_fee_amount, 13);
      assert.ok(payment.risk_decision.startsWith('rsk_'));
      assert.equal(await walletAvailable(customer), 700);
      const after = await merchantBalance();
      assert.equal(after.available - before.available, 300 - 13);
      const report = await api.runtime.ledger.verify();
      assert.equal(report.drift.length, 0);
    });

    it('refuses a payment the wallet cannot cover, then completes it after a top-up without starting over', async () => {
      const customer = await customerWith(50n);
      const created = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
      assert.equal(created.statusCode, 402, created.body);
      assert.equal(created.json().error.code, 'insufficient_funds');
      const listed = await api.call('GET', `/v1/payments?customer=${customer}`, { key: merchant.secretKey });
      const payment = listed.json().data[0];
      assert.equal(payment.status, 'requires_confirmation');
      assert.equal(payment.last_payment_error.code, 'insufficient_funds');
      assert.equal(await walletAvailable(customer), 50);
      await api.fundWallet(merchant, customer, 100n, 'USD');
      const retried = await api.call('POST', `/v1/payments/${payment.id}/confirm`, { key: merchant.secretKey });
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().status, 'succeeded');
      assert.equal(retried.json().last_payment_error, null);
      assert.equal(await walletAvailable(customer), 50);
    });

    it('holds, then captures part of a manual-capture payment and releases the rest', async () => {
      const customer = await customerWith(1_000n);
      const held = await pay({ customer, amount: 400, currency: 'USD', capture_method: 'manual', confirm: true });
      assert.equal(held.statusCode, 200, held.body);
      assert.equal(held.json().status, 'requires_capture');
      assert.ok(held.json().capture_before > 0);
      assert.equal(await walletAvailable(customer), 600);
      const tooMuch = await api.call('POST', `/v1/payments/${held.json().id}/capture`, { key: merchant.secretKey, body: { amount_to_capture: 401 } });
      assert.equal(tooMuch.statusCode, 400);
      assert.equal(tooMuch.json().error.code, 'capture_amount_invalid');
      const captured = await api.call('POST', `/v1/payments/${held.json().id}/capture`, { key: merchant.secretKey, body: { amount_to_capture: 250 } });
      assert.equal(captured.statusCode, 200, captured.body);
      assert.equal(captured.json().status, 'succeeded');
      assert.equal(captured.json().amount_captured, 250);
      assert.equal(await walletAvailable(customer), 750);
      const again = await api.call('POST', `/v1/payments/${held.json().id}/capture`, { key: merchant.secretKey });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error.code, 'payment_unexpected_state');
    });

    it('cancels a held payment and gives the funds back', async () => {
      const customer = await customerWith(500n);
      const held = await pay({ customer, amount: 500, currency: 'USD', capture_method: 'manual', confirm: true });
      assert.equal(await walletAvailable(customer), 0);
      const canceled = await api.call('POST', `/v1/payments/${held.json().id}/cancel`, { key: merchant.secretKey, body: { cancellation_reason: 'abandoned' } });
      assert.equal(canceled.statusCode, 200, canceled.body);
      assert.equal(canceled.json().status, 'canceled');
      assert.equal(canceled.json().cancellation_reason, 'abandoned');
      assert.equal(await walletAvailable(customer), 500);
    });

    it('releases a hold that is not captured in time', async () => {
      const customer = await customerWith(300n);
      const held = await pay({ customer, amount: 300, currency: 'USD', capture_method: 'manual', confirm: true });
      assert.equal(held.json().status, 'requires_capture');
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      await api.runtime.ledger.expireDueHolds(100);
      assert.equal(await api.runtime.services.payments.cancelOverdueCaptures(100), 1);
      const payment = await api.call('GET', `/v1/payments/${held.json().id}`, { key: merchant.secretKey });
      assert.equal(payment.json().status, 'canceled');
      assert.equal(payment.json().cancellation_reason, 'expired');
      assert.equal(await walletAvailable(customer), 300);
    });

    it('follows the risk decision: block fails the payment, challenge asks for action, review holds the funds', async () => {
      const customer = await customerWith(1_000n);
      try {
        verdict = 'block';
        const blocked = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
        assert.equal(blocked.statusCode, 402);
        assert.equal(blocked.json().error.code, 'payment_blocked');
        verdict = 'challenge';
        const challenged = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
        assert.equal(challenged.json().status, 'requires_action');
        verdict = 'review';
        const reviewed = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
        assert.equal(reviewed.json().status, 'processing');
      } finally {
        verdict = 'allow';
      }
      assert.equal(await walletAvailable(customer), 900);
      const decisions = await api.runtime.db.query<{ decision: string }>(`SELECT decision FROM risk_decisions ORDER BY seq DESC LIMIT 3`);
      assert.deepEqual(decisions.rows.map((row) => row.decision).sort(), ['block', 'challenge', 'review']);
      const statuses = await api.call('GET', `/v1/payments?customer=${customer}&status=failed`, { key: merchant.secretKey });
      assert.equal(statuses.json().data.length, 1);
    });

    it('writes the events of a payment in the outbox with it', async () => {
      const customer = await customerWith(100n);
      const paid = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
      const events = await api.runtime.db.query<{ type: string; data: { object: { id: string; status: string } } }>(
        `SELECT type, data FROM events WHERE data->'object'->>'id' = $1`,
        [paid.json().id],
      );
      assert.deepEqual(events.rows.map((row) => row.type), ['payment.succeeded']);
      assert.equal(events.rows[0]!.data.object.status, 'succeeded');
    });

    it('checks amounts, line items, currency and customer', async () => {
      const customer = await customerWith(0n);
      const cases: Array<[Record<string, unknown>, number, string, string]> = [
        [{ customer, currency: 'USD' }, 400, 'parameter_missing', 'amount'],
        [{ customer, amount: 0, currency: 'USD' }, 400, 'parameter_invalid', 'amount'],
        [{ customer, amount: 1.5, currency: 'USD' }, 400, 'parameter_invalid', 'amount'],
        [{ customer, amount: '100', currency: 'USD' }, 400, 'parameter_invalid', 'amount'],
        [{ customer, amount: -5, currency: 'USD' }, 400, 'parameter_invalid', 'amount'],
        [{ customer, amount: 100, currency: 'usd' }, 400, 'parameter_invalid', 'currency'],
        [{ customer, amount: 100, currency: 'XXX' }, 400, 'currency_unsupported', 'currency'],
        [{ customer, amount: 100, currency: 'USD', colour: 'red' }, 400, 'parameter_unknown', 'colour'],
        [{ customer: 'cus_nope', amount: 100, currency: 'USD' }, 404, 'resource_missing', 'customer'],
        [{ customer, amount: 100, currency: 'USD', line_items: [{ description: 'A', category: 'song', unit_amount: 60 }] }, 400, 'line_items_mismatch', 'line_items'],
        [{ customer, amount: 100, currency: 'USD', line_items: [{ description: 'A', category: 'poem', unit_amount: 100 }] }, 400, 'parameter_invalid', 'line_items[0].category'],
      ];
      for (const [body, status, code, param] of cases) {
        const response = await pay(body);
        assert.equal(response.statusCode, status, `${JSON.stringify(body)} → ${response.body}`);
        assert.equal(response.json().error.code, code, JSON.stringify(body));
        assert.equal(response.json().error.param, param, JSON.stringify(body));
      }
      const count = await api.runtime.db.query<{ count: bigint }>(`SELECT count(*) FROM payments WHERE customer_id = $1`, [customer]);
      assert.equal(count.rows[0]!.count, 0n);
    });

    it('serves each mode its own objects: a test customer is not found with a live key', async () => {
      const customer = await customerWith(0n);
      const live = await api.call('GET', `/v1/customers/${customer}`, { key: merchant.liveSecretKey });
      assert.equal(live.statusCode, 404);
      const livePay = await pay({ customer, amount: 100, currency: 'USD' }, merchant.liveSecretKey);
      assert.equal(livePay.statusCode, 404);
    });
  });
}
