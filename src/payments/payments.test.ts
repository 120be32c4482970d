import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import type { RiskHook, RiskReason, RiskVerdict } from '../risk/hook.ts';
import { ledgerId, newId } from '../api/ids.ts';
import { signUpBuyer } from '../../test/support/buyers.ts';

for (const kind of STORE_KINDS) {
  describe(`payments over HTTP on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    // The verdict the test risk hook gives next; 'allow' unless a test says otherwise.
    let verdict: RiskVerdict = 'allow';
    // The reasons it gives with it; null: one reason `test_rule`.
    let reasons: RiskReason[] | null = null;
    const risk: RiskHook = {
      async score(context) {
        return { id: newId('rsk'), decision: verdict, score: 0.5, reasons: reasons ?? [{ code: 'test_rule', message: `The test said ${verdict}.` }], context };
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
      // The error names the payment it left, as the list shows it (its id, state and error).
      assert.deepEqual(created.json().error.payment, payment);
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

    it('a confirmation whose payment row another transaction holds answers 503 lock_timeout after 5 s, writes nothing, and then succeeds', { skip: kind !== 'postgres' && 'PGlite has one connection: nothing else can hold a row' }, async () => {
      const customer = await customerWith(1_000n);
      const created = await pay({ customer, amount: 400, currency: 'USD' });
      assert.equal(created.json().status, 'requires_confirmation', created.body);
      const id = created.json().id as string;
      const before = await merchantBalance();
      // Another transaction (a second connection of the test) holds the payment's row.
      const blocker = new pg.Client({ connectionString: api.store.location.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT 1 FROM payments WHERE id = $1 FOR UPDATE', [id]);
        const started = Date.now();
        const blocked = await api.call('POST', `/v1/payments/${id}/confirm`, { key: merchant.secretKey });
        assert.equal(blocked.statusCode, 503, blocked.body);
        assert.equal(blocked.json().error.code, 'lock_timeout');
        assert.ok(Date.now() - started >= 4_500, 'the batch waited for its lock_timeout');
        await blocker.query('ROLLBACK');
      } finally {
        await blocker.end();
      }
      // Nothing was written: the payment still waits, the wallet and the merchant's balance are unchanged.
      const after = await api.call('GET', `/v1/payments/${id}`, { key: merchant.secretKey });
      assert.equal(after.json().status, 'requires_confirmation');
      assert.equal(await walletAvailable(customer), 1_000);
      const unchanged = await merchantBalance();
      assert.deepEqual([unchanged.available, unchanged.pending], [before.available, before.pending]);
      const confirmed = await api.call('POST', `/v1/payments/${id}/confirm`, { key: merchant.secretKey });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal(confirmed.json().status, 'succeeded');
      assert.equal(await walletAvailable(customer), 600);
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
        const failed = blocked.json().error.payment;
        assert.equal(failed.status, 'failed');
        assert.equal(failed.last_payment_error.code, 'payment_blocked');
        assert.match(failed.client_secret, /_secret_/);
        // A replay of the refusal shows the same payment, its client secret derived again (never stored).
        const key = `blocked-${failed.id}`;
        const first = await pay({ customer, amount: 100, currency: 'USD', confirm: true }, merchant.secretKey, { 'idempotency-key': key });
        const replay = await pay({ customer, amount: 100, currency: 'USD', confirm: true }, merchant.secretKey, { 'idempotency-key': key });
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        assert.deepEqual({ ...replay.json().error, request_id: null }, { ...first.json().error, request_id: null });
        const stored = await api.runtime.db.query<{ body: string }>(`SELECT response_body::text AS body FROM idempotency_keys WHERE key = $1`, [key]);
        assert.doesNotMatch(stored.rows[0]!.body, /_secret_/);
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
      assert.equal(statuses.json().data.length, 2, 'the first block, and the keyed one (replayed, not run again)');
    });

    it('stores a keyed payment\'s answer in the commit that moves its money, and replays it as first sent', async () => {
      const customer = await customerWith(1_000n);
      const key = `in-commit-${customer}`;
      const first = await pay({ customer, amount: 120, currency: 'USD', confirm: true }, merchant.secretKey, { 'idempotency-key': key });
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().status, 'succeeded');
      // One transaction wrote the payment and the key's answer: the same xmin on both rows.
      const payment = await api.runtime.db.query<{ xmin: string }>(`SELECT xmin::text FROM payments WHERE id = $1`, [first.json().id]);
      const record = await api.runtime.db.query<{ xmin: string; state: string; response_status: number; body: Record<string, unknown> }>(
        `SELECT xmin::text, state, response_status, response_body AS body FROM idempotency_keys WHERE key = $1`,
        [key],
      );
      assert.equal(record.rows[0]!.xmin, payment.rows[0]!.xmin);
      assert.equal(record.rows[0]!.state, 'done');
      assert.equal(record.rows[0]!.response_status, 200);
      assert.deepEqual(record.rows[0]!.body, { ...first.json(), client_secret: '[redacted]' });
      const replay = await pay({ customer, amount: 120, currency: 'USD', confirm: true }, merchant.secretKey, { 'idempotency-key': key });
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.statusCode, 200);
      assert.deepEqual(replay.json(), first.json());
      // A refusal (402) is stored after its answer is sent, as every other answer.
      verdict = 'block';
      try {
        const refusedKey = `${key}-refused`;
        const refused = await pay({ customer, amount: 120, currency: 'USD', confirm: true }, merchant.secretKey, { 'idempotency-key': refusedKey });
        assert.equal(refused.statusCode, 402);
        const stored = await api.runtime.db.query<{ xmin: string; state: string }>(`SELECT xmin::text, state FROM idempotency_keys WHERE key = $1`, [refusedKey]);
        const failed = await api.runtime.db.query<{ xmin: string }>(`SELECT xmin::text FROM payments WHERE id = $1`, [refused.json().error.payment.id]);
        assert.equal(stored.rows[0]!.state, 'done');
        assert.notEqual(stored.rows[0]!.xmin, failed.rows[0]!.xmin);
      } finally {
        verdict = 'allow';
      }
      assert.equal(await walletAvailable(customer), 880);
    });

    it('tells the merchant a blocked payment was refused without the operator\'s rule or the model\'s score, which stay in risk_decisions', async () => {
      const customer = await customerWith(1_000n);
      const rule = { code: 'rule:secret_velocity', message: "Rule secret_velocity (version 3) matched: block if :amount: = 100 and :ip_failed_1h: >= 2" };
      const model = { code: 'high_risk_score', message: 'The model scored 0.734 for a new buyer.' };
      const plain = 'We could not accept this payment: our safety checks flagged it.';
      try {
        verdict = 'block';
        for (const given of [[rule, model], [model, rule]]) {
          reasons = given;
          const blocked = await pay({ customer, amount: 100, currency: 'USD', confirm: true });
          assert.equal(blocked.statusCode, 402, blocked.body);
          assert.equal(blocked.json().error.code, 'payment_blocked');
          const id = (await api.call('GET', `/v1/payments?customer=${customer}&limit=1`, { key: merchant.secretKey })).json().data[0].id as string;
          const read = await api.call('GET', `/v1/payments/${id}`, { key: merchant.secretKey });
          assert.deepEqual(read.json().last_payment_error, { code: 'payment_blocked', message: plain });
          const events = await api.runtime.db.query<{ type: string; data: unknown }>(`SELECT type, data FROM events WHERE data->'object'->>'id' = $1`, [id]);
          assert.deepEqual(events.rows.map((row) => row.type), ['payment.failed']);
          const sent = JSON.stringify(events.rows[0]!.data) + blocked.body + read.body;
          for (const secret of ['secret_velocity', ':amount:', '0.734', 'The model scored']) assert.ok(!sent.includes(secret), `${secret} reached the merchant: ${sent}`);
          // Operators still read every reason in full.
          const decision = await api.runtime.db.query<{ reasons: RiskReason[] }>(`SELECT reasons FROM risk_decisions WHERE id = $1`, [read.json().risk_decision]);
          assert.deepEqual(decision.rows[0]!.reasons, given);
        }
      } finally {
        verdict = 'allow';
        reasons = null;
      }
      assert.equal(await walletAvailable(customer), 1_000);
    });

    it('leaves a manual-capture payment approved by its review to the merchant: capture part, or cancel; rejection releases it', async () => {
      const customer = await customerWith(1_000n);
      const reviews = api.runtime.services.riskReviews;
      const reviewOf = async (paymentId: string) => (await reviews.list({ limit: 100 })).data.find((candidate) => candidate.subjectId === paymentId)!;
      const held: string[] = [];
      try {
        verdict = 'review';
        for (const amount of [400, 300, 200]) {
          const response = await pay({ customer, amount, currency: 'USD', capture_method: 'manual', confirm: true });
          assert.equal(response.json().status, 'processing', response.body);
          held.push(response.json().id);
        }
      } finally {
        verdict = 'allow';
      }
      assert.equal(await walletAvailable(customer), 100);
      const before = await merchantBalance();
      const [captured, canceled, rejected] = held as [string, string, string];

      // Approval moves no money: the review's hold is now the merchant's to capture until it expires.
      assert.equal((await reviews.decide((await reviewOf(captured)).id, { approve: true, note: null, operator: 'test' })).ok, true);
      const approved = (await api.call('GET', `/v1/payments/${captured}`, { key: merchant.secretKey })).json();
      assert.equal(approved.status, 'requires_capture');
      assert.equal(approved.amount_captured, 0);
      const hold = await api.runtime.ledger.getTransfer(ledgerId(`${captured}:hold`));
      assert.equal(approved.capture_before, Math.floor(hold!.expiresAt!.getTime() / 1000));
      assert.deepEqual(await merchantBalance(), before);
      assert.equal(await walletAvailable(customer), 100);
      const events = await api.runtime.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq`, [captured]);
      assert.deepEqual(events.rows.map((row) => row.type), ['payment.processing', 'payment.requires_capture']);
      const part = await api.call('POST', `/v1/payments/${captured}/capture`, { key: merchant.secretKey, body: { amount_to_capture: 250 } });
      assert.equal(part.statusCode, 200, part.body);
      assert.equal(part.json().status, 'succeeded');
      assert.equal(part.json().amount_captured, 250);
      // 2.5% of 250 is 6.25, rounded to 6, plus the fixed 5.
      assert.equal(part.json().application_fee_amount, 11);
      assert.equal(await walletAvailable(customer), 250);
      assert.equal((await merchantBalance()).available - before.available, 250 - 11);

      assert.equal((await reviews.decide((await reviewOf(canceled)).id, { approve: true, note: null, operator: 'test' })).ok, true);
      const cancel = await api.call('POST', `/v1/payments/${canceled}/cancel`, { key: merchant.secretKey, body: {} });
      assert.equal(cancel.statusCode, 200, cancel.body);
      assert.equal(cancel.json().status, 'canceled');
      assert.equal(await walletAvailable(customer), 550);

      assert.equal((await reviews.decide((await reviewOf(rejected)).id, { approve: false, note: null, operator: 'test' })).ok, true);
      const read = (await api.call('GET', `/v1/payments/${rejected}`, { key: merchant.secretKey })).json();
      assert.equal(read.status, 'canceled');
      assert.equal(read.cancellation_reason, 'fraudulent');
      assert.equal(await walletAvailable(customer), 750);
      assert.equal((await api.runtime.ledger.verify()).drift.length, 0);
    });

    it('shows no points on a checkout payment that ends without moving any: blocked, canceled while awaiting its passkey, rejected by its review', async () => {
      const shop = await api.createMerchant({ name: 'Points shop' });
      const program = await api.app.inject({
        method: 'PUT',
        url: '/v1/loyalty/program',
        headers: { authorization: `Bearer ${shop.secretKey}` },
        payload: { earn: { per_amount: 100, currency: 'USD', points: 1 }, redemption: { value_minor_per_point: { USD: 1 }, minimum_points: 10, max_share_percent: 50 } },
      });
      assert.equal(program.statusCode, 200, program.body);
      const buyer = await signUpBuyer(api, shop.publishableKey);
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: shop.id, livemode: false }, buyer.id);
      await api.fundWallet(shop, customer.id, 100_000n, 'USD');
      // 500 points, earned on a payment of $500.
      const earned = await api.call('POST', '/v1/payments', { key: shop.secretKey, body: { customer: customer.id, amount: 50_000, currency: 'USD', confirm: true } });
      assert.equal(earned.json().status, 'succeeded', earned.body);
      const balance = async () => (await api.call('GET', `/v1/loyalty/balances/${customer.id}`, { key: shop.secretKey })).json();
      assert.equal((await balance()).balance, 500);

      async function checkout(outcome: RiskVerdict): Promise<{ id: string; status: string }> {
        const created = await api.call('POST', '/v1/payments', { key: shop.secretKey, body: { amount: 1_000, currency: 'USD' } });
        assert.equal(created.statusCode, 200, created.body);
        try {
          verdict = outcome;
          const confirmed = await api.call('POST', `/v1/checkout/payments/${created.json().id}/confirm`, {
            key: shop.publishableKey,
            headers: buyer.headers,
            body: { client_secret: created.json().client_secret, points_to_redeem: 100 },
          });
          assert.equal(confirmed.statusCode, 200, confirmed.body);
          return { id: created.json().id, status: confirmed.json().status };
        } finally {
          verdict = 'allow';
        }
      }
      const read = async (id: string) => (await api.call('GET', `/v1/payments/${id}`, { key: shop.secretKey })).json();
      const noPoints = async (id: string, status: string) => {
        const payment = await read(id);
        assert.equal(payment.status, status);
        assert.equal(payment.points_redeemed, 0, JSON.stringify(payment));
        assert.equal(payment.amount_paid_in_points, 0, JSON.stringify(payment));
        const events = await api.runtime.db.query<{ data: { object: { points_redeemed: number; amount_paid_in_points: number } } }>(
          `SELECT data FROM events WHERE data->'object'->>'id' = $1 ORDER BY seq DESC LIMIT 1`,
          [id],
        );
        assert.equal(events.rows[0]!.data.object.points_redeemed, 0);
        assert.equal(events.rows[0]!.data.object.amount_paid_in_points, 0);
      };

      const blocked = await checkout('block');
      assert.equal(blocked.status, 'failed');
      await noPoints(blocked.id, 'failed');

      const awaiting = await checkout('challenge');
      assert.equal(awaiting.status, 'requires_action');
      assert.equal((await read(awaiting.id)).points_redeemed, 100, 'chosen, not yet spent');
      const canceled = await api.call('POST', `/v1/payments/${awaiting.id}/cancel`, { key: shop.secretKey, body: {} });
      assert.equal(canceled.statusCode, 200, canceled.body);
      await noPoints(awaiting.id, 'canceled');

      const reviewed = await checkout('review');
      assert.equal(reviewed.status, 'processing');
      assert.equal((await read(reviewed.id)).points_redeemed, 100, 'held with the money');
      const reviews = api.runtime.services.riskReviews;
      const review = (await reviews.list({ limit: 100 })).data.find((candidate) => candidate.subjectId === reviewed.id)!;
      assert.equal((await reviews.decide(review.id, { approve: false, note: null, operator: 'test' })).ok, true);
      await noPoints(reviewed.id, 'canceled');

      // No point was spent on any of them.
      assert.deepEqual(await balance().then((points) => [points.balance, points.spendable]), [500, 500]);
      assert.equal((await api.runtime.ledger.verify()).drift.length, 0);
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
