// The buyer's wallet in Chromium: sign up with a passkey at /wallet (the key the server injects is the
// demo news merchant's, read from dev-keys.json as in development), a purchase at Daily Planet, then the
// balance, the history with its CSV export, the purchase's receipt, a support ticket and a refund request
// from it, and the devices list, at a phone's width. Screenshots: test-results/wallet-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_KEYS_FILE } from '../../src/server/bootstrap.ts';
import { walletBuilt } from '../../src/server/web-assets.ts';
import type { TestMerchant } from '../support/api.ts';
import { browserTestsSkipped, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';

const skip = browserTestsSkipped() || (!walletBuilt() && 'the wallet is not built (npm run build:web)');

describe('the wallet in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;
  let paymentId: string;

  before(async () => {
    server = await startBrowserApi('pglite', { demo: true });
    const config = server.api.runtime.config;
    // What a development start writes; the wallet's key is the news merchant's from it.
    writeFileSync(join(config.dataDir, DEV_KEYS_FILE), JSON.stringify({ operator_key: server.api.operatorKey, merchant: server.demoKeys!.news, demo: server.demoKeys }));
    browser = await openBrowser();
    tab = await browser.open(`${server.url}/wallet`, { viewport: { width: 360, height: 800 } });
  });
  after(async () => {
    await tab?.close();
    await browser?.close();
    await server?.close();
  });

  test('a new buyer signs up with a passkey in the wallet', async () => {
    const page = tab.page;
    const key = await page.locator('meta[name="micropay-publishable-key"]').getAttribute('content');
    assert.equal(key, server.demoKeys!.news.publishable_key);
    await page.getByRole('heading', { name: 'Your wallet' }).waitFor();
    await tab.screenshot('wallet-sign-in');
    await page.getByLabel('Email (to recover your wallet)').fill('ada@example.com');
    await page.getByLabel('Name (optional)').fill('Ada');
    await page.getByTestId('sign-up').click();
    await page.getByTestId('buyer').waitFor();
    assert.equal(await page.getByTestId('buyer').textContent(), 'Signed in as Ada');
    assert.equal((await tab.credentials()).length, 1);
    await page.getByTestId('balance-empty').waitFor();
  });

  test('after a purchase at Daily Planet the wallet shows the balance and the purchase', async () => {
    const page = tab.page;
    const news = server.demoKeys!.news;
    const stored = await page.evaluate(() => localStorage.getItem('micropay.test.session'));
    const token = (JSON.parse(stored!) as { token: string }).token;
    const me = await server.api.call('GET', '/v1/buyer/me', { key: news.publishable_key, headers: { 'micropay-buyer-session': token } });
    assert.equal(me.statusCode, 200, me.body);
    const customer = await server.api.runtime.services.customers.findOrCreateForBuyer({ merchantId: news.id, livemode: false }, me.json().id);
    await server.api.fundWallet({ id: news.id } as TestMerchant, customer.id, 1000n, 'USD');
    const paid = await server.api.call('POST', '/v1/payments', {
      key: news.secret_key,
      body: {
        customer: customer.id,
        confirm: true,
        amount: 250,
        currency: 'USD',
        description: 'Weekly column',
        line_items: [{ description: 'Article: Rust tips', category: 'article', unit_amount: 250 }],
      },
    });
    assert.equal(paid.statusCode, 200, paid.body);
    assert.equal(paid.json().status, 'succeeded', paid.body);
    paymentId = paid.json().id;

    await page.reload();
    await page.getByTestId('balance-USD').waitFor();
    assert.match((await page.getByTestId('balance-USD').textContent())!, /\$7\.50/);
    await page.getByTestId(`entry-${paymentId}`).waitFor();
    await tab.screenshot('wallet-balance');
  });

  test('the history lists the purchase, filters it and exports it as CSV', async () => {
    const page = tab.page;
    await page.getByTestId('nav-history').click();
    await page.getByRole('heading', { name: 'History' }).waitFor();
    await page.getByTestId(`entry-${paymentId}`).waitFor();
    await page.getByLabel('Type').selectOption('top_up');
    await page.getByTestId('apply-filters').click();
    await page.getByTestId('history-empty').waitFor();
    await page.getByLabel('Type').selectOption('payment');
    await page.getByLabel('Search').fill('rust tips');
    await page.getByTestId('apply-filters').click();
    await page.getByTestId(`entry-${paymentId}`).waitFor();
    await tab.screenshot('wallet-history');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    assert.equal(download.suggestedFilename(), 'micropay-history.csv');
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(path, 'utf8');
    assert.match(csv, /^id,created,type,/);
    assert.match(csv, new RegExp(`${paymentId},.*,payment,.*Daily Planet,Weekly column,article,succeeded,USD,2.50,250`));
  });

  test('the purchase links to its receipt and takes a support ticket and a refund request', async () => {
    const page = tab.page;
    await page.getByTestId(`entry-${paymentId}`).getByRole('link').click();
    await page.getByTestId('purchase').waitFor();
    const receiptLink = page.getByTestId('receipt-link');
    await receiptLink.waitFor();
    const receiptUrl = (await receiptLink.getAttribute('href'))!;
    assert.match(receiptUrl, /\/receipts\/rct_/);
    const receipt = await browser.context.newPage();
    try {
      const response = await receipt.goto(receiptUrl);
      assert.equal(response?.status(), 200);
      assert.match(await receipt.content(), /Daily Planet/);
    } finally {
      await receipt.close();
    }

    await page.getByLabel('Subject').fill('Article cut off');
    await page.getByLabel('Message').fill('The last paragraph is missing.');
    await page.getByTestId('open-ticket').click();
    // The new ticket's thread opens; back to the purchase for the refund request.
    await page.getByTestId('thread').waitFor();
    await page.goBack();
    await page.getByTestId('refund-form').waitFor();
    const tickets = await server.api.call('GET', '/v1/support/tickets', { key: server.demoKeys!.news.secret_key });
    assert.equal(tickets.statusCode, 200, tickets.body);
    assert.deepEqual(tickets.json().data.map((ticket: { payment: string; subject: string }) => [ticket.payment, ticket.subject]), [[paymentId, 'Article cut off']]);

    await page.getByLabel(/^Amount in USD/).fill('1.00');
    await page.getByTestId('request-refund').click();
    const notice = page.getByTestId('refund-form').getByTestId('notice');
    await notice.waitFor();
    assert.match((await notice.textContent())!, /\$1\.00/);
    const refunds = await server.api.call('GET', `/v1/refunds?payment=${paymentId}`, { key: server.demoKeys!.news.secret_key });
    assert.equal(refunds.statusCode, 200, refunds.body);
    assert.equal(refunds.json().data.length, 1);
    assert.equal(refunds.json().data[0].amount, 100);
    await tab.screenshot('wallet-purchase');
  });

  test('the devices page shows this browser as the current device and its passkey', async () => {
    const page = tab.page;
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('current-device').waitFor();
    assert.match((await page.getByTestId('devices').textContent())!, /Chrome on Linux \(this device\)/);
    assert.equal(await page.getByTestId('passkeys').getByRole('listitem').count(), 1);
    await tab.screenshot('wallet-devices');
  });
});
