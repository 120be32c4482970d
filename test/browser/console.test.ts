// The operator console in Chromium: the risk engine (on) decides real payments of a merchant under
// console rules (allowed, challenged, held for review, blocked), spread over the last days; a dispute
// with the merchant's evidence (text, link, a file) waits. The operator's admin signs in with a passkey
// and walks the overview (charts, axe-core), approves a review with a note, edits a rule (back-test,
// then save), downloads the evidence file and decides the dispute, looks at the merchants and the
// ledger's health, then reads the audit log of what they did; the console at 360 px; a viewer sees no
// approve button and no audit log.
// Screenshots: test-results/console-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appBuilt } from '../../src/server/web-assets.ts';
import type { TestMerchant } from '../support/api.ts';
import { browserTestsSkipped, injectAxe, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';
import { newCustomer } from '../support/refund-fixtures.ts';
import { auditLogPage, signInStaff } from '../support/staff.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const skip = browserTestsSkipped() || (!appBuilt('console') && 'the console is not built (npm run build:web)');

describe('the operator console in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let tab: Tab;
  let merchant: TestMerchant;
  const reviewIds: string[] = [];
  const heldPayments: string[] = [];
  /** The payments made in `before`, by amount (the blocked one has none). */
  const paymentOf: Record<number, string> = {};
  let disputeId: string;
  let decisionsTotal = 0;
  let adminEmail: string;

  const operator = (method: 'GET' | 'POST' | 'PUT', url: string, body?: object) =>
    server.api.app.inject({ method, url, headers: { authorization: `Bearer ${server.api.operatorKey}` }, ...(body ? { payload: body } : {}) });

  before(async () => {
    server = await startBrowserApi('pglite', { env: { MICROPAY_RISK_ENGINE: 'on', RISK_RELOAD_INTERVAL_MS: '0' } });
    merchant = await server.api.createMerchant({ name: 'Pixel Press', feeBps: 100 });
    await server.api.createMerchant({ name: 'Night Owl Radio' });
    const here = `:merchant_id: = '${merchant.id}'`;
    for (const [id, source, description] of [
      ['console_block', `block if :amount: > 5000 and ${here}`, 'Very large payments at Pixel Press'],
      ['console_review', `review if :amount: > 1000 and ${here}`, 'Large payments at Pixel Press'],
      ['console_challenge', `challenge if :amount: = 650 and ${here}`, 'A step-up for one price at Pixel Press'],
    ]) {
      const saved = await operator('PUT', `/v1/risk/rules/${id}`, { source, mode: 'live', description });
      assert.equal(saved.statusCode, 200, saved.body);
    }
    const { customerId } = await newCustomer(server.api, merchant);
    await server.api.fundWallet(merchant, customerId, 200_000n, 'USD');
    const made: Array<{ id: string; status: string; amount: number }> = [];
    for (const amount of [300, 450, 800, 120, 990, 2500, 1800, 7000, 650, 200]) {
      const response = await server.api.call('POST', '/v1/payments', { key: merchant.secretKey, body: { customer: customerId, amount, currency: 'USD', confirm: true, description: `Order of ${amount}` } });
      assert.ok([200, 402].includes(response.statusCode), response.body);
      made.push(response.statusCode === 200 ? response.json() : { id: '', status: 'blocked', amount });
      decisionsTotal += 1;
    }
    // The challenged payment's passkey confirmation failed at the checkout and was never passed: fraud, caught.
    const challenged = made.find((payment) => payment.status === 'requires_action')!;
    await server.api.runtime.db.query(
      `INSERT INTO checkout_authentications (payment_id, buyer_id, livemode, currency, amount, method, outcome)
       SELECT id, buyer_id, livemode, currency, amount, 'passkey', 'failed' FROM payments WHERE id = $1`,
      [challenged.id],
    );
    for (const payment of made) if (payment.id) paymentOf[payment.amount] = payment.id;
    heldPayments.push(...made.filter((payment) => payment.status === 'processing').map((payment) => payment.id));
    assert.equal(heldPayments.length, 2);
    const reviews = (await operator('GET', '/v1/risk/reviews?status=open')).json().data as Array<{ id: string; subject: string }>;
    for (const paymentId of heldPayments) reviewIds.push(reviews.find((review) => review.subject === paymentId)!.id);
    // Spread the decisions over the last five days, so that the charts have a shape.
    await server.api.runtime.db.query(`UPDATE risk_decisions SET created_at = created_at - (seq % 5) * interval '1 day' WHERE subject_id <> ALL($1)`, [heldPayments]);

    const disputed = made.find((payment) => payment.status === 'succeeded')!.id;
    // The test payment's dispute, opened with the operator's test-mode key (the operator acts in its key's mode).
    const dispute = await server.api.app.inject({ method: 'POST', url: '/v1/disputes', headers: { authorization: `Bearer ${server.api.testOperatorKey}` }, payload: { payment: disputed, reason: 'product_not_received', description: 'The prints never arrived.' } });
    assert.equal(dispute.statusCode, 200, dispute.body);
    disputeId = dispute.json().id;
    const attached = await server.api.call('POST', `/v1/disputes/${disputeId}/evidence_files`, { key: merchant.secretKey, body: { filename: 'receipt.png', content_type: 'image/png', data: PNG.toString('base64') } });
    assert.equal(attached.statusCode, 200, attached.body);
    const evidence = await server.api.call('POST', `/v1/disputes/${disputeId}/evidence`, { key: merchant.secretKey, body: { text: 'Tracked parcel, delivered on Monday.', uris: ['https://pixel.example/tracking/1'] } });
    assert.equal(evidence.statusCode, 200, evidence.body);

    browser = await openBrowser();
    tab = await browser.open(`${server.url}/console`, { viewport: { width: 1200, height: 900 } });
    tab.page.on('dialog', (dialog) => void dialog.accept());
  });
  after(async () => {
    if (server) assert.deepEqual((await server.api.runtime.ledger.verify()).drift, []);
    await tab?.close();
    await browser?.close();
    await server?.close();
  });

  const nav = async (section: string, page = tab.page) => {
    const menu = page.getByRole('button', { name: 'Menu' });
    if (await menu.isVisible()) await menu.click();
    await page.getByTestId(`nav-${section}`).click();
  };

  test('the admin signs in; the overview charts decisions, challenge rate and fraud caught (axe-core finds nothing)', async () => {
    ({ email: adminEmail } = await signInStaff(tab, server, { app: 'console', merchantId: null, role: 'admin' }));
    const page = tab.page;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const charts = page.getByTestId('charts');
    await charts.locator('[role="img"] svg').nth(2).waitFor();
    const text = (await charts.textContent())!;
    for (const title of ['Decisions per day', 'Challenge rate', 'Fraud caught']) assert.ok(text.includes(title), `${title} in ${text}`);
    assert.equal((await page.getByTestId('total-decisions').textContent())!.trim(), String(decisionsTotal));
    assert.equal((await page.getByTestId('open-reviews').textContent())!.trim(), '2');
    assert.match((await page.getByTestId('totals').textContent())!, /1 challenged/);
    assert.match((await page.getByTestId('totals').textContent())!, /\$6\.50 of \$6\.50 labelled fraud/);
    await tab.screenshot('console-overview');

    await injectAxe(page);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], 'accessibility of the overview');
  });

  test('the admin claims a review, reads why it was held, and approves it with a note', async () => {
    const page = tab.page;
    await nav('reviews');
    await page.getByTestId(`review-${reviewIds[0]}`).click();
    await page.getByTestId('reasons').getByText('rule:console_review').waitFor();
    await page.getByTestId('claim').click();
    await page.getByTestId('review-state').getByText('claimed').waitFor();
    await page.getByTestId('review-note').fill('Known customer, order confirmed by phone.');
    await page.getByTestId('approve').click();
    await page.getByTestId('review-state').getByText('approved').waitFor();
    await tab.screenshot('console-review');
    const review = (await operator('GET', `/v1/risk/reviews/${reviewIds[0]}`)).json();
    assert.equal(review.status, 'approved');
    assert.equal(review.note, 'Known customer, order confirmed by phone.');
    const payment = await server.api.call('GET', `/v1/payments/${heldPayments[0]}`, { key: merchant.secretKey });
    assert.equal(payment.json().status, 'succeeded', payment.body);
  });

  test('the admin edits a rule: the back-test runs on the new text before it can be saved', async () => {
    const page = tab.page;
    await nav('rules');
    await page.getByTestId('rule-console_review').click();
    const source = page.getByTestId('rule-source');
    await source.waitFor();
    const newSource = `review if :amount: > 2000 and :merchant_id: = '${merchant.id}'`;
    await source.fill(newSource);
    assert.equal(await page.getByTestId('save-rule').isDisabled(), true, 'no save before a back-test');
    await page.getByTestId('run-backtest').click();
    // Of the recorded decisions, only the 2500 and 7000 payments are above 2000 at this merchant.
    await page.getByTestId('backtest-matched').getByText('2', { exact: true }).waitFor();
    await tab.screenshot('console-rule-backtest');
    await page.getByTestId('save-rule').click();
    await page.getByTestId('notice').getByText('Saved console_review as version 2.').waitFor();
    await page.getByTestId('versions').getByText('v2').waitFor();
    const rule = (await operator('GET', '/v1/risk/rules/console_review')).json();
    assert.equal(rule.version, 2);
    assert.equal(rule.source, newSource);
    assert.equal(rule.description, 'Large payments at Pixel Press');
  });

  test('the admin reads the evidence and decides the dispute for the merchant', async () => {
    const page = tab.page;
    await nav('disputes');
    const card = page.getByTestId(`dispute-${disputeId}`);
    await card.getByTestId('evidence').getByText('Tracked parcel, delivered on Monday.').waitFor();
    await tab.screenshot('console-disputes');
    const [download] = await Promise.all([page.waitForEvent('download'), card.getByTestId('evidence-files').getByRole('button', { name: 'receipt.png' }).click()]);
    assert.equal(download.suggestedFilename(), 'receipt.png');
    const saved = await download.path();
    assert.deepEqual(readFileSync(saved), PNG, 'the file downloads byte for byte');
    await card.getByTestId('decide-won').click();
    await page.getByTestId('notice').getByText(`Dispute ${disputeId} decided.`).waitFor();
    assert.equal((await operator('GET', '/v1/disputes?status=won')).statusCode, 200);
    const decided = await server.api.call('GET', `/v1/disputes/${disputeId}`, { key: merchant.secretKey });
    assert.equal(decided.json().status, 'won', decided.body);
  });

  test('the admin looks at the merchants and one merchant, with its volume of the last 30 days', async () => {
    const page = tab.page;
    // 200 of the 800 payment goes back to the buyer, so that the card has a refund to show.
    const refund = await server.api.call('POST', '/v1/refunds', { key: merchant.secretKey, body: { payment: paymentOf[800], amount: 200 } });
    assert.equal(refund.statusCode, 200, refund.body);
    await nav('merchants');
    await page.getByTestId('merchants').getByText('Night Owl Radio').waitFor();
    await page.getByTestId(`merchant-${merchant.id}`).click();
    await page.getByTestId('merchant').getByText('1.00%').waitFor();
    await page.getByRole('heading', { name: 'Pixel Press' }).waitFor();
    await tab.screenshot('console-merchant');

    // Captured today: 300, 450, 800, 120, 990 and 200, and the 2500 held then approved; the 1800 is still
    // held, the 650 waits for its step-up, the 7000 was blocked (failed). Fees at 1%, each rounded half up:
    // 3 + 5 + 8 + 1 + 10 + 2 + 25. Refunded: the 200 above (the disputed 300 was decided for the merchant).
    const card = page.getByTestId('merchant-volume').getByTestId('volume-USD');
    await card.getByRole('heading', { name: 'Volume, last 30 days, USD' }).waitFor();
    const total = async (figure: string) => (await card.getByTestId(`volume-${figure}`).textContent())!.trim();
    assert.deepEqual(
      { payments: await total('payments'), volume: await total('volume'), refunded: await total('refunded'), fees: await total('fees'), failed: await total('failed') },
      { payments: '7', volume: '$53.60', refunded: '$2.00', fees: '$0.54', failed: '1' },
    );
    assert.equal(await page.getByTestId('merchant-volume').locator('section').count(), 1, 'one currency');
    await card.locator('[role="img"] svg').first().waitFor();
    // The figures under the chart: today (the last row) holds the whole window.
    await card.getByText('Show the figures').click();
    const rows = card.locator('.mp-chart-table tbody tr');
    assert.equal(await rows.count(), 30);
    assert.deepEqual(await rows.last().locator('td').allTextContents(), ['$53.60', '$2.00', '$0.54']);
    await tab.screenshot('console-merchant-volume');

    await page.getByRole('link', { name: '← Merchants' }).click();
    await page.getByTestId('merchants').getByText('Night Owl Radio').click();
    await page.getByTestId('volume-empty').getByText('No payments in the last 30 days.').waitFor();
  });

  test('ledger health shows a balanced ledger and the totals per asset', async () => {
    const page = tab.page;
    await nav('ledger');
    await page.getByTestId('ledger-verdict').getByText('Balanced').waitFor();
    const usd = page.getByTestId('asset-USD');
    await usd.getByText('balanced').waitFor();
    const health = (await operator('GET', '/v1/ledger/health')).json();
    const expected = health.assets.find((asset: { asset: string }) => asset.asset === 'USD');
    assert.ok((await usd.textContent())!.includes(BigInt(expected.debits_posted).toLocaleString('en-US')));
    await tab.screenshot('console-ledger');
  });

  test('the admin reads the audit log: the review they approved, the rule they saved, the dispute they decided', async () => {
    const page = tab.page;
    await nav('audit');
    const { withAction, assertRow, reads } = await auditLogPage(page);
    const approval = withAction('POST /v1/risk/reviews/:id/approve');
    await approval.waitFor();
    await assertRow(approval, { outcome: 'succeeded', email: adminEmail, role: 'Admin' });
    assert.ok((await approval.textContent())!.includes(`/v1/risk/reviews/${reviewIds[0]}/approve`), 'the path names the review');
    for (const action of ['POST /v1/risk/reviews/:id/claim', 'PUT /v1/risk/rules/:id', 'POST /v1/disputes/:id/decide', 'POST /v1/staff/enrollment/verify']) await withAction(action).waitFor();
    assert.equal(await reads(), 0, 'reads are not recorded');
    await tab.screenshot('console-audit');
  });

  test('on a 360 px screen the navigation folds behind a menu and nothing scrolls sideways', async () => {
    const page = tab.page;
    const assertNoSidewaysScroll = async (what: string) => {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the screen`);
    };
    await page.setViewportSize({ width: 360, height: 800 });
    for (const section of ['overview', 'reviews', 'rules', 'disputes', 'merchants', 'ledger', 'audit']) {
      await nav(section);
      await page.getByRole('heading', { level: 1 }).waitFor();
      if (section === 'overview') await page.getByTestId('charts').locator('[role="img"] svg').first().waitFor();
      if (section === 'ledger') await page.getByTestId('asset-USD').waitFor();
      if (section === 'audit') await page.getByTestId('audit-events').locator('li').first().waitFor();
      assert.equal(await page.getByTestId('nav-rules').isVisible(), false, `the menu is folded on ${section}`);
      await assertNoSidewaysScroll(section);
      if (section === 'overview' || section === 'ledger') await tab.screenshot(`console-phone-${section}`);
    }
    // One merchant: its details, the volume card and its chart.
    await nav('merchants');
    await page.getByTestId(`merchant-${merchant.id}`).click();
    await page.getByTestId('volume-USD').locator('[role="img"] svg').first().waitFor();
    await assertNoSidewaysScroll('a merchant');
    await tab.screenshot('console-phone-merchant');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByTestId('nav-reviews').waitFor();
    await tab.screenshot('console-phone-menu');
  });

  test('a viewer sees the review queue but no approve button', async () => {
    const viewerBrowser = await openBrowser();
    try {
      const viewerTab = await viewerBrowser.open(`${server.url}/console`, { viewport: { width: 1200, height: 900 } });
      await signInStaff(viewerTab, server, { app: 'console', merchantId: null, role: 'viewer' });
      const page = viewerTab.page;
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await nav('reviews', page);
      await page.getByTestId(`review-${reviewIds[1]}`).click();
      await page.getByTestId('reasons').getByText('rule:console_review').waitFor();
      await page.getByTestId('no-permission').waitFor();
      assert.equal(await page.getByTestId('approve').count(), 0);
      assert.equal(await page.getByTestId('reject').count(), 0);
      await nav('rules', page);
      await page.getByTestId('rule-console_block').waitFor();
      assert.equal(await page.getByTestId('new-rule').count(), 0);
      assert.equal(await page.getByTestId('nav-audit').count(), 0, 'no audit log for a viewer');
      await viewerTab.screenshot('console-viewer-review');
    } finally {
      await viewerBrowser.close();
    }
  });
});
