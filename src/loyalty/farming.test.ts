// Points farming must not pay, on both stores: refund cycles gain nothing (held points cannot be spent,
// refunds claw them back), spending points and then refunding their payment leaves a shortfall that
// later points repay before they can be spent, a lost dispute claws back and gives back like a refund,
// the merchant's own staff earn nothing, and the risk engine's default rules review the patterns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';
import { ledgerId } from '../api/ids.ts';
import { issuanceAccountId, pointsAccountId } from './service.ts';
import { guardSpends, PointsOverspentError } from './store.ts';

const CURRENCY = 'EUR';
const EXEMPTIONS = 'EUR:100000:10000000:1000';
const REDEMPTION = { value_minor_per_point: { EUR: 1 }, minimum_points: 1, max_share_percent: 50 };

for (const kind of STORE_KINDS) {
  describe(`points farming on ${kind}`, () => {
    let api: TestApi;
    /** Earned points are held 14 days. */
    let held: TestMerchant;
    /** Earned points are spendable at once. */
    let open: TestMerchant;

    before(async () => {
      api = await startTestApi(kind, {
        env: { CHECKOUT_EXEMPTIONS: EXEMPTIONS, MICROPAY_RISK_ENGINE: 'on', RISK_DEFAULT_RULES: 'live', RISK_RELOAD_INTERVAL_MS: '0' },
      });
      held = await api.createMerchant({ name: 'Held points' });
      open = await api.createMerchant({ name: 'Open points' });
      for (const [merchant, holdDays] of [[held, 14], [open, 0]] as const) {
        const put = await api.app.inject({
          method: 'PUT',
          url: '/v1/loyalty/program',
          headers: { authorization: `Bearer ${merchant.secretKey}` },
          payload: { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, hold_days: holdDays, redemption: REDEMPTION },
        });
        assert.equal(put.statusCode, 200, put.body);
        assert.equal(put.json().hold_days, holdDays);
      }
    });
    after(async () => {
      const report = await api.runtime.ledger.verify();
      assert.deepEqual(report.drift, []);
      assert.equal(report.ok, true);
      await api.close();
    });

    function expectError(response: LightMyRequestResponse, status: number, code: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
    }

    async function buyerAt(merchant: TestMerchant, funds: bigint, email?: string): Promise<{ buyer: TestBuyer; customer: string }> {
      const buyer = await signUpBuyer(api, merchant.publishableKey, email === undefined ? {} : { email });
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
      await api.fundWallet(merchant, customer.id, funds, CURRENCY);
      return { buyer, customer: customer.id };
    }

    async function pay(merchant: TestMerchant, customer: string, amount: number): Promise<{ id: string; status: string; reasons: string[] }> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer, amount, currency: CURRENCY, confirm: true } });
      assert.equal(response.statusCode, 200, response.body);
      const decision = await api.runtime.db.query<{ reasons: Array<{ code: string }> | string }>(`SELECT reasons FROM risk_decisions WHERE id = $1`, [response.json().risk_decision]);
      const reasons = decision.rows[0] ? (typeof decision.rows[0].reasons === 'string' ? JSON.parse(decision.rows[0].reasons) : decision.rows[0].reasons) : [];
      return { id: response.json().id, status: response.json().status, reasons: reasons.map((reason: { code: string }) => reason.code) };
    }

    async function refund(merchant: TestMerchant, payment: string, amount?: number): Promise<void> {
      const response = await api.call('POST', '/v1/refunds', { key: merchant.secretKey, body: { payment, ...(amount === undefined ? {} : { amount }) } });
      assert.equal(response.json().status, 'succeeded', response.body);
    }

    /** A merchant whose points expire after 30 days, with no hold. */
    async function expiringMerchant(name: string): Promise<TestMerchant> {
      const merchant = await api.createMerchant({ name });
      const put = await api.app.inject({
        method: 'PUT',
        url: '/v1/loyalty/program',
        headers: { authorization: `Bearer ${merchant.secretKey}` },
        payload: { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, expiry_days: 30, hold_days: 0, redemption: REDEMPTION },
      });
      assert.equal(put.statusCode, 200, put.body);
      return merchant;
    }

    async function points(merchant: TestMerchant, customer: string): Promise<{ balance: number; spendable: number; held: number }> {
      const response = await api.call('GET', `/v1/loyalty/balances/${customer}`, { key: merchant.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function checkout(merchant: TestMerchant, buyer: TestBuyer, amount: number, pointsToRedeem: number): Promise<LightMyRequestResponse> {
      const created = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { amount, currency: CURRENCY } });
      assert.equal(created.statusCode, 200, created.body);
      return api.call('POST', `/v1/checkout/payments/${created.json().id}/confirm`, {
        key: merchant.publishableKey,
        headers: buyer.headers,
        body: { client_secret: created.json().client_secret, points_to_redeem: pointsToRedeem },
      });
    }

    it('gains nothing from buy-and-refund cycles: held points cannot be spent and refunds take them back', async () => {
      const { buyer, customer } = await buyerAt(held, 1_000_000n);
      const issuance = api.runtime.ledger;
      const issuedBefore = (await issuance.getBalance(issuanceAccountId(held.id, false)))?.posted ?? 0n;
      for (let cycle = 0; cycle < 3; cycle += 1) {
        const payment = await pay(held, customer, 10_000);
        assert.equal(payment.status, 'succeeded');
        assert.deepEqual(await points(held, customer), { ...(await points(held, customer)), balance: 100, spendable: 0, held: 100 });
        // The held points cannot pay anything.
        expectError(await checkout(held, buyer, 1000, 50), 402, 'points_insufficient');
        await refund(held, payment.id, 4000);
        await refund(held, payment.id);
        const after = await points(held, customer);
        assert.equal(after.balance, 0);
        assert.equal(after.spendable, 0);
      }
      // The merchant issued nothing on balance: every point came back.
      const issuedAfter = (await issuance.getBalance(issuanceAccountId(held.id, false)))?.posted ?? 0n;
      assert.equal(issuedAfter, issuedBefore);
      // Three refunds within a week of earning: the next payment goes to review.
      const next = await pay(held, customer, 10_000);
      assert.equal(next.status, 'processing', JSON.stringify(next));
      assert.ok(next.reasons.includes('rule:points_farming_refunds'), next.reasons.join(','));
    });

    it('makes a buyer who spent points and then refunded their payment repay them before spending again', async () => {
      const { buyer, customer } = await buyerAt(open, 1_000_000n);
      const earned = await pay(open, customer, 10_000);
      assert.equal((await points(open, customer)).spendable, 100);
      // Spend all 100 points (€1.00) on a €10.00 purchase, which earns 9 on its €9.00 money part.
      const spent = await checkout(open, buyer, 1000, 100);
      assert.equal(spent.json().status, 'succeeded', spent.body);
      assert.equal((await points(open, customer)).balance, 9);
      // Refunding the earning payment claws back what is left (9) and records the 91 still owed.
      await refund(open, earned.id);
      assert.deepEqual(await points(open, customer), { ...(await points(open, customer)), balance: 0, spendable: 0 });
      const facts = await api.runtime.services.loyalty.riskFacts((await api.runtime.services.payments.find(earned.id))!);
      assert.equal(facts?.pointsOwed, 91);
      assert.equal(facts?.fastRefunds30d, 1);
      // The next 100 points earned repay the 91 first: only 9 can be spent.
      const later = await pay(open, customer, 10_000);
      assert.equal(later.status, 'succeeded');
      const balance = await points(open, customer);
      assert.equal(balance.balance, 100);
      assert.equal(balance.spendable, 9);
      expectError(await checkout(open, buyer, 1000, 10), 402, 'points_insufficient');
      // Net: 109 points were earned on money the buyer kept (9 + 100); 100 were spent, 9 can be: no gain.
      assert.equal(100 + balance.spendable, 109);
    });

    it('claws back on a lost dispute like a refund, gives spent points back, and marks the badge', async () => {
      const { buyer, customer } = await buyerAt(open, 1_000_000n);
      const earning = await pay(open, customer, 10_000);
      const spending = await checkout(open, buyer, 1000, 40);
      assert.equal(spending.json().status, 'succeeded', spending.body);
      // 100 − 40 + 9 earned on the €9.60 money part.
      assert.equal((await points(open, customer)).balance, 69);
      const disputes = api.runtime.services.disputes;
      // The spending payment first: its 40 points come back before the earning payment's 100 are taken.
      for (const payment of [spending.json().payment.id as string, earning.id]) {
        const opened = await disputes.openByBuyer({ paymentId: payment, buyerId: buyer.id, reason: 'fraudulent' });
        assert.ok(opened.ok, opened.ok ? '' : `${opened.code}: ${opened.message}`);
        const lost = await disputes.decide(opened.dispute.id, 'lost', false);
        assert.ok(lost.ok, lost.ok ? '' : `${lost.code}: ${lost.message}`);
        assert.equal(lost.dispute.status, 'lost');
      }
      // Both payments' earned points are gone (100 and 9) and the 40 spent came back: 69 − 9 + 40 − 100.
      assert.equal((await points(open, customer)).balance, 0);
      const clawbacks = await api.runtime.db.query<{ refund_id: string; wanted: string; clawed: string }>(
        `SELECT refund_id, wanted::text, clawed::text FROM loyalty_clawbacks WHERE payment_id = $1`,
        [earning.id],
      );
      assert.deepEqual(clawbacks.rows.map((row) => [row.wanted, row.clawed]), [['100', '100']]);
      assert.ok(clawbacks.rows[0]!.refund_id.startsWith('dp_'));
      const returned = await api.runtime.ledger.getTransfer(ledgerId(`${(await disputes.list({ merchantId: open.id, livemode: false }, { limit: 10, paymentId: spending.json().payment.id })).data[0]!.id}:points_return`));
      assert.equal(returned?.amount, 40n);
      const badges = (await api.call('GET', `/v1/loyalty/badges?customer=${customer}`, { key: open.secretKey })).json().data as Array<{ code: string; revoked_at: number | null }>;
      assert.equal(badges.find((badge) => badge.code === 'first_purchase')?.revoked_at !== null, true);
    });

    it('counts a lost dispute as taken back when a refund follows it: all earned points clawed, all spent ones returned, badges revoked', async () => {
      const shop = await api.createMerchant({ name: 'Dispute then refund' });
      const put = await api.app.inject({
        method: 'PUT',
        url: '/v1/loyalty/program',
        headers: { authorization: `Bearer ${shop.secretKey}` },
        payload: { earn: { per_amount: 100, currency: CURRENCY, points: 3 }, hold_days: 0, redemption: REDEMPTION },
      });
      assert.equal(put.statusCode, 200, put.body);
      const { buyer, customer } = await buyerAt(shop, 1_000_000n);
      // 3 points earned on a first payment, then spent on a tip of 103 (100 in money, which earns 3).
      assert.equal((await pay(shop, customer, 100)).status, 'succeeded');
      const created = await api.call('POST', '/v1/payments', { key: shop.secretKey, body: { amount: 103, currency: CURRENCY, metadata: { category: 'tip' } } });
      assert.equal(created.statusCode, 200, created.body);
      const paid = await api.call('POST', `/v1/checkout/payments/${created.json().id}/confirm`, {
        key: shop.publishableKey,
        headers: buyer.headers,
        body: { client_secret: created.json().client_secret, points_to_redeem: 3 },
      });
      assert.equal(paid.json().status, 'succeeded', paid.body);
      const paymentId: string = created.json().id;
      assert.equal((await api.call('GET', `/v1/payments/${paymentId}`, { key: shop.secretKey })).json().amount_captured, 100);
      const badgesOf = async () => (await api.call('GET', `/v1/loyalty/badges?customer=${customer}`, { key: shop.secretKey })).json().data as Array<{ code: string; payment: string; revoked_at: number | null }>;
      assert.equal((await badgesOf()).find((badge) => badge.payment === paymentId)?.revoked_at, null);
      // A dispute lost for 60, then a refund of the other 40: the payment is wholly taken back.
      const disputes = api.runtime.services.disputes;
      const opened = await disputes.openByBuyer({ paymentId, buyerId: buyer.id, reason: 'fraudulent', amount: 60n });
      assert.ok(opened.ok, opened.ok ? '' : `${opened.code}: ${opened.message}`);
      const lost = await disputes.decide(opened.dispute.id, 'lost', false);
      assert.ok(lost.ok, lost.ok ? '' : `${lost.code}: ${lost.message}`);
      // The lost dispute itself claws back floor(3 × 60 / 100) = 1 and returns 1 spent point.
      const dispute = await api.runtime.db.query<{ wanted: string; clawed: string }>(`SELECT wanted::text, clawed::text FROM loyalty_clawbacks WHERE refund_id = $1`, [opened.dispute.id]);
      assert.deepEqual(dispute.rows.map((row) => [row.wanted, row.clawed]), [['1', '1']]);
      await refund(shop, paymentId, 40);
      const taken = await api.runtime.db.query<{ wanted: string; clawed: string }>(
        `SELECT coalesce(sum(wanted), 0)::text AS wanted, coalesce(sum(clawed), 0)::text AS clawed FROM loyalty_clawbacks WHERE payment_id = $1`,
        [paymentId],
      );
      assert.deepEqual(taken.rows[0], { wanted: '3', clawed: '3' });
      const returned = await api.runtime.db.query<{ points: string }>(`SELECT coalesce(sum(points), 0)::text AS points FROM loyalty_earnings WHERE payment_id = $1 AND kind = 'return'`, [paymentId]);
      assert.equal(returned.rows[0]!.points, '3');
      // 3 (first payment) − 3 spent + 3 earned − 3 clawed + 3 returned.
      assert.equal((await points(shop, customer)).balance, 3);
      const badge = (await badgesOf()).find((candidate) => candidate.payment === paymentId);
      assert.ok(badge);
      assert.notEqual(badge.revoked_at, null);
    });

    it("gives the merchant's own staff no points, and reviews their payments", async () => {
      const email = `owner-${Date.now()}@${kind}.example`;
      await api.runtime.db.query(`INSERT INTO staff_users (id, merchant_id, email, role) VALUES ($1, $2, $3, 'owner')`, [`stf_${Date.now()}${kind}`, open.id, email]);
      const { customer } = await buyerAt(open, 1_000_000n, email.toUpperCase());
      const payment = await pay(open, customer, 10_000);
      assert.equal(payment.status, 'processing', JSON.stringify(payment));
      assert.ok(payment.reasons.includes('rule:points_self_dealing'), payment.reasons.join(','));
      // Approved by a person, it still earns nothing.
      const reviews = api.runtime.services.riskReviews;
      const review = (await reviews.list({ limit: 100 })).data.find((candidate) => candidate.subjectId === payment.id);
      assert.ok(review);
      const decided = await reviews.decide(review.id, { approve: true, note: null, operator: 'test' });
      assert.equal(decided.ok, true);
      assert.equal((await points(open, customer)).balance, 0);
    });

    it('expires held, earned and given-back points alike, by correcting transfers', async () => {
      const expiring = await expiringMerchant('Expiring points');
      const { buyer, customer } = await buyerAt(expiring, 1_000_000n);
      await pay(expiring, customer, 10_000);
      const spent = await checkout(expiring, buyer, 1000, 50);
      assert.equal(spent.json().status, 'succeeded', spent.body);
      // The refund gives the 50 back as a new lot and takes back the 9 its money earned.
      await refund(expiring, spent.json().payment.id);
      assert.equal((await points(expiring, customer)).balance, 100);
      const loyalty = api.runtime.services.loyalty;
      const day = 24 * 3600 * 1000;
      await loyalty.expirePoints(new Date(Date.now() + 29 * day), 1000);
      assert.equal((await points(expiring, customer)).balance, 100);
      await loyalty.expirePoints(new Date(Date.now() + 31 * day), 1000);
      assert.equal((await points(expiring, customer)).balance, 0);
    });

    it('owes nothing for earned points that expired before their payment was refunded, and still owes what was spent', async () => {
      const expiring = await expiringMerchant('Expired then refunded');
      const loyalty = api.runtime.services.loyalty;
      const day = 24 * 3600 * 1000;
      const owedOn = async (paymentId: string) => (await loyalty.riskFacts((await api.runtime.services.payments.find(paymentId))!))?.pointsOwed;
      // 100 earned, never spent, expired on day 30, the payment refunded after: nothing is owed.
      const idle = await buyerAt(expiring, 1_000_000n);
      const earned = await pay(expiring, idle.customer, 10_000);
      await loyalty.expirePoints(new Date(Date.now() + 31 * day), 1000);
      assert.equal((await points(expiring, idle.customer)).balance, 0);
      await refund(expiring, earned.id);
      assert.equal(await owedOn(earned.id), 0);
      // The next 100 points earned can all be spent.
      await pay(expiring, idle.customer, 10_000);
      assert.deepEqual(await points(expiring, idle.customer), { ...(await points(expiring, idle.customer)), balance: 100, spendable: 100 });
      // 100 earned, 40 of them spent (the spend earns 9), the other 60 expired: a refund leaves 40 owed.
      const spender = await buyerAt(expiring, 1_000_000n);
      const first = await pay(expiring, spender.customer, 10_000);
      const spent = await checkout(expiring, spender.buyer, 1000, 40);
      assert.equal(spent.json().status, 'succeeded', spent.body);
      await loyalty.expirePoints(new Date(Date.now() + 31 * day), 1000);
      assert.equal((await points(expiring, spender.customer)).balance, 0);
      await refund(expiring, first.id);
      assert.equal(await owedOn(first.id), 40);
    });

    it('repays a debt with the points that expire while it locks them, and locks no later points for it', async () => {
      const expiring = await expiringMerchant('Debt repaid by expiry');
      const loyalty = api.runtime.services.loyalty;
      const day = 24 * 3600 * 1000;
      const { buyer, customer } = await buyerAt(expiring, 1_000_000n);
      const owedOn = async (paymentId: string) => (await loyalty.riskFacts((await api.runtime.services.payments.find(paymentId))!))?.pointsOwed;
      // 100 earned and spent (the spend earns 9), then the earning payment refunded: 9 clawed, 91 owed.
      const earned = await pay(expiring, customer, 10_000);
      const spent = await checkout(expiring, buyer, 1000, 100);
      assert.equal(spent.json().status, 'succeeded', spent.body);
      await refund(expiring, earned.id);
      assert.equal(await owedOn(earned.id), 91);
      // The next 100 earned are locked by the debt but for 9; they expire unspent.
      await pay(expiring, customer, 10_000);
      assert.deepEqual(await points(expiring, customer), { ...(await points(expiring, customer)), balance: 100, spendable: 9 });
      await loyalty.expirePoints(new Date(Date.now() + 31 * day), 1000);
      assert.equal((await points(expiring, customer)).balance, 0);
      // The 91 locked points went back to the merchant's issuance account: the debt is repaid, once.
      const expiry = await api.runtime.db.query<{ amount: bigint; metadata: Record<string, string> | string }>(
        `SELECT amount, metadata FROM ledger_transfers WHERE debit_account_id = $1 AND code = 22`,
        [pointsAccountId(expiring.id, buyer.id, false)],
      );
      assert.equal(expiry.rows.length, 1);
      assert.equal(expiry.rows[0]!.amount, 100n);
      const metadata = typeof expiry.rows[0]!.metadata === 'string' ? JSON.parse(expiry.rows[0]!.metadata) : expiry.rows[0]!.metadata;
      assert.equal(metadata.repaid_owed, '91');
      assert.equal(await owedOn(earned.id), 0);
      // So the next points earned are all spendable (before this rule the same 91 locked them again).
      await pay(expiring, customer, 10_000);
      assert.deepEqual(await points(expiring, customer), { ...(await points(expiring, customer)), balance: 100, spendable: 100 });
    });

    it('settles in the commit that two spends cannot both take points that are owed', async () => {
      const { buyer, customer } = await buyerAt(open, 1_000_000n);
      const earned = await pay(open, customer, 10_000);
      assert.equal((await checkout(open, buyer, 1000, 100)).json().status, 'succeeded');
      await refund(open, earned.id);
      // 91 owed, nothing held: the guard refuses any state where the owed points were spent.
      const account = pointsAccountId(open.id, buyer.id, false);
      await assert.rejects(api.runtime.db.transaction((tx) => guardSpends(tx, [{ account_id: account }])), PointsOverspentError);
      await pay(open, customer, 20_000);
      let balance = await points(open, customer);
      assert.equal(balance.balance, 200);
      assert.equal(balance.spendable, 109);
      // Each spend alone fits in the 109 spendable points; both together would spend 91 owed ones.
      const results = await Promise.all([checkout(open, buyer, 1000, 100), checkout(open, buyer, 1000, 100)]);
      const succeeded = results.filter((response) => response.statusCode === 200 && response.json().status === 'succeeded');
      assert.equal(succeeded.length, 1, results.map((response) => response.body).join('\n'));
      const refused = results.find((response) => response.statusCode !== 200)!;
      expectError(refused, 402, 'points_insufficient');
      balance = await points(open, customer);
      // 200 − 100 + 9 earned; 91 still owed.
      assert.equal(balance.balance, 109);
      assert.equal(balance.spendable, 18);
    });
  });
}
