/// <reference lib="dom" />
// Loyalty points at the checkout in Chromium: a buyer who signed up in the checkout and earned points
// at the demo news merchant sees "Use N points (−$0.12)" before the pay button, checks it, sees the
// money left to pay on the button, and pays; the payment shows what points paid. Screenshots under
// test-results/checkout-points-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameLocator } from 'playwright-core';
import { browserTestsSkipped, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';

const skip = browserTestsSkipped();

describe('points at the checkout in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;

  before(async () => {
    server = await startBrowserApi('pglite', { demo: true, env: { CHECKOUT_EXEMPTIONS: 'USD:1000:100000:100' } });
    const news = server.demoKeys!.news;
    const put = await server.api.app.inject({
      method: 'PUT',
      url: '/v1/loyalty/program',
      headers: { authorization: `Bearer ${news.secret_key}` },
      payload: { earn: { per_amount: 1, currency: 'USD', points: 1 }, redemption: { value_minor_per_point: { USD: 1 }, minimum_points: 1, max_share_percent: 50 } },
    });
    assert.equal(put.statusCode, 200, put.body);
    browser = await openBrowser();
    tab = await browser.open(`${server.url}/demo/news`);
  });
  after(async () => {
    if (server) assert.deepEqual((await server.api.runtime.ledger.verify()).drift, []);
    await browser?.close();
    await server?.close();
  });

  const frame = (): FrameLocator => tab.page.frameLocator('[data-testid="micropay-frame"]').first();

  test('the buyer uses points for part of a payment with one checkbox', async () => {
    const news = server.demoKeys!.news;
    await tab.page.getByTestId('buy-micropayments-return').click();
    await frame().getByTestId('create-passkey').click();
    await frame().getByTestId('signup-email').fill('points@example.com');
    await frame().getByTestId('signup-submit').click();
    await frame().getByTestId('pay-button').waitFor();
    // No points yet: no offer.
    assert.equal(await frame().getByTestId('use-points').count(), 0);
    // The buyer earns 100 points on a $1.00 payment made elsewhere (the merchant's API).
    const { rows } = await server.api.runtime.db.query<{ id: string }>('SELECT id FROM buyers WHERE email = $1', ['points@example.com']);
    const customer = await server.api.runtime.services.customers.findOrCreateForBuyer({ merchantId: news.id, livemode: false }, rows[0]!.id);
    await server.api.fundWallet({ id: news.id, secretKey: news.secret_key, publishableKey: news.publishable_key, readKey: '', liveSecretKey: '' }, customer.id, 1000n, 'USD');
    const earned = await server.api.call('POST', '/v1/payments', { key: news.secret_key, body: { customer: customer.id, amount: 100, currency: 'USD', confirm: true } });
    assert.equal(earned.json().status, 'succeeded', earned.body);
    // A fresh checkout shows the offer: at most half of $0.25 in points.
    await tab.page.reload();
    await tab.page.getByTestId('buy-micropayments-return').click();
    const offer = frame().getByTestId('use-points');
    await offer.waitFor();
    assert.equal(await frame().locator('label[for]', { hasText: 'Use 12 points' }).textContent(), 'Use 12 points (−$0.12)');
    assert.equal(await frame().getByTestId('pay-button').textContent(), 'Pay $0.25');
    await offer.check();
    assert.equal(await frame().getByTestId('pay-button').textContent(), 'Pay $0.13');
    await tab.screenshot('checkout-points-01-offer');
    const src = await tab.page.locator('[data-testid="micropay-frame"]').first().getAttribute('src');
    const paymentId = new URL(src!).searchParams.get('payment')!;
    await frame().getByTestId('pay-button').click();
    // The storefront unlocks the article once its server sees the payment succeeded.
    await tab.page.getByTestId('article-body-micropayments-return').waitFor({ timeout: 15_000 });
    await tab.screenshot('checkout-points-02-paid');
    const payment = (await server.api.call('GET', `/v1/payments/${paymentId}`, { key: news.secret_key })).json();
    assert.equal(payment.status, 'succeeded');
    assert.equal(payment.points_redeemed, 12);
    assert.equal(payment.amount_paid_in_points, 12);
    assert.equal(payment.amount_captured, 13);
  });
});
