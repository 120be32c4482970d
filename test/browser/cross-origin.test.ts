/// <reference lib="dom" />
// The embeddable checkout on a merchant page of another origin, as merchants will use it: the page is
// served from http://127.0.0.1:<port> and includes checkout.js from Micropay at http://localhost:<port>,
// so the frame is a cross-origin iframe (out of process under site isolation) and passkeys are
// created and used inside it through the iframe's `allow` permissions. The page learns the outcome
// only by the element's DOM events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CDPSession, Frame } from 'playwright-core';
import { browserTestsSkipped, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser } from '../support/browser.ts';

const skip = browserTestsSkipped();

describe('the checkout embedded in a page of another origin', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let merchantSite: Server;
  let merchantOrigin: string;
  let nextPayment: { id: string; secret: string; publishable: string };

  before(async () => {
    server = await startBrowserApi('pglite', { demo: true });
    browser = await openBrowser();
    // The merchant's own site: one page with the checkout for the payment its server just created.
    merchantSite = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><html lang="en"><head><title>Merchant</title>
<script src="${server.url}/checkout/checkout.js"></script></head><body>
<h1>Cross-origin shop</h1><p id="outcome">waiting</p>
<micropay-checkout publishable-key="${nextPayment.publishable}" payment="${nextPayment.id}" client-secret="${nextPayment.secret}"></micropay-checkout>
<script>document.addEventListener('micropay:succeeded', (event) => { document.getElementById('outcome').textContent = 'paid ' + event.detail.payment.id; });</script>
</body></html>`);
    });
    await new Promise<void>((resolve) => merchantSite.listen(0, '127.0.0.1', resolve));
    merchantOrigin = `http://127.0.0.1:${(merchantSite.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => merchantSite?.close(resolve));
    await server?.close();
  });

  async function createPayment(amount: number): Promise<void> {
    const keys = server.demoKeys!.shop;
    const response = await server.api.call('POST', '/v1/payments', {
      key: keys.secret_key,
      body: { amount, currency: 'USD', description: 'Cross-origin item', line_items: [{ description: 'Gem', category: 'virtual_good', unit_amount: amount }] },
    });
    assert.equal(response.statusCode, 200, response.body);
    nextPayment = { id: response.json().id, secret: response.json().client_secret, publishable: keys.publishable_key };
  }

  test('a buyer creates a passkey in the cross-origin frame, tops up, pays, and the page hears of it', async () => {
    await createPayment(50);
    const tab = await browser.open(`${merchantOrigin}/`, { authenticator: false });
    try {
      const frameLocator = tab.page.frameLocator('[data-testid="micropay-frame"]').first();
      await frameLocator.getByTestId('checkout-summary').waitFor();
      const frame: Frame = tab.page.frames().find((candidate) => candidate.url().startsWith(`${server.url}/checkout/frame.html`))!;
      assert.ok(frame, 'the frame is on Micropay\'s origin');
      // Under site isolation the frame is its own target: the authenticator is attached to it.
      const cdp: CDPSession = await browser.context.newCDPSession(frame);
      await cdp.send('WebAuthn.enable', { enableUI: false });
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });

      await frameLocator.getByTestId('create-passkey').click();
      await frameLocator.getByTestId('signup-email').fill('far@example.com');
      await frameLocator.getByTestId('signup-submit').click();
      // This Chromium refuses storage to third-party frames (SecurityError): the frame keeps the
      // session in memory, so the buyer stays signed in while the page is open.
      const storage = await frame.evaluate(() => {
        try {
          localStorage.getItem('probe');
          return 'available';
        } catch (error) {
          return (error as Error).name;
        }
      });
      await frameLocator.getByTestId('pay-button').click();
      await frameLocator.getByTestId('top-up').waitFor();
      await frameLocator.getByTestId('card-number').fill('4242 4242 4242 4242');
      await frameLocator.getByTestId('card-expiry').fill('12/35');
      await frameLocator.getByTestId('card-cvc').fill('123');
      await frameLocator.getByTestId('topup-submit').click();
      await tab.page.locator('#outcome', { hasText: `paid ${nextPayment.id}` }).waitFor();
      await tab.screenshot('cross-origin-paid');
      const payment = await server.api.call('GET', `/v1/payments/${nextPayment.id}`, { key: server.demoKeys!.shop.secret_key });
      assert.equal(payment.json().status, 'succeeded');
      // The merchant page cannot reach into the frame: card data and the session stay on Micropay's origin.
      const peek = await tab.page.evaluate(() => {
        try {
          return String((document.querySelector('iframe') as HTMLIFrameElement).contentWindow!.localStorage.length);
        } catch (error) {
          return (error as Error).name;
        }
      });
      assert.equal(peek, 'SecurityError');
      assert.ok(['available', 'SecurityError'].includes(storage), storage);
    } finally {
      await tab.close();
    }
  });
});
