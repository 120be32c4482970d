// Smoke test of the demo storefronts in Chromium: each page renders, its merchant server creates a
// payment through the SDK and the page opens Micropay's embeddable checkout for it, the merchant's
// webhook endpoint is registered, an article unlocks after a first purchase (passkey sign-up, inline
// top-up), and a delivery with a bad signature is refused and shown as such.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserTestsSkipped, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser } from '../support/browser.ts';

const skip = browserTestsSkipped();

describe('demo storefronts in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;

  before(async () => {
    server = await startBrowserApi('pglite', { demo: true });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('each merchant registered its webhook endpoint and its loyalty program through the SDK', async () => {
    for (const shop of ['news', 'shop', 'creator'] as const) {
      const response = await server.api.call('GET', '/v1/webhook_endpoints', { key: server.demoKeys![shop].secret_key });
      assert.equal(response.statusCode, 200, response.body);
      const urls = response.json().data.map((endpoint: { url: string }) => endpoint.url);
      assert.equal(urls.length, 1);
      assert.match(urls[0], new RegExp(`/demo/webhooks/${shop}$`));
      // and its loyalty program, so that the demo's buyers earn points and badges.
      const program = await server.api.call('GET', '/v1/loyalty/program', { key: server.demoKeys![shop].secret_key });
      assert.equal(program.statusCode, 200, program.body);
      assert.equal(program.json().enabled, true);
    }
  });

  test('the news page opens the checkout for an article payment created without a customer', async () => {
    const tab = await browser.open(`${server.url}/demo/news`);
    try {
      await tab.page.getByRole('heading', { level: 1, name: 'Daily Planet' }).waitFor();
      await tab.page.getByTestId('merchant-side').waitFor();
      await tab.page.getByTestId('buy-micropayments-return').click();
      const frameElement = tab.page.getByTestId('checkout-micropayments-return').locator('iframe');
      await frameElement.waitFor();
      const src = new URL((await frameElement.getAttribute('src'))!);
      assert.equal(src.pathname, '/checkout/frame.html');
      assert.match(src.searchParams.get('pk')!, /^pk_test_/);
      assert.match(src.searchParams.get('payment')!, /^pay_/);
      assert.match(src.searchParams.get('client_secret')!, /^pay_.+_secret_/);
      assert.equal(await frameElement.getAttribute('allow'), 'publickey-credentials-get *; publickey-credentials-create *; payment *');

      // The merchant's payment, as its own secret key sees it: no customer until a buyer pays.
      const payment = await server.api.call('GET', `/v1/payments/${src.searchParams.get('payment')}`, { key: server.demoKeys!.news.secret_key });
      assert.equal(payment.statusCode, 200, payment.body);
      assert.equal(payment.json().customer, null);
      assert.equal(payment.json().amount, 25);
      assert.equal(payment.json().currency, 'USD');

      const frame = tab.page.frameLocator('[data-testid="micropay-frame"]').first();
      await frame.getByTestId('checkout-summary').waitFor();
      assert.equal(await frame.getByTestId('total').textContent(), 'Total$0.25');
      assert.equal(await frame.getByTestId('continue-passkey').textContent(), 'Continue with passkey');
      await tab.screenshot('demo-news-checkout');
      assert.deepEqual(tab.cspViolations(), []);
    } finally {
      await tab.close();
    }
  });

  test('the shop builds a cart and the creator page takes a tip amount, each opening the checkout', async () => {
    const shop = await browser.open(`${server.url}/demo/shop`);
    try {
      await shop.page.getByTestId('add-coins-100').click();
      await shop.page.getByTestId('add-skin-neon-cape').click();
      await shop.page.getByTestId('add-skin-neon-cape').click();
      assert.equal(await shop.page.getByTestId('cart-total').textContent(), '$2.57');
      await shop.page.getByTestId('cart-checkout').click();
      await shop.page.getByTestId('checkout').locator('iframe').waitFor();
      await shop.screenshot('demo-shop-checkout');
      assert.deepEqual(shop.cspViolations(), []);
    } finally {
      await shop.close();
    }
    const creator = await browser.open(`${server.url}/demo/creator`, { viewport: { width: 360, height: 800 } });
    try {
      await creator.page.getByTestId('tip-500').check();
      assert.equal(await creator.page.getByTestId('tip-button').textContent(), 'Tip €5.00');
      await creator.page.getByTestId('tip-button').click();
      await creator.page.getByTestId('checkout').locator('iframe').waitFor();
      await creator.screenshot('demo-creator-checkout-360px');
      assert.deepEqual(creator.cspViolations(), []);
    } finally {
      await creator.close();
    }
  });

  test('a new buyer creates a passkey, tops up inline, pays, and the article unlocks with the signed webhook shown', async () => {
    const tab = await browser.open(`${server.url}/demo/news`);
    try {
      await tab.page.getByTestId('buy-seoul-night-markets').click();
      const frame = tab.page.frameLocator('[data-testid="micropay-frame"]').first();
      await frame.getByTestId('create-passkey').click();
      await frame.getByTestId('signup-email').fill('reader@example.com');
      await frame.getByTestId('signup-submit').click();
      await frame.getByTestId('pay-button').waitFor();
      assert.equal(await frame.getByTestId('pay-button').textContent(), 'Pay ₩300');
      await frame.getByTestId('pay-button').click();
      await frame.getByTestId('top-up').waitFor();
      await frame.getByTestId('card-number').fill('4242 4242 4242 4242');
      await frame.getByTestId('card-expiry').fill('12/30');
      await frame.getByTestId('card-cvc').fill('123');
      await tab.screenshot('demo-news-top-up');
      await frame.getByTestId('topup-submit').click();
      const body = tab.page.getByTestId('article-body-seoul-night-markets');
      await body.waitFor();
      assert.match((await body.textContent())!, /Gwangjang Market are packed/);
      await tab.page.locator('[data-testid="webhook-event"][data-type="payment.succeeded"][data-verified="true"]').first().waitFor();
      await tab.screenshot('demo-news-unlocked');
      assert.deepEqual(tab.cspViolations(), [], 'the storefront and the checkout ran under their Content-Security-Policies');
    } finally {
      await tab.close();
    }
  });

  test('a storefront page runs only its own scripts: an injected inline script is refused', async () => {
    const page = await fetch(`${server.url}/demo/creator`);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const tab = await browser.open(`${server.url}/demo/creator`, { authenticator: false });
    try {
      await tab.page.getByTestId('tip-button').waitFor();
      await tab.page.addScriptTag({ content: 'window.injected = true;' }).catch(() => undefined);
      assert.equal(await tab.page.evaluate(() => (window as unknown as { injected?: boolean }).injected), undefined);
      assert.equal(tab.cspViolations().length, 1, 'the browser reported the refused script');
    } finally {
      await tab.close();
    }
  });

  test('a webhook with a bad signature is refused and shown as refused', async () => {
    const forged = await fetch(`${server.url}/demo/webhooks/news`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
      body: JSON.stringify({ id: 'evt_x', type: 'payment.succeeded', data: { object: { id: 'pay_x' } } }),
    });
    assert.equal(forged.status, 400);
    const tab = await browser.open(`${server.url}/demo/news`, { authenticator: false });
    try {
      await tab.page.locator('[data-testid="webhook-event"][data-verified="false"]').first().waitFor();
    } finally {
      await tab.close();
    }
  });
});
