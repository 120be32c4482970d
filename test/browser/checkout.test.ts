/// <reference lib="dom" />
// The one-tap checkout in Chromium, through the demo storefronts and the embeddable checkout, with a CDP
// virtual authenticator standing in for the buyer's fingerprint. One buyer goes through the steps in
// order (each test builds on the state the previous one left): sign-up with a passkey, an inline top-up
// with 3-D Secure that completes the payment and unlocks the article, a frictionless one-tap payment, a
// payment challenged and confirmed by passkey, that passkey assertion replayed against another payment
// and refused, failed user verification, the one-time code fallback, a blocked payment's message, a
// payment made with the keyboard alone, and a second device signed in by code then removed.
// Each step saves a screenshot under test-results/checkout-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameLocator, Request } from 'playwright-core';
import { browserTestsSkipped, closePopup, injectAxe, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';


const skip = browserTestsSkipped();
// Small limits so that the steps cross them: a payment is exempt up to $1.00 / €1.00, while the exempt
// payments since the last confirmation stay under $3.00 or number fewer than 3.
const EXEMPTIONS = 'USD:100:300:3,EUR:100:300:3,KRW:1000:3000:3';
const EMAIL = 'ana@example.com';

describe('one-tap checkout in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;
  let buyerId: string;

  before(async () => {
    server = await startBrowserApi('pglite', {
      demo: true,
      env: { MICROPAY_RISK_ENGINE: 'on', RISK_RELOAD_INTERVAL_MS: '0', CHECKOUT_EXEMPTIONS: EXEMPTIONS, CHECKOUT_SUPPORT_EMAIL: 'help@micropay.example' },
    });
    browser = await openBrowser();
    // One tab for the whole journey: its virtual authenticator holds the buyer's passkey.
    tab = await browser.open(`${server.url}/demo/news`);
  });
  after(async () => {
    if (server) assert.deepEqual((await server.api.runtime.ledger.verify()).drift, []);
    await browser?.close();
    await server?.close();
  });

  const frame = (): FrameLocator => tab.page.frameLocator('[data-testid="micropay-frame"]').first();

  /** Runs axe-core (WCAG 2 A and AA rules, contrast included) over the checkout frame as it is now. */
  async function assertAccessible(step: string): Promise<void> {
    const frameHandle = tab.page.frames().find((candidate) => candidate.url().includes('/checkout/frame.html'))!;
    await injectAxe(frameHandle);
    const violations = await frameHandle.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], `accessibility of ${step}`);
  }

  async function wallet(currency: string): Promise<bigint> {
    const { books } = server.api.runtime.services;
    return (await books.balanceIfOpen(books.account('wallet', buyerId, false, currency)))?.available ?? 0n;
  }

  async function authentications(paymentId: string): Promise<string[]> {
    const { rows } = await server.api.runtime.db.query<{ method: string; outcome: string }>(
      'SELECT method, outcome FROM checkout_authentications WHERE payment_id = $1 ORDER BY created_at, id',
      [paymentId],
    );
    return rows.map((row) => `${row.method}:${row.outcome}`);
  }

  async function paymentStatus(shop: 'news' | 'shop' | 'creator', id: string): Promise<string> {
    const response = await server.api.call('GET', `/v1/payments/${id}`, { key: server.demoKeys![shop].secret_key });
    assert.equal(response.statusCode, 200, response.body);
    return response.json().status;
  }

  /** The payment the open checkout frame is for. */
  async function framePayment(): Promise<string> {
    const src = await tab.page.locator('[data-testid="micropay-frame"]').first().getAttribute('src');
    return new URL(src!).searchParams.get('payment')!;
  }

  /** Opens the shop, puts `skus` in the cart and opens the checkout for it. */
  async function shopCheckout(skus: string[]): Promise<string> {
    await tab.page.goto(`${server.url}/demo/shop`);
    // A fresh cart (the shop remembers its cart in the browser).
    await tab.page.evaluate(() => localStorage.removeItem('demo.shop.cart'));
    await tab.page.reload();
    for (const sku of skus) await tab.page.getByTestId(`add-${sku}`).click();
    await tab.page.getByTestId('cart-checkout').click();
    await frame().getByTestId('pay-button').waitFor();
    return framePayment();
  }

  test('a new buyer signs up with a passkey inside the checkout', async () => {
    await tab.page.getByTestId('buy-micropayments-return').click();
    await frame().getByTestId('checkout-summary').waitFor();
    assert.equal(await frame().getByTestId('total').textContent(), 'Total$0.25');
    await tab.screenshot('checkout-01-signed-out');
    await assertAccessible('the signed-out summary');
    await frame().getByTestId('create-passkey').click();
    await frame().getByTestId('signup-email').fill(EMAIL);
    await tab.screenshot('checkout-02-sign-up');
    await assertAccessible('the sign-up form');
    await frame().getByTestId('signup-submit').click();
    await frame().getByTestId('pay-button').waitFor();
    assert.equal(await frame().getByTestId('pay-button').textContent(), 'Pay $0.25');
    assert.equal(await frame().getByTestId('wallet-balance').textContent(), '$0.00');
    const credentials = await tab.credentials();
    assert.equal(credentials.length, 1, 'the authenticator holds one passkey');
    assert.equal(credentials[0]!.isResidentCredential, true, 'a discoverable credential');
    const { rows } = await server.api.runtime.db.query<{ id: string }>('SELECT id FROM buyers WHERE email = $1', [EMAIL]);
    assert.equal(rows.length, 1);
    buyerId = rows[0]!.id;
    await tab.screenshot('checkout-03-signed-in');
    await assertAccessible('the signed-in summary');
  });

  test('an empty wallet is topped up inline, through 3-D Secure, and the payment completes without starting over; the article unlocks', async () => {
    const paymentId = await framePayment();
    await frame().getByTestId('pay-button').click();
    await frame().getByTestId('top-up').waitFor();
    await frame().getByTestId('card-number').fill('4000 0000 0000 3220');
    await frame().getByTestId('card-expiry').fill('12/35');
    await frame().getByTestId('card-cvc').fill('123');
    await tab.screenshot('checkout-04-top-up');
    await assertAccessible('the top-up form');
    // The checkout opens the issuer's page in a popup; the buyer passes the challenge there.
    const [issuerPage] = await Promise.all([browser.context.waitForEvent('page'), frame().getByTestId('topup-submit').click()]);
    await frame().getByTestId('three-d-secure').waitFor();
    await issuerPage.waitForLoadState();
    await tab.screenshot('checkout-05-three-d-secure');
    await issuerPage.screenshot({ path: 'test-results/checkout-05b-issuer-page.png' });
    await issuerPage.getByRole('button', { name: 'Complete authentication' }).click();
    await closePopup(issuerPage);
    const body = tab.page.getByTestId('article-body-micropayments-return');
    await body.waitFor({ timeout: 15_000 });
    assert.ok(((await body.textContent()) ?? '').length > 100, 'the article text is served once paid');
    await tab.screenshot('checkout-06-article-unlocked');
    assert.equal(await paymentStatus('news', paymentId), 'succeeded');
    // $5.00, the suggested top-up, less the article.
    assert.equal(await wallet('USD'), 475n);
    assert.deepEqual(await authentications(paymentId), ['exempt:succeeded']);
    // The merchant side received the signed webhook.
    await tab.page.locator('[data-testid="webhook-event"][data-type="payment.succeeded"][data-verified="true"]').first().waitFor();
  });

  test('a small payment by a signed-in buyer takes one tap and no other screen', async () => {
    const paymentId = await shopCheckout(['skin-neon-cape']);
    const steps: string[] = [];
    const frameHandle = tab.page.frames().find((candidate) => candidate.url().includes('/checkout/frame.html'))!;
    await frameHandle.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenSteps: string[] }).seenSteps = seen;
      new MutationObserver(() => {
        const step = document.querySelector('section[data-testid]')?.getAttribute('data-testid');
        if (step && seen.at(-1) !== step) seen.push(step);
      }).observe(document.body, { childList: true, subtree: true });
    });
    await tab.screenshot('checkout-07-one-tap');
    await frame().getByTestId('pay-button').click();
    await frame().getByTestId('result-succeeded').waitFor();
    steps.push(...(await frameHandle.evaluate(() => (window as unknown as { seenSteps: string[] }).seenSteps)));
    // The summary (the checkout itself) stays until the receipt replaces it: no screen in between.
    assert.deepEqual(steps.filter((step) => step !== 'checkout-summary'), ['result-succeeded'], 'no screen between the tap and the receipt');
    await tab.page.getByTestId('order-status').filter({ hasText: /Order fulfilled/ }).waitFor();
    await tab.screenshot('checkout-08-paid');
    assert.equal(await paymentStatus('shop', paymentId), 'succeeded');
    assert.deepEqual(await authentications(paymentId), ['exempt:succeeded']);
    assert.equal(await wallet('USD'), 475n - 79n);
  });

  let challenged: { paymentId: string; body: Record<string, unknown> } | null = null;

  test('a payment over the exemption is confirmed with the passkey (dynamic linking: the challenge is the payment\'s)', async () => {
    const paymentId = await shopCheckout(['skin-ember-blade']);
    const sent: Request[] = [];
    tab.page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith(`/v1/checkout/payments/${paymentId}/authenticate`)) sent.push(request);
    });
    await frame().getByTestId('pay-button').click();
    await frame().getByTestId('result-succeeded').waitFor();
    await tab.screenshot('checkout-09-challenged-and-confirmed');
    assert.equal(await paymentStatus('shop', paymentId), 'succeeded');
    const methods = await authentications(paymentId);
    assert.equal(methods.length, 1);
    assert.match(methods[0]!, /^(passkey|spc):succeeded$/, 'confirmed by the passkey');
    assert.equal(await wallet('USD'), 475n - 79n - 149n);
    assert.equal(sent.length, 1, 'one assertion was sent');
    challenged = { paymentId, body: sent[0]!.postDataJSON() as Record<string, unknown> };
  });

  test('the assertion made for that payment is refused for another payment', async () => {
    assert.ok(challenged, 'needs the previous test');
    // Payment B: over the exemption, so it waits for a confirmation.
    const otherId = await shopCheckout(['skin-frost-helm']);
    const answers = await frameFetch([
      { path: `/v1/checkout/payments/${otherId}/confirm`, body: { device: {} } },
      { path: `/v1/checkout/payments/${otherId}/authentication`, body: {} },
    ]);
    assert.equal(answers[0]!.body.status, 'requires_action', JSON.stringify(answers[0]));
    const otherChallenge = answers[1]!.body.challenge as string;
    // A's assertion, sent for B with B's own challenge, and with A's.
    const replays = await frameFetch([
      { path: `/v1/checkout/payments/${otherId}/authenticate`, body: { challenge: otherChallenge, credential: challenged!.body.credential } },
      { path: `/v1/checkout/payments/${otherId}/authenticate`, body: { challenge: challenged!.body.challenge, credential: challenged!.body.credential } },
      // And replayed against A itself: the challenge was single use.
      { path: `/v1/checkout/payments/${challenged!.paymentId}/authenticate`, body: challenged!.body, secretOf: challenged!.paymentId },
    ]);
    for (const replay of replays.slice(0, 2)) {
      assert.equal(replay.status, 400, JSON.stringify(replay));
      assert.equal((replay.body.error as { code: string }).code, 'authentication_failed');
    }
    assert.ok([400, 409].includes(replays[2]!.status), JSON.stringify(replays[2]));
    assert.equal(await paymentStatus('shop', otherId), 'requires_action', 'B is still waiting; nothing moved');
    assert.equal(await wallet('USD'), 475n - 79n - 149n);
  });

  test('failed user verification is refused with nothing charged, and the one-time code completes the payment', async () => {
    const paymentId = await shopCheckout(['skin-ember-blade']);
    const before = await wallet('USD');
    await tab.setUserVerified(false);
    try {
      await frame().getByTestId('pay-button').click();
      await frame().getByTestId('challenge').waitFor();
      await frame().locator('#status[data-tone="error"]').waitFor();
      await tab.screenshot('checkout-10-user-verification-failed');
      await assertAccessible('the challenge with its error');
      assert.equal(await paymentStatus('shop', paymentId), 'requires_action');
      assert.equal(await wallet('USD'), before, 'nothing charged');
    } finally {
      await tab.setUserVerified(true);
    }
    await frame().getByTestId('send-code').click();
    await frame().getByTestId('code-input').waitFor();
    await tab.screenshot('checkout-11-code-sent');
    await assertAccessible('the code entry');
    const messages = await (await fetch(`${server.url}/sandbox/messages?to=${encodeURIComponent(EMAIL)}`)).json() as { data: Array<{ body: string }> };
    const text = messages.data[0]!.body;
    assert.match(text, /\$1\.49/, 'the message names the amount');
    assert.match(text, /Pixel Forge/, 'and the payee');
    const code = /\b(\d{6})\b/.exec(text)![1]!;
    await frame().getByTestId('code-input').fill(code);
    await frame().getByTestId('submit-code').click();
    await frame().getByTestId('result-succeeded').waitFor();
    await tab.screenshot('checkout-12-paid-with-code');
    assert.equal(await paymentStatus('shop', paymentId), 'succeeded');
    assert.deepEqual((await authentications(paymentId)).at(-1), 'otp:succeeded');
    assert.equal(await wallet('USD'), before - 149n);
  });

  test('a blocked payment shows its reason in plain words and a way to contact support, and charges nothing', async () => {
    const creator = server.demoKeys!.creator;
    const rule = await server.api.app.inject({
      method: 'PUT',
      url: '/v1/risk/rules/block_demo_tip',
      headers: { authorization: `Bearer ${server.api.operatorKey}` },
      payload: { source: `block if :amount: = 300 and :merchant_id: = '${creator.id}'`, mode: 'live' },
    });
    assert.equal(rule.statusCode, 200, rule.body);
    await tab.page.goto(`${server.url}/demo/creator`);
    await tab.page.getByTestId('tip-300').check();
    await tab.page.getByTestId('tip-button').click();
    await frame().getByTestId('pay-button').waitFor();
    const paymentId = await framePayment();
    const before = await wallet('EUR');
    await frame().getByTestId('pay-button').click();
    await frame().getByTestId('result-failed').waitFor();
    const message = (await frame().getByTestId('result-message').textContent()) ?? '';
    assert.ok(message.length > 20, message);
    assert.doesNotMatch(message, /block if|:amount:|merchant_id/, 'the rule itself is not shown');
    assert.match((await frame().getByTestId('result-failed').textContent()) ?? '', /Nothing was charged/);
    assert.match((await frame().getByTestId('contact-support').getAttribute('href')) ?? '', /^mailto:help@micropay\.example/);
    await tab.screenshot('checkout-13-blocked');
    await assertAccessible('the refusal');
    assert.equal(await paymentStatus('creator', paymentId), 'failed');
    assert.equal(await wallet('EUR'), before);
  });

  test('a keyboard alone can pay: focus starts on the step heading and Tab reaches the Pay button', async () => {
    const paymentId = await shopCheckout(['skin-neon-cape']);
    const frameHandle = tab.page.frames().find((candidate) => candidate.url().includes('/checkout/frame.html'))!;
    await frame().getByTestId('step-heading').focus();
    let focused: string | undefined;
    for (let presses = 0; presses < 10 && focused !== 'pay-button'; presses += 1) {
      await tab.page.keyboard.press('Tab');
      focused = await frameHandle.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid);
    }
    assert.equal(focused, 'pay-button');
    await tab.page.keyboard.press('Enter');
    await frame().getByTestId('result-succeeded').waitFor();
    assert.equal(await paymentStatus('shop', paymentId), 'succeeded');
  });

  test('a second device signs in with a one-time code; the buyer lists their devices and removes it, which signs it out', async () => {
    // The second device: another browser, no passkey on it, so the buyer recovers with a code.
    const other = await openBrowser();
    try {
      const phone = await other.open(`${server.url}/demo/shop`, { viewport: { width: 360, height: 780 } });
      await phone.page.getByTestId('add-coins-100').click();
      await phone.page.getByTestId('cart-checkout').click();
      const otherFrame = phone.page.frameLocator('[data-testid="micropay-frame"]').first();
      await otherFrame.getByTestId('use-code').click();
      await otherFrame.getByTestId('code-address').fill(EMAIL);
      await otherFrame.getByTestId('send-sign-in-code').click();
      await otherFrame.getByTestId('code-input').waitFor();
      const messages = (await (await fetch(`${server.url}/sandbox/messages?to=${encodeURIComponent(EMAIL)}`)).json()) as { data: Array<{ body: string }> };
      await otherFrame.getByTestId('code-input').fill(/\b(\d{6})\b/.exec(messages.data[0]!.body)![1]!);
      await otherFrame.getByTestId('submit-code').click();
      // Signed in: the checkout offers to add a passkey on this device; not now.
      await otherFrame.getByTestId('skip-passkey').click();
      await otherFrame.getByTestId('pay-button').waitFor();
      await phone.screenshot('checkout-14-second-device-360px');

      // On the first device: the list, and the removal.
      await shopCheckout(['skin-neon-cape']);
      await frame().getByTestId('manage-devices').click();
      await frame().getByTestId('devices').waitFor();
      assert.equal(await frame().getByTestId('device').count(), 2);
      assert.equal(await frame().locator('[data-testid="device"][data-current="true"]').count(), 1);
      await tab.screenshot('checkout-15-devices');
      await frame().locator('[data-testid="device"][data-current="false"] button').click();
      await frame().locator('#status[data-tone="success"]').waitFor();
      assert.equal(await frame().getByTestId('device').count(), 1);

      // The removed device is signed out: its next checkout asks it to sign in again.
      await phone.page.reload();
      await phone.page.getByTestId('cart-checkout').click();
      await otherFrame.getByTestId('continue-passkey').waitFor();
    } finally {
      await other.close();
    }
  });

  /** Calls the checkout API from inside the frame, as the frame itself would (its key, its session). */
  async function frameFetch(calls: Array<{ path: string; body: Record<string, unknown>; secretOf?: string }>): Promise<Array<{ status: number; body: Record<string, any> }>> {
    const frameHandle = tab.page.frames().find((candidate) => candidate.url().includes('/checkout/frame.html'))!;
    const params = new URL(frameHandle.url()).searchParams;
    const secrets: Record<string, string> = { [params.get('payment')!]: params.get('client_secret')! };
    for (const call of calls) {
      if (call.secretOf && !secrets[call.secretOf]) {
        const payment = await server.api.call('GET', `/v1/payments/${call.secretOf}`, { key: server.demoKeys!.shop.secret_key });
        secrets[call.secretOf] = payment.json().client_secret;
      }
    }
    return frameHandle.evaluate(
      async ({ calls, pk, secrets, payment }) => {
        const session = localStorage.getItem('micropay.test.session');
        const token = session ? (JSON.parse(session) as { token: string }).token : '';
        const answers = [];
        for (const call of calls) {
          const target = call.secretOf ?? payment;
          const response = await fetch(call.path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${pk}`, 'micropay-buyer-session': token },
            body: JSON.stringify({ ...call.body, client_secret: secrets[target] }),
          });
          answers.push({ status: response.status, body: await response.json() });
        }
        return answers;
      },
      { calls, pk: params.get('pk')!, secrets, payment: params.get('payment')! },
    );
  }
});
