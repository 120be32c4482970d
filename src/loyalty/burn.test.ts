// Points paying part of a purchase at the checkout, on both stores: the offer in the checkout view, the
// burn in the payment's own commit (money and points both or neither), an idempotent retry, refused
// redemptions (too few points, over the share, below the minimum, no program), concurrent spends of the
// same points, and points given back in proportion by refunds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { signUpBuyer, type TestBuyer } from '../../test/support/buyers.ts';
import { ledgerId } from '../api/ids.ts';
import { LOYALTY_TRANSFER_CODES } from './model.ts';
import { createAllowAllRiskHook, type RiskHook } from '../risk/hook.ts';

const CURRENCY = 'EUR';
// Every checkout payment here is exempt from a passkey confirmation.
const EXEMPTIONS = 'EUR:100000:10000000:1000';
/** Payments of these amounts are held for review by the test's risk hook. */
const REVIEWED_AMOUNTS = new Set([777n, 778n]);

function reviewingRiskHook(): RiskHook {
  const allow = createAllowAllRiskHook();
  return {
    async score(context) {
      const decision = await allow.score(context);
      if (context.action !== 'payment' || !REVIEWED_AMOUNTS.has(context.amount)) return decision;
      return { ...decision, decision: 'review', reasons: [{ code: 'test_review', message: 'Reviewed by the test.' }] };
    },
  };
}

