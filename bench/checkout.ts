/// <reference lib="dom" />
// npm run bench:checkout [-- --quick] [--payments N] [--seed N]: the one-tap checkout, measured.
//
// 1. Browser: the demo game shop (/demo/shop) served by a Micropay test server on localhost (PGlite,
//    risk engine on with its default rules, the default low-value exemptions), in Debian's Chromium with
//    a CDP virtual authenticator. A buyer signs up with a passkey in the checkout, the wallet is funded
//    (as a settled top-up would), then `--payments` times: a fresh cart with one skin ($0.79), the
//    checkout opens, and the bench taps "Pay". It counts the taps the buyer had to make until paid (the
//    Pay tap, plus one per passkey or code prompt) and the screens shown between the checkout's summary
//    and its receipt, and times tap → paid: from the click in the checkout frame to the
//    `micropay:succeeded` event on the merchant's page, both on the browser's clock
//    (performance.timeOrigin + performance.now(), comparable across the two documents).
// 2. Baseline, same run and server: the same confirmation as a bare HTTP call from Node
//    (POST /v1/checkout/payments/:id/confirm with the buyer's session), timed the same number of times.
//    `confirm_p95_ratio` = browser p95 / API p95 is the figure to compare across runs on a noisy machine.
// 3. Challenge rate: seeded traffic of honest buyers and fraud (src/risk/simulate, as bench:risk), scored
//    by the full risk engine after training; every payment or tip then goes through the checkout's
//    friction policy (src/checkout/exemption.ts with the default settings): challenged when risk says
//    challenge, or when risk allows but the payment is outside both the low-value exemption (per buyer
//    and currency, reset by each confirmation the buyer passes) and transaction risk analysis (the
//    model's score under CHECKOUT_TRA_SCORE_MAX, the amount under CHECKOUT_TRA_EXEMPTIONS).
//    `challenge_rate` = challenged / honest payments; `fraud_value_caught` is the fraudulent value of
//    payments and tips blocked, reviewed, or challenged and failed (`..._by_exemption`: of which the
//    challenge came from the exemption's limits, not from risk).
//
// Progress goes to stderr; the last line on stdout is one JSON object.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.ts';
import { exemptionOf, type ExemptHistory } from '../src/checkout/exemption.ts';
import { runExperiment } from '../src/risk/simulate/experiment.ts';
import { percentile } from '../src/risk/simulate/harness.ts';
import { usdCents } from '../src/risk/simulate/rates.ts';
import { browserTestsSkipped, openBrowser, startBrowserApi } from '../test/support/browser.ts';
import { signUpBuyer, type TestBuyer } from '../test/support/buyers.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    payments: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});
const PAYMENTS = Number(args.payments ?? (args.quick ? 10 : 40));
const SEED = Number(args.seed);
const progress = (message: string) => process.stderr.write(`[bench:checkout] ${message}\n`);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Frame steps that are not extra screens: the checkout's own summary and its receipt. */
const CHECKOUT_ITSELF = new Set(['checkout-summary', 'result-succeeded']);

/** Payments per buyer: the default rules block a buyer's 31st payment within an hour (scripted buying). */
const PAYMENTS_PER_BUYER = 10;

