// The merchant dashboard in Chromium: a merchant with payments, a refund, a dispute, a webhook endpoint
// with deliveries and a buyer's support ticket; the owner signs in with a passkey and walks the overview
// (chart, axe-core), refunds a payment, attaches dispute evidence, creates an API key (secret shown once),
// replays a webhook delivery, edits the loyalty rules and answers the ticket, then reads the audit log of
// what they did (and signs out and in again); an analyst sees no refund button and no audit log, and the
// refund they ask of the API is refused and in the owner's log; the overview at 360 px. Screenshots: test-results/dashboard-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appBuilt } from '../../src/server/web-assets.ts';
import type { TestMerchant } from '../support/api.ts';
import { browserTestsSkipped, injectAxe, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';
import { signUpBuyer, type TestBuyer } from '../support/buyers.ts';
import { auditLogPage, signInStaff } from '../support/staff.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const skip = browserTestsSkipped() || (!appBuilt('dashboard') && 'the dashboard is not built (npm run build:web)');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('the merchant dashboard in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;
  let receiver: WebhookReceiver;
  let merchant: TestMerchant;
  let buyer: TestBuyer;
  let endpointId: string;
  const payments: Record<string, string> = {};
  let disputeId: string;
  let ticketId: string;
  let ownerEmail: string;

  async function pay(customerId: string, amount: number, description: string): Promise<string> {
    const response = await server.api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customerId, amount, currency: 'USD', confirm: true, description } });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().status, 'succeeded', response.body);
    return response.json().id;
  }

  before(async () => {
    server = await startBrowserApi('pglite', { workers: true });
    receiver = await startWebhookReceiver();
    merchant = await server.api.createMerchant({ name: 'Pixel Press', feeBps: 100 });
    const endpoint = await server.api.call('POST', '/v1/webhook_endpoints', { key: merchant.secretKey, body: { url: receiver.url, enabled_events: ['payment.*'] } });
    assert.equal(endpoint.statusCode, 200, endpoint.body);
    endpointId = endpoint.json().id;
    buyer = await signUpBuyer(server.api, merchant.publishableKey);
    const customer = await server.api.runtime.services.customers.findOrCreateForBuyer({ merchantId: merchant.id, livemode: false }, buyer.id);
    await server.api.fundWallet(merchant, customer.id, 100_000n, 'USD');
    payments.photos = await pay(customer.id, 1500, 'Photo pack');
    payments.fonts = await pay(customer.id, 2500, 'Font license');
    payments.stickers = await pay(customer.id, 990, 'Sticker set');
    const refund = await server.api.call('POST', '/v1/refunds', { key: merchant.secretKey, body: { payment: payments.stickers, amount: 200, reason: 'duplicate' } });
    assert.equal(refund.statusCode, 200, refund.body);
    const dispute = await server.api.call('POST', '/v1/disputes', { key: server.api.testOperatorKey, body: { payment: payments.fonts, reason: 'product_not_received', description: 'Never got the files' } });
    assert.equal(dispute.statusCode, 200, dispute.body);
    disputeId = dispute.json().id;
    const ticket = await server.api.call('POST', '/v1/buyer/tickets', {
      key: merchant.publishableKey,
      headers: buyer.headers,
      body: { payment: payments.photos, subject: 'Download link broken', message: 'The zip does not open.' },
    });
    assert.equal(ticket.statusCode, 200, ticket.body);
    ticketId = ticket.json().id;
    await receiver.waitFor(1, 10_000);
    browser = await openBrowser();
    tab = await browser.open(`${server.url}/dashboard`, { viewport: { width: 1200, height: 900 } });
  });
  after(async () => {
    if (server) assert.deepEqual((await server.api.runtime.ledger.verify()).drift, []);
    await tab?.close();
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  /** Runs axe-core (WCAG 2.1 A and AA, contrast included) over the page as it is now. */
  async function assertAccessible(step: string, on: Tab = tab): Promise<void> {
    await injectAxe(on.page);
    const violations = await on.page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], `accessibility of ${step}`);
  }

  const nav = async (section: string) => {
    const page = tab.page;
    const menu = page.getByRole('button', { name: 'Menu' });
    if (await menu.isVisible()) await menu.click();
    await page.getByTestId(`nav-${section}`).click();
  };

  test('the owner signs in and the overview shows the balance and its chart (axe-core finds nothing)', async () => {
    ({ email: ownerEmail } = await signInStaff(tab, server, { app: 'dashboard', merchantId: merchant.id, role: 'owner' }));
    const page = tab.page;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByTestId('balances').getByText('USD available').waitFor();
    const chart = page.getByTestId('balance-chart');
    await chart.locator('[role="img"] svg').first().waitFor();
    assert.match((await chart.textContent())!, /Closing balance per day, USD/);
    // 1500 + 2500 + 990 less 1% fees (15 + 25 + 10 rounded), less the 200 refund and its fee part, less the 2500 held.
    const balance = await server.api.call('GET', '/v1/balance', { key: merchant.secretKey });
    const usd = balance.json().balances.find((entry: { currency: string }) => entry.currency === 'USD');
    const shown = (await page.getByTestId('balances').textContent())!;
    assert.ok(shown.includes(new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(usd.available / 100)), `${shown} shows ${usd.available}`);
    await tab.screenshot('dashboard-overview');
    await assertAccessible('the overview');

    // The live switch shows the merchant's live data, where nothing happened yet, and back.
    await page.getByRole('switch').check();
    await page.getByText('No balance yet: payments will show here.').waitFor();
    await page.getByTestId('balance-chart').getByText('Closing balance per day, USD').waitFor();
    await page.getByRole('switch').uncheck();
    await page.getByTestId('balances').getByText('USD available').waitFor();
  });

  test('the owner opens a payment and refunds part of it', async () => {
    const page = tab.page;
    await nav('payments');
    await page.getByTestId(`payment-${payments.photos}`).click();
    await page.getByTestId('payment-details').waitFor();
    await assertAccessible('a payment');
    await page.getByTestId('refund-open').click();
    await page.getByLabel('Amount (USD)').fill('5.00');
    await page.getByLabel('Reason').selectOption('product_unacceptable');
    await page.getByTestId('refund-submit').click();
    await page.getByTestId('notice').getByText('Refund succeeded').waitFor();
    await page.getByTestId('amount-refunded').getByText('$5.00').waitFor();
    await tab.screenshot('dashboard-payment-refunded');
    const payment = await server.api.call('GET', `/v1/payments/${payments.photos}`, { key: merchant.secretKey });
    assert.equal(payment.json().amount_refunded, 500);
  });

  test('the owner attaches a file to the dispute and submits the evidence', async () => {
    const page = tab.page;
    await nav('disputes');
    await page.getByTestId(`dispute-${disputeId}`).click();
    await page.getByTestId('dispute-details').waitFor();
    await page.getByLabel('File (PNG, JPEG or PDF, up to 2 MiB)').setInputFiles({ name: 'delivery.png', mimeType: 'image/png', buffer: PNG });
    await page.getByTestId('evidence-upload-submit').click();
    await page.getByTestId('evidence-files').getByText('delivery.png').waitFor();
    // The stored file comes back byte for byte, downloaded with the staff session.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'delivery.png' }).click()]);
    assert.equal(download.suggestedFilename(), 'delivery.png');
    assert.deepEqual(readFileSync((await download.path())!), PNG);
    await page.getByLabel('Your account of the purchase').fill('The files were downloaded twice from our CDN.');
    await page.getByTestId('evidence-submit').click();
    await page.getByTestId('dispute-status').getByText('under review').waitFor();
    await assertAccessible('a dispute');
    await tab.screenshot('dashboard-dispute');
    const files = await server.api.call('GET', `/v1/disputes/${disputeId}/evidence_files`, { key: merchant.secretKey });
    assert.deepEqual(files.json().data.map((file: { filename: string; size: number }) => [file.filename, file.size]), [['delivery.png', PNG.length]]);
  });

  test('the owner creates an API key whose secret is shown once', async () => {
    const page = tab.page;
    await nav('api-keys');
    await page.getByLabel('Name').fill('Reporting job');
    await page.getByLabel('Scope').selectOption('read');
    await page.getByTestId('create-key-submit').click();
    const secret = (await page.getByTestId('secret-value').textContent())!.trim();
    assert.match(secret, /^sk_test_/);
    await tab.screenshot('dashboard-api-key');
    await assertAccessible('the API keys with a new secret');
    const works = await server.api.call('GET', '/v1/balance', { key: secret });
    assert.equal(works.statusCode, 200, works.body);
    await page.getByTestId('secret-done').click();
    await page.getByTestId('api-keys').getByText('Reporting job').waitFor();
    assert.equal(await page.getByTestId('secret-once').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is not on the page any more');
  });

  test('the owner opens the endpoint’s delivery log and replays a delivery', async () => {
    const page = tab.page;
    await nav('webhooks');
    await page.getByTestId(`endpoint-${endpointId}`).click();
    const first = page.getByTestId('deliveries').locator('li').first();
    await first.waitFor();
    const before = receiver.received.length;
    await first.getByRole('button', { name: 'Replay' }).click();
    await page.getByTestId('notice').getByText('Replayed').waitFor();
    await receiver.waitFor(before + 1, 10_000);
    await tab.screenshot('dashboard-webhooks');
    // A new signing secret is shown once, and the endpoint signs with it from now on.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const secret = (await page.getByTestId('secret-value').textContent())!.trim();
    assert.match(secret, /^whsec_/);
    await page.getByTestId('secret-done').click();
    assert.equal(await page.getByTestId('secret-once').count(), 0);
    await assertAccessible('the delivery log');
  });

  test('the owner edits the loyalty rules', async () => {
    const page = tab.page;
    await nav('loyalty');
    await page.getByLabel('Every').fill('1.00');
    await page.getByLabel('earns points').fill('10');
    await page.getByLabel('article').fill('2');
    await page.getByLabel('Points expire after (days)').fill('365');
    await page.getByTestId('loyalty-save').click();
    await page.getByTestId('notice').getByText('saved').waitFor();
    const program = await server.api.call('GET', '/v1/loyalty/program', { key: merchant.secretKey });
    assert.equal(program.statusCode, 200, program.body);
    assert.deepEqual(program.json().earn, { per_amount: 100, currency: 'USD', points: 10 });
    assert.equal(program.json().expiry_days, 365);
    assert.equal(program.json().bonus_categories.article, 2);
    await tab.screenshot('dashboard-loyalty');
    await assertAccessible('the loyalty rules');
  });

  test('the owner answers the buyer’s support ticket', async () => {
    const page = tab.page;
    await nav('support');
    await page.getByTestId(`ticket-${ticketId}`).click();
    await page.getByTestId('thread').getByText('The zip does not open.').waitFor();
    await page.getByLabel('Reply to the buyer').fill('Here is a new link: it works now.');
    await page.getByTestId('reply-send').click();
    await page.getByTestId('thread').getByText('Here is a new link: it works now.').waitFor();
    const seen = await server.api.call('GET', `/v1/buyer/tickets/${ticketId}`, { key: merchant.publishableKey, headers: buyer.headers });
    assert.equal(seen.json().status, 'answered', seen.body);
    await tab.screenshot('dashboard-support');
    await assertAccessible('a support ticket');
  });

  test('the owner sets a bank account and pays out', async () => {
    const page = tab.page;
    await nav('payouts');
    await page.getByTestId('payout-settings-edit').click();
    await page.getByLabel('IBAN or account number').fill('DE89 3704 0044 0532 0130 00');
    await page.getByLabel('Account holder').fill('Pixel Press GmbH');
    await page.getByTestId('payout-settings-save').click();
    await page.getByTestId('bank-account').getByText('IBAN ending 3000, Pixel Press GmbH').waitFor();
    // The installation's smallest payout is 10 USD; the balance is a little over 12 by now.
    await page.getByLabel('Amount', { exact: true }).fill('10.00');
    await page.getByRole('button', { name: 'Pay out now' }).click();
    await page.getByTestId('notice').getByText('Payout').waitFor();
    await page.getByTestId('payouts').locator('li').first().waitFor();
    const payouts = await server.api.call('GET', '/v1/payouts', { key: merchant.secretKey });
    assert.equal(payouts.json().data[0].amount, 1000, payouts.body);
    await tab.screenshot('dashboard-payouts');
    await assertAccessible('the payouts');
  });

  test('the owner invites a developer; the link is shown once and emailed', async () => {
    const page = tab.page;
    await nav('team');
    await page.getByLabel('Email').fill('dev@pixel.example');
    await page.getByLabel('Role').selectOption('developer');
    await page.getByRole('button', { name: 'Invite' }).click();
    const link = (await page.getByTestId('secret-value').textContent())!.trim();
    assert.ok(link.startsWith(`${server.url}/dashboard/#invite=`), link);
    assert.equal(await page.getByTestId('notice').textContent(), 'The link was emailed to dev@pixel.example.');
    const outbox = (await (await fetch(`${server.url}/sandbox/messages?to=dev%40pixel.example`)).json()) as { data: Array<{ body: string }> };
    assert.ok(outbox.data[0]!.body.includes(link), 'the development outbox holds the emailed link');
    await page.getByTestId('secret-done').click();
    assert.equal(await page.getByTestId('secret-once').count(), 0);
    await assertAccessible('the team');
  });

  test('the owner reads the audit log: their refund and their sign-in, by person; signing out and in again is recorded', async () => {
    const page = tab.page;
    await nav('audit');
    const { withAction, assertRow, reads } = await auditLogPage(page);
    const refund = withAction('POST /v1/refunds');
    await refund.first().waitFor();
    assert.equal(await refund.count(), 1, 'one refund made through the dashboard (the one in before() used the secret key)');
    await assertRow(refund, { outcome: 'succeeded', email: ownerEmail, role: 'Owner' });
    assert.match((await refund.textContent())!, /IP /);
    // signInStaff enrolled the owner's passkey through the invitation: that was their sign-in.
    const enrolled = withAction('POST /v1/staff/enrollment/verify');
    await enrolled.waitFor();
    await assertRow(enrolled, { outcome: 'succeeded', email: ownerEmail, role: 'Owner' });
    // Reads are not recorded; the changes made earlier in this file are.
    assert.equal(await reads(), 0);
    for (const action of ['POST /v1/api_keys', 'PUT /v1/loyalty/program', 'POST /v1/staff/invitations']) await withAction(action).first().waitFor();
    // The filter offers the people seen (the owner only, so far) and keeps their events.
    await page.getByLabel('Person').selectOption({ label: ownerEmail });
    await refund.first().waitFor();
    await tab.screenshot('dashboard-audit');
    await assertAccessible('the audit log');
    await page.getByLabel('Person').selectOption({ label: 'Everyone' });

    // Signing out and in again (the passkey stays in the tab's authenticator) adds both, newest first.
    await page.locator('.staff-header').getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const actions = async () => (await page.getByTestId('audit-action').allTextContents()).map((text) => text.trim());
    await withAction('POST /v1/staff/sign_in/verify').waitFor();
    const [newest, next] = await actions();
    assert.deepEqual([newest, next], ['POST /v1/staff/sign_in/verify', 'POST /v1/staff/sign_out']);
  });

  test('on a 360 px screen the navigation folds behind a menu and nothing scrolls sideways', async () => {
    const page = tab.page;
    await page.setViewportSize({ width: 360, height: 800 });
    await nav('overview');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByTestId('balance-chart').locator('[role="img"] svg').first().waitFor();
    assert.equal(await page.getByTestId('nav-payments').isVisible(), false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await tab.screenshot('dashboard-phone');
    await assertAccessible('the overview at 360 px');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByTestId('nav-payments').waitFor();
    await tab.screenshot('dashboard-phone-menu');
    await page.getByTestId('nav-payments').click();
    await page.getByTestId(`payment-${payments.stickers}`).waitFor();
    // Every page, and the details with the most in them, fit the width.
    const pages: Array<[string, () => Promise<void>]> = [
      ['payments', async () => undefined],
      ['payment', async () => page.getByTestId(`payment-${payments.photos}`).click().then(() => page.getByTestId('payment-details').waitFor())],
      ['refunds', async () => (await nav('refunds'), page.getByTestId('refunds').locator('li').first().waitFor())],
      ['disputes', async () => (await nav('disputes'), page.getByTestId(`dispute-${disputeId}`).waitFor())],
      ['dispute', async () => page.getByTestId(`dispute-${disputeId}`).click().then(() => page.getByTestId('dispute-details').waitFor())],
      ['payouts', async () => (await nav('payouts'), page.getByTestId('payouts').locator('li').first().waitFor())],
      ['api-keys', async () => (await nav('api-keys'), page.getByTestId('api-keys').locator('li').first().waitFor())],
      ['webhooks', async () => (await nav('webhooks'), page.getByTestId(`endpoint-${endpointId}`).waitFor())],
      ['deliveries', async () => page.getByTestId(`endpoint-${endpointId}`).click().then(() => page.getByTestId('deliveries').locator('li').first().waitFor())],
      ['loyalty', async () => (await nav('loyalty'), page.getByTestId('loyalty-version').waitFor())],
      ['support', async () => (await nav('support'), page.getByLabel('Status').selectOption('')).then(() => page.getByTestId(`ticket-${ticketId}`).waitFor())],
      ['ticket', async () => page.getByTestId(`ticket-${ticketId}`).click().then(() => page.getByTestId('thread').waitFor())],
      ['team', async () => (await nav('team'), page.getByTestId('team').locator('li').first().waitFor())],
      ['audit', async () => (await nav('audit'), page.getByTestId('audit-events').locator('li').first().waitFor())],
    ];
    for (const [name, open] of pages) {
      await open();
      const wider = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(wider <= 0, `the ${name} page is ${wider}px wider than the screen`);
      await tab.screenshot(`dashboard-phone-${name}`);
    }
  });

  test('an analyst sees payments but no refund button and no audit log; their refused refund is in the owner\'s', async () => {
    // A browser of their own: the owner's session stays in the first one's storage.
    const analystBrowser = await openBrowser();
    const analystTab = await analystBrowser.open(`${server.url}/dashboard`, { viewport: { width: 1200, height: 900 } });
    try {
      const analyst = await signInStaff(analystTab, server, { app: 'dashboard', merchantId: merchant.id, role: 'analyst' });
      const page = analystTab.page;
      await page.getByTestId('nav-payments').click();
      await page.getByTestId(`payment-${payments.stickers}`).click();
      await page.getByTestId('payment-details').waitFor();
      await page.getByText('Your role cannot do this (needs refunds:write).').waitFor();
      assert.equal(await page.getByTestId('refund-open').count(), 0);
      assert.equal(await page.getByTestId('nav-api-keys').count(), 0, 'no API keys page for an analyst');
      assert.equal(await page.getByTestId('nav-audit').count(), 0, 'no audit log for an analyst');
      await analystTab.screenshot('dashboard-analyst-payment');
      await page.goto(`${server.url}/dashboard/audit`);
      await page.getByText('Your role (analyst) cannot see this page.').waitFor();
      assert.equal(await page.getByTestId('audit-events').count(), 0);

      // A refund asked of the API with the analyst's session is refused, and the owner's audit log shows it.
      const refused = await page.evaluate(async (payment) => {
        const response = await fetch('/v1/refunds', {
          method: 'POST',
          headers: { authorization: `Bearer ${sessionStorage.getItem('micropay.staff.dashboard.token')}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
          body: JSON.stringify({ payment, amount: 100 }),
        });
        return { status: response.status, code: ((await response.json()) as { error?: { code?: string } }).error?.code };
      }, payments.stickers);
      assert.deepEqual(refused, { status: 403, code: 'staff_permission_missing' });
      // The owner's tab is still on the audit log (the 360 px walk ended there): away and back loads it again.
      await nav('team');
      await nav('audit');
      const log = await auditLogPage(tab.page);
      const row = log.withAction('POST /v1/refunds').filter({ hasText: analyst.email });
      await row.waitFor();
      await log.assertRow(row, { outcome: /^refused\s*403 staff_permission_missing$/, email: analyst.email, role: 'Analyst' });
      // The filter now offers both people; the analyst's events are their sign-in and the refusal.
      await tab.page.getByLabel('Person').selectOption({ label: analyst.email });
      await log.events.getByText(ownerEmail).first().waitFor({ state: 'detached' });
      const actions = (await tab.page.getByTestId('audit-action').allTextContents()).map((text) => text.trim());
      assert.deepEqual(actions, ['POST /v1/refunds', 'POST /v1/staff/enrollment/verify']);
      await tab.screenshot('dashboard-phone-audit-refused');
    } finally {
      await analystTab.close();
      await analystBrowser.close();
    }
  });
});