for (const kind of STORE_KINDS) {
  describe(`points at the checkout on ${kind}`, () => {
    let api: TestApi;
    let shop: TestMerchant;
    let plain: TestMerchant;

    before(async () => {
      api = await startTestApi(kind, { env: { CHECKOUT_EXEMPTIONS: EXEMPTIONS }, risk: reviewingRiskHook() });
      shop = await api.createMerchant({ name: 'Points shop' });
      plain = await api.createMerchant({ name: 'No points shop' });
      const put = await api.app.inject({
        method: 'PUT',
        url: '/v1/loyalty/program',
        headers: { authorization: `Bearer ${shop.secretKey}` },
        payload: { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, redemption: { value_minor_per_point: { EUR: 1 }, minimum_points: 10, max_share_percent: 50 } },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(put.json().redemption, { value_minor_per_point: { EUR: 1 }, minimum_points: 10, max_share_percent: 50 });
    });
    after(async () => {
      const report = await api.runtime.ledger.verify();
      assert.deepEqual(report.drift, []);
      assert.equal(report.ok, true);
      await api.close();
    });

    function expectError(response: LightMyRequestResponse, status: number, code: string, param?: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
      if (param !== undefined) assert.equal(response.json().error.param, param, response.body);
    }

    /** A signed-up buyer with `funds` in their wallet and the points `earnedOn` a payment earns (1 per 100). */
    async function buyerWith(funds: bigint, earnedOn: number, merchant = shop): Promise<{ buyer: TestBuyer; customer: string }> {
      const buyer = await signUpBuyer(api, merchant.publishableKey);
      const customer = await api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
      await api.fundWallet(merchant, customer.id, funds + BigInt(earnedOn), CURRENCY);
      if (earnedOn > 0) {
        const paid = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customer.id, amount: earnedOn, currency: CURRENCY, confirm: true } });
        assert.equal(paid.json().status, 'succeeded', paid.body);
      }
      return { buyer, customer: customer.id };
    }

    async function checkoutPayment(amount: number, merchant = shop): Promise<{ id: string; secret: string }> {
      const response = await api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { amount, currency: CURRENCY, description: 'A song' } });
      assert.equal(response.statusCode, 200, response.body);
      return { id: response.json().id, secret: response.json().client_secret };
    }

    const view = (pay: { id: string; secret: string }, buyer: TestBuyer, merchant = shop) =>
      api.call('GET', `/v1/checkout/payments/${pay.id}?client_secret=${pay.secret}`, { key: merchant.publishableKey, headers: buyer.headers });

    const confirm = (pay: { id: string; secret: string }, buyer: TestBuyer, points?: number, merchant = shop) =>
      api.call('POST', `/v1/checkout/payments/${pay.id}/confirm`, {
        key: merchant.publishableKey,
        headers: buyer.headers,
        body: { client_secret: pay.secret, ...(points === undefined ? {} : { points_to_redeem: points }) },
      });

    async function points(customer: string): Promise<{ balance: number; spendable: number }> {
      const response = await api.call('GET', `/v1/loyalty/balances/${customer}`, { key: shop.secretKey });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    }

    async function walletOf(customer: string): Promise<bigint> {
      const buyerId = (await api.runtime.services.customers.get({ merchantId: shop.id, livemode: false }, customer))!.buyerId;
      const books = api.runtime.services.books;
      return (await books.balance(books.account('wallet', buyerId, false, CURRENCY))).available;
    }

    it('offers the points in the view and pays part of the payment with them in its own commit', async () => {
      const { buyer, customer } = await buyerWith(1000n, 10_000);
      assert.equal((await points(customer)).balance, 100);
      const pay = await checkoutPayment(500);
      const offer = (await view(pay, buyer)).json().buyer.points;
      assert.deepEqual(offer, { balance: 100, spendable: 100, value_minor_per_point: 1, minimum_points: 10, redeemable_points: 100, redeemable_value: 100 });
      const walletBefore = await walletOf(customer);
      const paid = await confirm(pay, buyer, 50);
      assert.equal(paid.statusCode, 200, paid.body);
      assert.equal(paid.json().status, 'succeeded', paid.body);
      assert.equal(paid.json().payment.points_redeemed, 50);
      assert.equal(paid.json().payment.amount_paid_in_points, 50);
      assert.match(paid.json().message, /Paid .*4\.50 and 50 points/);
      // The merchant sees the whole price, the money captured and what points paid.
      const read = (await api.call('GET', `/v1/payments/${pay.id}`, { key: shop.secretKey })).json();
      assert.equal(read.amount, 500);
      assert.equal(read.amount_captured, 450);
      assert.equal(read.points_redeemed, 50);
      assert.equal(read.amount_paid_in_points, 50);
      assert.equal(walletBefore - (await walletOf(customer)), 450n);
      // 100 − 50 spent + 4 earned on the 4.50 paid in money.
      assert.equal((await points(customer)).balance, 54);
      const burn = await api.runtime.ledger.getTransfer(ledgerId(`${pay.id}:points_redeem`));
      assert.equal(burn?.amount, 50n);
      assert.equal(burn?.code, LOYALTY_TRANSFER_CODES.redeem);
      assert.equal(burn?.asset, 'PTS');
      // The signed receipt shows the full price in its items, the points' part, and the money paid.
      const receipt = (await api.call('GET', `/v1/payments/${pay.id}/receipt`, { key: shop.secretKey })).json();
      const signed = (await api.call('GET', `${new URL(receipt.json_url).pathname}`)).json().receipt;
      assert.equal(signed.items[0].amount, 500);
      assert.deepEqual(signed.points, { redeemed: 50, amount: 50, amount_formatted: '€0.50' });
      assert.equal(signed.amount, 450);
      const page = await api.call('GET', new URL(receipt.url).pathname);
      assert.match(page.body, /Paid with 50 loyalty points: −€0\.50/);
    });

    it('is idempotent: confirming again replays the payment and spends nothing more', async () => {
      const { buyer, customer } = await buyerWith(1000n, 5000);
      const pay = await checkoutPayment(300);
      const first = await confirm(pay, buyer, 20);
      assert.equal(first.json().status, 'succeeded', first.body);
      const after = await points(customer);
      const again = await confirm(pay, buyer, 20);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().status, 'succeeded');
      assert.equal(again.json().payment.points_redeemed, 20);
      const other = await confirm(pay, buyer, 30);
      assert.equal(other.json().payment.points_redeemed, 20, other.body);
      assert.deepEqual(await points(customer), after);
      const history = await api.runtime.ledger.listAccountTransfers(
        (await api.runtime.ledger.getTransfer(ledgerId(`${pay.id}:points_redeem`)))!.debitAccountId,
        { limit: 50 },
      );
      assert.equal(history.data.filter((entry) => entry.transfer.code === LOYALTY_TRANSFER_CODES.redeem).length, 1);
    });

    it('refuses too many points, over the share, below the minimum, and at a merchant without redemption', async () => {
      const { buyer, customer } = await buyerWith(1000n, 3000);
      const pay = await checkoutPayment(400);
      expectError(await confirm(pay, buyer, 31), 402, 'points_insufficient', 'points_to_redeem');
      expectError(await confirm(pay, buyer, 5), 400, 'points_redemption_invalid', 'points_to_redeem');
      const small = await checkoutPayment(40);
      expectError(await confirm(small, buyer, 21), 400, 'points_redemption_invalid', 'points_to_redeem');
      expectError(await confirm(pay, buyer, -1), 400, 'parameter_invalid');
      // Nothing moved: the payment still waits, the points are all there.
      const read = (await api.call('GET', `/v1/payments/${pay.id}`, { key: shop.secretKey })).json();
      assert.equal(read.status, 'requires_confirmation');
      assert.equal(read.points_redeemed, 0);
      assert.equal((await points(customer)).balance, 30);
      const elsewhere = await buyerWith(1000n, 0, plain);
      const plainPay = await checkoutPayment(400, plain);
      assert.equal((await view(plainPay, elsewhere.buyer, plain)).json().buyer.points, null);
      expectError(await confirm(plainPay, elsewhere.buyer, 10, plain), 400, 'points_redemption_unavailable', 'points_to_redeem');
      // A view with too few points to reach the minimum offers none.
      const poor = await buyerWith(1000n, 500);
      assert.equal((await view(pay, poor.buyer)).json().buyer.points.redeemable_points, 0);
    });

    it('spends points once when two payments race for them: the other pays nothing and spends nothing', async () => {
      const { buyer, customer } = await buyerWith(10_000n, 10_000);
      const [a, b] = [await checkoutPayment(1000), await checkoutPayment(1000)];
      const walletBefore = await walletOf(customer);
      const results = await Promise.all([confirm(a, buyer, 80), confirm(b, buyer, 80)]);
      const succeeded = results.filter((response) => response.statusCode === 200 && response.json().status === 'succeeded');
      const refused = results.filter((response) => response.statusCode === 402);
      assert.equal(succeeded.length, 1, results.map((response) => response.body).join('\n'));
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.json().error.code, 'points_insufficient');
      // 100 − 80 + 9 earned on the 9.20 paid in money; the wallet paid one payment's money part.
      assert.equal((await points(customer)).balance, 29);
      assert.equal(walletBefore - (await walletOf(customer)), 920n);
    });

    it('keeps the points when the wallet is short, and the payment can be paid again', async () => {
      const { buyer, customer } = await buyerWith(100n, 2000);
      const pay = await checkoutPayment(400);
      const short = await confirm(pay, buyer, 20);
      assert.equal(short.json().status, 'requires_payment_method', short.body);
      assert.equal(short.json().payment.points_redeemed, 0);
      // The wallet pays the money part: the top-up asks for what 380 lacks, not 400.
      assert.equal(short.json().next_action.type, 'top_up');
      assert.equal((await points(customer)).balance, 20);
      await api.fundWallet(shop, customer, 1000n, CURRENCY);
      const paid = await confirm(pay, buyer, 20);
      assert.equal(paid.json().status, 'succeeded', paid.body);
      assert.equal(paid.json().payment.amount_paid_in_points, 20);
    });

    it('gives spent points back in proportion to the money refunded, and claws back what the money earned', async () => {
      const { buyer, customer } = await buyerWith(10_000n, 10_000);
      const pay = await checkoutPayment(1000);
      const paid = await confirm(pay, buyer, 100);
      assert.equal(paid.json().status, 'succeeded', paid.body);
      // 100 − 100 spent + 9 earned on the 9.00 paid in money.
      assert.equal((await points(customer)).balance, 9);
      // Half the money back: half the spent points back (50), half the earned ones taken (4).
      const half = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: pay.id, amount: 450 } });
      assert.equal(half.json().status, 'succeeded', half.body);
      assert.equal((await points(customer)).balance, 9 + 50 - 4);
      const rest = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: pay.id } });
      assert.equal(rest.json().status, 'succeeded', rest.body);
      assert.equal(rest.json().amount, 450);
      // Everything back: the 100 spent points, none of the 9 earned.
      assert.equal((await points(customer)).balance, 100);
      const returned = await api.runtime.ledger.getTransfer(ledgerId(`${rest.json().id}:points_return`));
      assert.equal(returned?.amount, 50n);
      assert.equal(returned?.code, LOYALTY_TRANSFER_CODES.redeem_return);
    });

    it('holds the points with the money while the payment is in review: approval spends them, rejection gives them back', async () => {
      const { buyer, customer } = await buyerWith(10_000n, 50_000);
      const reviews = api.runtime.services.riskReviews;
      const reviewOf = async (paymentId: string) => (await reviews.list({ limit: 100 })).data.find((candidate) => candidate.subjectId === paymentId)!;
      const approved = await checkoutPayment(777);
      const held = await confirm(approved, buyer, 300);
      assert.equal(held.json().status, 'processing', held.body);
      // Held with the money: still in the balance, no longer spendable.
      let balance = await points(customer);
      assert.equal(balance.balance, 500);
      assert.equal(balance.spendable, 200);
      const approval = await reviews.decide((await reviewOf(approved.id)).id, { approve: true, note: null, operator: 'test' });
      assert.equal(approval.ok, true);
      const read = (await api.call('GET', `/v1/payments/${approved.id}`, { key: shop.secretKey })).json();
      assert.equal(read.status, 'succeeded');
      assert.equal(read.amount_captured, 477);
      assert.equal(read.points_redeemed, 300);
      // 500 − 300 spent + 4 earned on the 4.77 paid in money.
      assert.equal((await points(customer)).balance, 204);
      const rejected = await checkoutPayment(778);
      assert.equal((await confirm(rejected, buyer, 100)).json().status, 'processing');
      assert.equal((await points(customer)).spendable, 104);
      const rejection = await reviews.decide((await reviewOf(rejected.id)).id, { approve: false, note: null, operator: 'test' });
      assert.equal(rejection.ok, true);
      assert.equal((await api.call('GET', `/v1/payments/${rejected.id}`, { key: shop.secretKey })).json().status, 'canceled');
      balance = await points(customer);
      assert.equal(balance.balance, 204);
      assert.equal(balance.spendable, 204);
    });

    it('keeps the chosen points on a payment that waits for a passkey confirmation, and spends them when it is confirmed', async () => {
      const { buyer, customer } = await buyerWith(200_000n, 50_000);
      // Above the exemption (€1,000): the buyer must confirm with their passkey.
      const pay = await checkoutPayment(150_000);
      const waiting = await confirm(pay, buyer, 300);
      assert.equal(waiting.json().status, 'requires_action', waiting.body);
      assert.equal(waiting.json().payment.points_redeemed, 300);
      // Nothing is spent until the confirmation.
      assert.equal((await points(customer)).balance, 500);
      const challenge = await api.call('POST', `/v1/checkout/payments/${pay.id}/authentication`, { key: shop.publishableKey, headers: buyer.headers, body: { client_secret: pay.secret } });
      assert.equal(challenge.statusCode, 200, challenge.body);
      const paid = await api.call('POST', `/v1/checkout/payments/${pay.id}/authenticate`, {
        key: shop.publishableKey,
        headers: buyer.headers,
        body: { client_secret: pay.secret, challenge: challenge.json().challenge, credential: buyer.authenticator.authenticate(challenge.json().options) },
      });
      assert.equal(paid.json().status, 'succeeded', paid.body);
      assert.equal(paid.json().payment.amount_paid_in_points, 300);
      // 500 − 300 spent + 1,497 earned on the €1,497.00 paid in money.
      assert.equal((await points(customer)).balance, 1697);
    });

    it('puts a payment waiting for a passkey back to requires_confirmation when the spend guard refuses its points', async () => {
      const holding = await api.createMerchant({ name: 'Holding points shop' });
      const program = (holdDays: number) =>
        api.app.inject({
          method: 'PUT',
          url: '/v1/loyalty/program',
          headers: { authorization: `Bearer ${holding.secretKey}` },
          payload: { earn: { per_amount: 100, currency: CURRENCY, points: 1 }, hold_days: holdDays, redemption: { value_minor_per_point: { EUR: 1 }, minimum_points: 10, max_share_percent: 50 } },
        });
      const balanceAt = async (customer: string): Promise<{ balance: number; spendable: number; held: number }> =>
        (await api.call('GET', `/v1/loyalty/balances/${customer}`, { key: holding.secretKey })).json();
      assert.equal((await program(0)).statusCode, 200);
      // 150 points spendable at once, then 50 more earned under a 14-day hold: 200, of which 50 held.
      const { buyer, customer } = await buyerWith(300_000n, 15_000, holding);
      assert.equal((await program(14)).statusCode, 200);
      const heldEarn = await api.call('POST', '/v1/payments', { key: holding.secretKey, body: { customer, amount: 5000, currency: CURRENCY, confirm: true } });
      assert.equal(heldEarn.json().status, 'succeeded', heldEarn.body);
      assert.deepEqual(await balanceAt(customer), { ...(await balanceAt(customer)), balance: 200, spendable: 150, held: 50 });
      // P1 (above the exemption) waits for the passkey with 100 points.
      const first = await checkoutPayment(150_000, holding);
      const waiting = await confirm(first, buyer, 100, holding);
      assert.equal(waiting.json().status, 'requires_action', waiting.body);
      // P2 spends 80 meanwhile: 200 − 80 + 9 (held) = 129, of which 59 held: 70 spendable.
      const second = await checkoutPayment(1000, holding);
      assert.equal((await confirm(second, buyer, 80, holding)).json().status, 'succeeded');
      assert.deepEqual(await balanceAt(customer), { ...(await balanceAt(customer)), balance: 129, spendable: 70, held: 59 });
      const authenticate = async () => {
        const challenge = await api.call('POST', `/v1/checkout/payments/${first.id}/authentication`, { key: holding.publishableKey, headers: buyer.headers, body: { client_secret: first.secret } });
        assert.equal(challenge.statusCode, 200, challenge.body);
        return api.call('POST', `/v1/checkout/payments/${first.id}/authenticate`, {
          key: holding.publishableKey,
          headers: buyer.headers,
          body: { client_secret: first.secret, challenge: challenge.json().challenge, credential: buyer.authenticator.authenticate(challenge.json().options) },
        });
      };
      // The ledger would let 100 go (129 ≥ 100); the spend guard refuses them (held points).
      expectError(await authenticate(), 402, 'points_insufficient');
      const read = (await api.call('GET', `/v1/payments/${first.id}`, { key: holding.secretKey })).json();
      assert.equal(read.status, 'requires_confirmation');
      assert.equal(read.points_redeemed, 0);
      assert.equal(read.amount_paid_in_points, 0);
      assert.equal(read.last_payment_error?.code, 'points_insufficient');
      assert.equal((await balanceAt(customer)).balance, 129);
      // The buyer confirms again with fewer points and pays.
      const again = await confirm(first, buyer, 50, holding);
      assert.equal(again.json().status, 'requires_action', again.body);
      const paid = await authenticate();
      assert.equal(paid.json().status, 'succeeded', paid.body);
      assert.equal(paid.json().payment.amount_paid_in_points, 50);
    });

    it('moves no points when a refund fails: the claw-back and the return are linked to the refund', async () => {
      const { buyer, customer } = await buyerWith(10_000n, 10_000);
      const pay = await checkoutPayment(1000);
      assert.equal((await confirm(pay, buyer, 100)).json().status, 'succeeded');
      const before = await points(customer);
      // The merchant's balance is paid out (a transfer to the bank rail stands in for a payout).
      const books = api.runtime.services.books;
      const merchant = books.account('merchant', shop.id, false, CURRENCY);
      const rail = books.account('bank_settlement', 'platform', false, CURRENCY);
      await books.ensure([merchant, rail]);
      const available = (await books.balance(merchant)).available;
      const [drained] = await api.runtime.ledger.createTransfers([{ id: ledgerId(`${pay.id}:test_drain`), debitAccountId: merchant.id, creditAccountId: rail.id, amount: available, code: 8 }]);
      assert.equal(drained?.result, 'created');
      const refused = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: pay.id } });
      assert.equal(refused.statusCode, 402, refused.body);
      assert.equal(refused.json().error.code, 'merchant_balance_insufficient');
      assert.deepEqual(await points(customer), before);
      // Funds back, the same refund gives the points back and claws back what the money earned.
      const [restored] = await api.runtime.ledger.createTransfers([{ id: ledgerId(`${pay.id}:test_restore`), debitAccountId: rail.id, creditAccountId: merchant.id, amount: available, code: 8 }]);
      assert.equal(restored?.result, 'created');
      const refunded = await api.call('POST', '/v1/refunds', { key: shop.secretKey, body: { payment: pay.id } });
      assert.equal(refunded.json().status, 'succeeded', refunded.body);
      assert.equal((await points(customer)).balance, before.balance + 100 - 9);
    });
  });
}