async function browserRun() {
  const skipped = browserTestsSkipped();
  if (skipped) throw new Error(`cannot run the browser part: ${skipped}`);
  const server = await startBrowserApi('pglite', { demo: true, env: { MICROPAY_RISK_ENGINE: 'on', RISK_DEFAULT_RULES: 'live' } });
  const shop = server.demoKeys!.shop;
  const merchant = { id: shop.id, secretKey: shop.secret_key, publishableKey: shop.publishable_key, readKey: '', liveSecretKey: '' };
  async function fund(buyerId: string): Promise<void> {
    const customer = await server.api.runtime.services.customers.findOrCreateForBuyer({ merchantId: shop.id, livemode: false }, buyerId);
    await server.api.fundWallet(merchant, customer.id, 100_000n, 'USD');
  }
  const confirmMs: number[] = [];
  const taps: number[] = [];
  const screens: number[] = [];
  const notPaid: string[] = [];
  try {
    for (let buyer = 0; buyer * PAYMENTS_PER_BUYER < PAYMENTS; buyer += 1) {
      const count = Math.min(PAYMENTS_PER_BUYER, PAYMENTS - buyer * PAYMENTS_PER_BUYER);
      // Each buyer has a browser (storage, passkey) of their own.
      const browser = await openBrowser();
      try {
        const tab = await browser.open(`${server.url}/demo/shop`);
        const page = tab.page;
        const frame = () => page.frameLocator('[data-testid="micropay-frame"]').first();
        const frameHandle = () => page.frames().find((candidate) => candidate.url().includes('/checkout/frame.html'))!;
        const openCheckout = async (): Promise<void> => {
          await page.goto(`${server.url}/demo/shop`);
          await page.evaluate(() => localStorage.removeItem('demo.shop.cart'));
          await page.reload();
          await page.getByTestId('add-skin-neon-cape').click();
          await page.getByTestId('cart-checkout').click();
        };

        const email = `bench-${buyer}@example.com`;
        progress(`buyer ${buyer + 1}: signing up with a passkey in the checkout`);
        await openCheckout();
        await frame().getByTestId('create-passkey').click();
        await frame().getByTestId('signup-email').fill(email);
        await frame().getByTestId('signup-submit').click();
        await frame().getByTestId('pay-button').waitFor();
        const { rows } = await server.api.runtime.db.query<{ id: string }>('SELECT id FROM buyers WHERE email = $1', [email]);
        await fund(rows[0]!.id);

        for (let index = 0; index < count; index += 1) {
          await openCheckout();
          await frame().getByTestId('pay-button').waitFor();
          await page.evaluate(() => {
            const state = window as unknown as { paidAt?: number };
            delete state.paidAt;
            document.addEventListener('micropay:succeeded', () => (state.paidAt = performance.timeOrigin + performance.now()), { capture: true, once: true });
          });
          await frameHandle().evaluate(() => {
            const state = window as unknown as { tapAt?: number; steps: string[] };
            state.steps = [];
            document.querySelector('[data-testid="pay-button"]')!.addEventListener('click', () => (state.tapAt = performance.timeOrigin + performance.now()), { capture: true });
            new MutationObserver(() => {
              const step = document.querySelector('section[data-testid]')?.getAttribute('data-testid');
              if (step && state.steps.at(-1) !== step) state.steps.push(step);
            }).observe(document.body, { childList: true, subtree: true });
          });
          await frame().getByTestId('pay-button').click();
          // Paid, or a screen the buyer would have to deal with (a challenge is answered by the virtual
          // authenticator and still ends paid; a top-up, a review or a refusal does not).
          const ended = await Promise.race([
            page.waitForFunction(() => (window as unknown as { paidAt?: number }).paidAt !== undefined, undefined, { timeout: 30_000 }).then(() => 'paid'),
            frame().locator('[data-testid="result-failed"], [data-testid="result-processing"], [data-testid="top-up"]').first().waitFor({ timeout: 30_000 }).then(() => 'not paid'),
          ]);
          const { tapAt, steps } = await frameHandle().evaluate(() => {
            const state = window as unknown as { tapAt: number; steps: string[] };
            return { tapAt: state.tapAt, steps: state.steps };
          });
          const extra = steps.filter((step) => !CHECKOUT_ITSELF.has(step));
          screens.push(extra.length);
          // The Pay tap, and one more for each prompt the buyer would answer (passkey, code, top-up).
          taps.push(1 + extra.length);
          if (ended === 'paid') confirmMs.push((await page.evaluate(() => (window as unknown as { paidAt: number }).paidAt)) - tapAt);
          else notPaid.push(steps.join(' > '));
        }
        progress(`buyer ${buyer + 1}: ${count} payments, last tap → paid ${Math.round(confirmMs.at(-1) ?? NaN)} ms`);
      } finally {
        await browser.close();
      }
    }

    progress('baseline: the same confirmations as bare HTTP calls');
    const apiMs: number[] = [];
    let buyer: TestBuyer | null = null;
    for (let index = 0; index < PAYMENTS; index += 1) {
      if (index % PAYMENTS_PER_BUYER === 0) {
        buyer = await signUpBuyer(server.api, shop.publishable_key);
        await fund(buyer.id);
      }
      const started = await fetch(`${server.url}/demo/api/shop/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ sku: 'skin-neon-cape', quantity: 1 }] }) });
      const order = (await started.json()) as { payment: string; client_secret: string; publishable_key: string };
      const before = performance.now();
      const response = await fetch(`${server.url}/v1/checkout/payments/${order.payment}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${order.publishable_key}`, ...buyer!.headers },
        body: JSON.stringify({ client_secret: order.client_secret, device: {} }),
      });
      const body = (await response.json()) as { status?: string };
      apiMs.push(performance.now() - before);
      if (body.status !== 'succeeded') throw new Error(`baseline confirmation answered ${JSON.stringify(body)}`);
    }
    const drift = (await server.api.runtime.ledger.verify()).drift.length;
    return { confirmMs, apiMs, taps, screens, notPaid, drift };
  } finally {
    await server.close();
  }
}

async function challengeRun() {
  const { checkout } = loadConfig({});
  const tra = { amountMax: checkout.traAmountMax, scoreMax: checkout.traScoreMax };
  const histories = new Map<string, Map<string, ExemptHistory>>();
  const counts = { honest: 0, challenged: 0, riskChallenged: 0, exemptionChallenged: 0, traExempt: 0 };
  // Fraud in payments and tips: its value, and the value stopped (blocked, reviewed, or challenged
  // by risk or by the exemption and failed).
  const fraud = { valueUsdCents: 0, caughtUsdCents: 0, caughtByExemptionUsdCents: 0 };
  const weeks = args.quick ? 4 : 6;
  const buyers = args.quick ? 3_000 : 6_000;
  await runExperiment({
    seed: SEED,
    weeks,
    buyers,
    trainWeeks: Math.round(weeks * 0.6),
    progress: (message) => progress(`simulation: ${message}`),
    onAttempt(event, decision, score) {
      const { input, truth } = event;
      if ((input.action !== 'payment' && input.action !== 'tip') || input.buyerId === null) return;
      let history = histories.get(input.buyerId);
      if (!history) histories.set(input.buyerId, (history = new Map()));
      const seen = history.get(input.currency) ?? { count: 0, total: 0n };
      let challenged = decision === 'challenge';
      let byExemption = false;
      if (decision === 'allow') {
        const exemption = exemptionOf(checkout.exemptions[input.currency], tra, input.currency, input.amount, seen, score);
        if (exemption === 'low_value') history.set(input.currency, { count: seen.count + 1, total: seen.total + input.amount });
        if (exemption === 'transaction_risk' && !truth.fraud) counts.traExempt += 1;
        if (exemption === null) challenged = byExemption = true;
      }
      // A confirmation the buyer passes starts the count again, in every currency.
      if (challenged && truth.passesChallenge) history.clear();
      if (truth.fraud) {
        const value = usdCents(input.amount, input.currency);
        fraud.valueUsdCents += value;
        const stopped = decision === 'block' || decision === 'review' || (challenged && !truth.passesChallenge);
        if (stopped) fraud.caughtUsdCents += value;
        if (stopped && byExemption) fraud.caughtByExemptionUsdCents += value;
        return;
      }
      counts.honest += 1;
      if (!challenged) return;
      counts.challenged += 1;
      if (byExemption) counts.exemptionChallenged += 1;
      else counts.riskChallenged += 1;
    },
  });
  return { counts, fraud, weeks, buyers };
}

const started = performance.now();
const browser = await browserRun();
const simulated = await challengeRun();
const p95 = percentile(browser.confirmMs, 0.95);
const apiP95 = percentile(browser.apiMs, 0.95);
const share = (part: number) => (simulated.counts.honest === 0 ? 0 : round(part / simulated.counts.honest, 4));
process.stdout.write(
  `${JSON.stringify({
    taps_frictionless: Math.max(...browser.taps),
    screens_frictionless: Math.max(...browser.screens),
    confirm_p50_ms: round(percentile(browser.confirmMs, 0.5)),
    confirm_p95_ms: round(p95),
    confirm_max_ms: round(Math.max(...browser.confirmMs)),
    api_confirm_p95_ms: round(apiP95),
    confirm_p95_ratio: round(p95 / apiP95, 2),
    challenge_rate: share(simulated.counts.challenged),
    challenge_rate_risk: share(simulated.counts.riskChallenged),
    challenge_rate_exemption: share(simulated.counts.exemptionChallenged),
    tra_exempt_rate: share(simulated.counts.traExempt),
    fraud_value_caught: round(simulated.fraud.caughtUsdCents / Math.max(1, simulated.fraud.valueUsdCents), 4),
    fraud_value_caught_by_exemption: round(simulated.fraud.caughtByExemptionUsdCents / Math.max(1, simulated.fraud.valueUsdCents), 4),
    honest_payments_simulated: simulated.counts.honest,
    browser_payments: browser.taps.length,
    browser_not_paid: browser.notPaid.length,
    ledger_drift: browser.drift,
    seed: SEED,
    weeks: simulated.weeks,
    buyers: simulated.buyers,
    seconds: round((performance.now() - started) / 1000),
  })}\n`,
);
