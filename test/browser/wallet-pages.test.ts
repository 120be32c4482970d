/// <reference lib="dom" />
// The wallet's pages in Chromium at a phone's width (360 px), served with a dedicated platform wallet
// key (as WALLET_PUBLISHABLE_KEY sets it): a buyer with purchases at two demo merchants (Pixel Forge and
// Mia Makes, neither the wallet key's merchant) signs up with a passkey, sees the balance and the
// spending chart, tops up through 3-D Secure, filters the history, opens a receipt, gets a refund of the
// Pixel Forge purchase decided at once, opens a ticket on the Mia Makes purchase and reads the
// merchant's answer in the thread, disputes that purchase, sees points and badges, signs another device
// out, then loses the passkey, recovers with a code sent by email, adds a new passkey and removes the
// lost one. axe-core checks the main pages.
// Screenshots: test-results/wallet-pages-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { walletBuilt } from '../../src/server/web-assets.ts';
import type { TestMerchant } from '../support/api.ts';
import { browserTestsSkipped, closePopup, injectAxe, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';

const skip = browserTestsSkipped() || (!walletBuilt() && 'the wallet is not built (npm run build:web)');
const EMAIL = 'lin@example.com';

describe('the wallet pages in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;
  let wallet: TestMerchant;
  let buyerId: string;
  const purchases: { forge: string; mia: string } = { forge: '', mia: '' };

  before(async () => {
    server = await startBrowserApi('pglite', { demo: true });
    wallet = await server.api.createMerchant({ name: 'Micropay Wallet' });
    // What WALLET_PUBLISHABLE_KEY does: /wallet is served with this key, and it reaches every merchant.
    server.api.runtime.config.walletPublishableKey = wallet.publishableKey;
    browser = await openBrowser();
    tab = await browser.open(`${server.url}/wallet`, { viewport: { width: 360, height: 800 } });
  });
  after(async () => {
    if (server) assert.deepEqual((await server.api.runtime.ledger.verify()).drift, []);
    await tab?.close();
    await browser?.close();
    await server?.close();
  });

  /** axe-core (WCAG 2 A and AA, contrast included) over the page as it is now, and no sideways scrolling. */
  async function assertAccessible(step: string): Promise<void> {
    await injectAxe(tab.page);
    const violations = await tab.page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], `accessibility of ${step}`);
    // At 360 px nothing scrolls sideways.
    const widths = await tab.page.evaluate(() => ({ content: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    assert.ok(widths.content <= widths.viewport, `${step} fits ${widths.viewport} px (content ${widths.content} px)`);
  }

  async function latestCode(): Promise<string> {
    const messages = (await (await fetch(`${server.url}/sandbox/messages?to=${encodeURIComponent(EMAIL)}`)).json()) as { data: Array<{ body: string }> };
    const text = messages.data.map((message) => message.body).join('\n');
    const codes = [...text.matchAll(/\b(\d{6})\b/g)];
    assert.ok(codes.length > 0, `a code was sent: ${text}`);
    return messages.data.length > 0 ? /\b(\d{6})\b/.exec(messages.data[0]!.body)?.[1] ?? codes.at(-1)![1]! : codes.at(-1)![1]!;
  }

  test('a new buyer signs up with a passkey at /wallet (served with the platform wallet key)', async () => {
    const page = tab.page;
    assert.equal(await page.locator('meta[name="micropay-publishable-key"]').getAttribute('content'), wallet.publishableKey);
    await page.getByRole('heading', { name: 'Your wallet' }).waitFor();
    await assertAccessible('the sign-in page');
    await page.getByLabel('Email (to recover your wallet)').fill(EMAIL);
    await page.getByLabel('Name (optional)').fill('Lin');
    await page.getByTestId('sign-up').click();
    await page.getByTestId('buyer').waitFor();
    const me = await server.api.runtime.db.query<{ id: string }>('SELECT id FROM buyers WHERE email = $1', [EMAIL]);
    buyerId = me.rows[0]!.id;
  });

  test('with purchases at Pixel Forge and Mia Makes, the balance and the spending chart show', async () => {
    const { shop, creator } = server.demoKeys!;
    // Mia Makes gives points: 1 per 10 cents.
    const program = await server.api.app.inject({ method: 'PUT', url: '/v1/loyalty/program', headers: { authorization: `Bearer ${creator.secret_key}` }, payload: { earn: { per_amount: 10, currency: 'USD', points: 1 } } });
    assert.equal(program.statusCode, 200, program.body);
    for (const [name, merchant, amount, category] of [['forge', shop, 300, 'virtual_good'], ['mia', creator, 200, 'tip']] as const) {
      const customer = await server.api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyerId);
      if (name === 'forge') await server.api.fundWallet({ id: merchant.id } as TestMerchant, customer.id, 1_000n, 'USD');
      const paid = await server.api.call('POST', '/v1/payments', {
        key: merchant.secret_key,
        body: { customer: customer.id, confirm: true, amount, currency: 'USD', description: name === 'forge' ? 'Neon cape' : 'Tip for Friday comic', line_items: [{ description: name === 'forge' ? 'Skin: Neon cape' : 'Tip', category, unit_amount: amount }] },
      });
      assert.equal(paid.json().status, 'succeeded', paid.body);
      purchases[name] = paid.json().id;
    }
    const page = tab.page;
    await page.reload();
    await page.getByTestId('balance-USD').waitFor();
    assert.match((await page.getByTestId('balance-USD').textContent())!, /\$5\.00/);
    await page.getByTestId('spending').getByRole('img', { name: /^Spent and refunded per day/ }).waitFor();
    await page.getByText('Show the figures').click();
    assert.match((await page.getByTestId('spending').textContent())!, /\$5\.00/, "today's spending, $3.00 + $2.00, in the figures");
    await tab.screenshot('wallet-pages-01-balance-360');
    await assertAccessible('the balance page');
  });

  test('a top-up through 3-D Secure in a popup adds to the balance', async () => {
    const page = tab.page;
    await page.getByTestId('nav-top-up').click();
    await page.getByLabel('Amount in USD').fill('10');
    await page.getByLabel('Card number').fill('4000 0000 0000 3220');
    await page.getByLabel('Expiry (MM/YY)').fill('12/35');
    await page.getByLabel('Security code').fill('123');
    await assertAccessible('the top-up form');
    await tab.screenshot('wallet-pages-02-top-up');
    const [issuerPage] = await Promise.all([browser.context.waitForEvent('page'), page.getByTestId('top-up-submit').click()]);
    await page.getByTestId('three-d-secure').waitFor();
    await issuerPage.waitForLoadState();
    await issuerPage.getByRole('button', { name: 'Complete authentication' }).click();
    await closePopup(issuerPage);
    await page.getByTestId('top-up-done').waitFor({ timeout: 15_000 });
    assert.match((await page.getByTestId('top-up-done').textContent())!, /\$10\.00/);
    // The card is saved: the next top-up offers it, chosen by default.
    await page.getByTestId('nav-top-up').click();
    await page.getByRole('radio', { name: /•••• 3220/ }).waitFor();
    assert.equal(await page.getByRole('radio', { name: /•••• 3220/ }).isChecked(), true);
    assert.equal(await page.getByLabel('Card number').count(), 0, 'no card fields for a saved card');
    await assertAccessible('the top-up form with a saved card');
    await page.getByTestId('new-card').check();
    await page.getByLabel('Card number').waitFor();
    await page.getByTestId('nav-overview').click();
    await page.getByTestId('balance-USD').waitFor();
    assert.match((await page.getByTestId('balance-USD').textContent())!, /\$15\.00/);
  });

  test('the history filters by merchant and by category', async () => {
    const page = tab.page;
    await page.getByTestId('nav-history').click();
    await page.getByTestId(`entry-${purchases.mia}`).waitFor();
    await page.getByLabel('Merchant').selectOption({ label: 'Pixel Forge' });
    await page.getByTestId('apply-filters').click();
    await page.getByTestId(`entry-${purchases.mia}`).waitFor({ state: 'detached' });
    await page.getByTestId(`entry-${purchases.forge}`).waitFor();
    await page.getByLabel('Merchant').selectOption('');
    await page.getByLabel('Category').selectOption('tip');
    await page.getByTestId('apply-filters').click();
    await page.getByTestId(`entry-${purchases.forge}`).waitFor({ state: 'detached' });
    await page.getByTestId(`entry-${purchases.mia}`).waitFor();
    await tab.screenshot('wallet-pages-03-history-filtered');
    await assertAccessible('the history');
    await page.getByLabel('Category').selectOption('');
    await page.getByTestId('apply-filters').click();
    await page.getByTestId(`entry-${purchases.forge}`).waitFor();
  });

  test("the Pixel Forge purchase: its receipt, and a refund the automatic policy approves at once", async () => {
    const page = tab.page;
    await page.getByTestId(`entry-${purchases.forge}`).getByRole('link').click();
    await page.getByTestId('purchase').waitFor();
    const receiptUrl = (await page.getByTestId('receipt-link').getAttribute('href'))!;
    const receipt = await browser.context.newPage();
    try {
      assert.equal((await receipt.goto(receiptUrl))?.status(), 200);
      assert.match(await receipt.content(), /Pixel Forge/);
    } finally {
      await receipt.close();
    }
    await page.getByTestId('request-refund').click();
    const notice = page.getByTestId('refund-form').getByTestId('notice');
    await notice.waitFor();
    assert.match((await notice.textContent())!, /Approved at once: \$3\.00 is back in your wallet/);
    const payment = await server.api.call('GET', `/v1/payments/${purchases.forge}`, { key: server.demoKeys!.shop.secret_key });
    assert.equal(payment.json().amount_refunded, 300);
    await tab.screenshot('wallet-pages-04-refund-approved');
    await assertAccessible('the purchase page');
  });

  test('a ticket on the Mia Makes purchase: the merchant answers through its API and the buyer reads the thread', async () => {
    const page = tab.page;
    await page.getByTestId('nav-history').click();
    await page.getByTestId(`entry-${purchases.mia}`).getByRole('link').click();
    await page.getByLabel('Subject').fill('Which comic?');
    await page.getByLabel('Message').fill('Is my tip for the Friday comic?');
    await page.getByTestId('open-ticket').click();
    await page.getByTestId('thread').waitFor();
    assert.equal(await page.getByTestId('ticket-status').textContent(), 'Waiting for the merchant');
    await page.getByTestId('ticket-merchant').getByText('Mia Makes').waitFor();
    const creatorKey = server.demoKeys!.creator.secret_key;
    const tickets = await server.api.call('GET', '/v1/support/tickets', { key: creatorKey });
    const ticket = tickets.json().data.find((one: { payment: string }) => one.payment === purchases.mia);
    assert.ok(ticket, 'the ticket is at Mia Makes');
    const answered = await server.api.call('POST', `/v1/support/tickets/${ticket.id}/messages`, { key: creatorKey, body: { message: 'Yes, thank you so much!' } });
    assert.equal(answered.statusCode, 200, answered.body);
    await page.getByTestId('refresh-thread').click();
    await page.getByTestId('message-merchant').waitFor();
    assert.equal(await page.getByTestId('ticket-status').textContent(), 'Answered');
    await page.getByLabel('Your reply').fill('Great!');
    await page.getByTestId('send-reply').click();
    await page.getByText('Reply sent.').waitFor();
    assert.equal(await page.getByTestId('ticket-status').textContent(), 'Waiting for the merchant');
    await tab.screenshot('wallet-pages-05-ticket-thread');
    await assertAccessible('the ticket thread');
    await page.getByTestId('nav-tickets').click();
    await page.getByTestId(`ticket-${ticket.id}`).waitFor();
  });

  test('the Mia Makes purchase is disputed from the wallet', async () => {
    const page = tab.page;
    await page.getByTestId('nav-history').click();
    await page.getByTestId(`entry-${purchases.mia}`).getByRole('link').click();
    await page.getByText('Dispute this payment').click();
    await page.getByLabel('Reason').selectOption('product_not_received');
    await page.getByLabel('What happened? (optional)').fill('The comic never arrived.');
    await page.getByTestId('open-dispute').click();
    const notice = page.getByTestId('dispute-form').getByTestId('notice');
    await notice.waitFor();
    assert.match((await notice.textContent())!, /Dispute dp_\S+ opened for \$2\.00/);
    const disputes = await server.api.call('GET', `/v1/disputes?payment=${purchases.mia}`, { key: server.demoKeys!.creator.secret_key });
    assert.equal(disputes.json().data.length, 1, disputes.body);
    await assertAccessible('the purchase page with its dispute');
  });

  test('points per merchant and the badges panel', async () => {
    const page = tab.page;
    await page.getByTestId('nav-points').click();
    const mia = page.getByTestId(`points-${server.demoKeys!.creator.id}`);
    await mia.waitFor();
    assert.match((await mia.textContent())!, /Mia Makes20 points/);
    await page.getByTestId('badges-panel').locator('[data-testid="badges"], [data-testid="badges-empty"], [data-testid="badges-error"]').first().waitFor();
    await tab.screenshot('wallet-pages-06-points');
    await assertAccessible('the points page');
  });

  test('another device is signed out from the devices page', async () => {
    // A second device: the buyer signed in elsewhere with a code.
    const sent = await server.api.call('POST', '/v1/buyer/codes', { key: wallet.publishableKey, body: { email: EMAIL } });
    assert.equal(sent.statusCode, 200, sent.body);
    const verified = await server.api.call('POST', '/v1/buyer/codes/verify', {
      key: wallet.publishableKey,
      body: { code_request: sent.json().code_request, code: await latestCode(), device_name: 'Old phone' },
    });
    assert.equal(verified.statusCode, 200, verified.body);
    const otherDevice = verified.json().device.id;
    const page = tab.page;
    await page.getByTestId('nav-devices').click();
    const row = page.getByTestId(`device-${otherDevice}`);
    await row.waitFor();
    await row.getByTestId('revoke-device').click();
    await row.getByText('Signed out').waitFor();
    const stale = await server.api.call('GET', '/v1/buyer/me', { key: wallet.publishableKey, headers: { 'micropay-buyer-session': verified.json().session.token } });
    assert.equal(stale.statusCode, 401, 'the revoked device is signed out at once');
    await tab.screenshot('wallet-pages-07-devices');
    await assertAccessible('the devices page');
  });

  test('the passkey lost: a code by email signs the buyer in, and a new passkey is added', async () => {
    const page = tab.page;
    await tab.cdp.send('WebAuthn.clearCredentials', { authenticatorId: tab.authenticatorId! });
    await page.getByTestId('sign-out').click();
    await page.getByRole('heading', { name: 'Your wallet' }).waitFor();
    await page.getByText('Lost your passkey? Sign in with a code').click();
    await page.getByLabel('The email of your wallet').fill(EMAIL);
    await page.getByTestId('send-code').click();
    await page.getByLabel('Code', { exact: true }).waitFor();
    await page.getByLabel('Code', { exact: true }).fill(await latestCode());
    await tab.screenshot('wallet-pages-08-recovery-code');
    await page.getByTestId('verify-code').click();
    await page.getByTestId('recovery-banner').waitFor();
    await page.getByTestId('recovery-add-passkey').click();
    await page.getByTestId('add-passkey').click();
    await page.getByText('Passkey added.').waitFor();
    assert.equal((await tab.credentials()).length, 1, 'the new passkey is on this device');
    assert.equal(await page.getByTestId('passkeys').getByRole('listitem').count(), 2);
    // The lost passkey (the first) is removed; the new one stays.
    await page.getByRole('button', { name: 'Remove passkey 1' }).click();
    await page.getByText('The passkey is removed.').waitFor();
    assert.equal(await page.getByTestId('passkeys').getByRole('listitem').count(), 1);
    // The new passkey signs in.
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').click();
    await page.getByTestId('buyer').waitFor();
    await tab.screenshot('wallet-pages-09-signed-in-again');
  });
});
