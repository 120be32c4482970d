// Staff sign-in in Chromium, for both apps: an invitation link opens the enrollment, a passkey is
// registered with the virtual authenticator and the app's shell shows; sign-out, and sign-in again with
// the same passkey; the test/live switch; a used link and a failed passkey read as sentences; an
// operator's passkey on the dashboard is sent to the console; the shell at 360 px; the Passkeys page
// (the last passkey kept, a second one added from another authenticator, the first revoked, sign-in with
// the new one). Screenshots: test-results/staff-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appBuilt } from '../../src/server/web-assets.ts';
import type { TestMerchant } from '../support/api.ts';
import { browserTestsSkipped, injectAxe, openBrowser, startBrowserApi, type BrowserApi, type OpenBrowser, type Tab } from '../support/browser.ts';
import { signInStaff } from '../support/staff.ts';


/** WCAG 2.1 A and AA violations axe-core finds on the page, as `rule: targets`. */
async function accessibilityViolations(tab: Tab): Promise<string[]> {
  await injectAxe(tab.page);
  return tab.page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  });
}

const skip = browserTestsSkipped()
  || (!appBuilt('dashboard') && 'the dashboard is not built (npm run build:web)')
  || (!appBuilt('console') && 'the console is not built (npm run build:web)');

describe('staff sign-in in the browser', { skip }, () => {
  let server: BrowserApi;
  let browser: OpenBrowser;
  let merchant: TestMerchant;

  before(async () => {
    server = await startBrowserApi('pglite', { workers: false });
    merchant = await server.api.createMerchant({ name: 'Pixel Press' });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const header = (tab: Tab) => tab.page.locator('.staff-header');

  async function assertNoSidewaysScroll(tab: Tab): Promise<void> {
    const overflow = await tab.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  }

  async function signOutAndBackIn(tab: Tab, email: string): Promise<void> {
    const page = tab.page;
    await header(tab).getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').getByText('You are signed out.').waitFor();
    assert.equal(await header(tab).count(), 0);
    // The heading of the sign-in has the focus.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await header(tab).getByText(email).waitFor();
  }

  test('an invited owner registers a passkey, sees the dashboard, signs out and in again', async () => {
    const tab = await browser.open(`${server.url}/dashboard`);
    const page = tab.page;
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await tab.screenshot('staff-dashboard-sign-in');
    assert.deepEqual(await accessibilityViolations(tab), [], 'accessibility of the sign-in');

    const { email, url } = await signInStaff(tab, server, { app: 'dashboard', merchantId: merchant.id, role: 'owner', email: 'olive@pixel.example' });
    assert.equal(email, 'olive@pixel.example');
    // The token left the address bar (and the history) once read.
    assert.ok(!page.url().includes('#invite'), page.url());
    await header(tab).getByText('Owner').waitFor();
    assert.equal((await tab.credentials()).length, 1);
    await tab.screenshot('staff-dashboard-signed-in');

    // The test/live switch: live shows a warning banner and sends Micropay-Livemode: true.
    const live = page.waitForRequest((request) => request.url().includes('/v1/') && request.headers()['micropay-livemode'] === 'true');
    await header(tab).getByRole('switch').check();
    await page.getByText('You are looking at live data').waitFor();
    await live;
    await header(tab).getByRole('switch').uncheck();
    assert.equal(await page.getByText('You are looking at live data').count(), 0);

    await signOutAndBackIn(tab, email);
    assert.equal((await tab.credentials()).length, 1, 'the same passkey signed in again');

    // A used invitation link says so in words.
    await page.goto(url);
    await page.getByRole('alert').getByText(/not valid any more/).waitFor();
    await tab.screenshot('staff-dashboard-used-invitation');
    assert.deepEqual(await accessibilityViolations(tab), [], 'accessibility of the invitation page with an error');

    // At 360 px nothing overflows sideways.
    await page.goto(`${server.url}/dashboard`);
    await page.setViewportSize({ width: 360, height: 740 });
    await header(tab).getByText(email).waitFor();
    await assertNoSidewaysScroll(tab);
    await tab.screenshot('staff-dashboard-360');
    await tab.close();
  });

  test('an invited operator admin registers a passkey on the console, signs out and in again', async () => {
    const tab = await browser.open(`${server.url}/console`);
    const { email } = await signInStaff(tab, server, { app: 'console', merchantId: null, role: 'admin' });
    await header(tab).getByText('Admin').waitFor();
    await tab.screenshot('staff-console-signed-in');
    await signOutAndBackIn(tab, email);

    // The operator's passkey on the dashboard: sent to the console, not signed in there.
    const page = tab.page;
    await page.goto(`${server.url}/dashboard`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('status').getByText(/signs in to the operator console at \/console/).waitFor();
    assert.equal(await header(tab).count(), 0);

    // A passkey that fails user verification: the error reads as a sentence, and the button works again.
    await tab.setUserVerified(false);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /passkey/i);
    await tab.screenshot('staff-sign-in-error');
    await tab.close();
  });

  test('an owner keeps their last passkey, adds one from a second authenticator, revokes the first and signs in with the new one', async () => {
    const tab = await browser.open(`${server.url}/dashboard`);
    const page = tab.page;
    const { email } = await signInStaff(tab, server, { app: 'dashboard', merchantId: merchant.id, role: 'owner', email: 'paul@pixel.example' });
    const first = tab.authenticatorId!;
    page.on('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('nav-passkeys').click();
    await page.getByRole('heading', { name: 'Your passkeys' }).waitFor();
    const rows = page.getByTestId('passkeys').locator('li');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    const firstRow = await rows.first().getAttribute('data-testid');
    await tab.screenshot('staff-passkeys-one');

    // The last passkey cannot be revoked: the API's refusal reads on the page, the passkey stays.
    await rows.first().getByRole('button', { name: /^Revoke/ }).click();
    await page.getByRole('alert').getByText('You cannot revoke your last passkey: add another one first.').waitFor();
    assert.equal(await rows.count(), 1);
    await tab.screenshot('staff-passkeys-last');

    // The first authenticator holds an excluded credential: only the second (a security key) answers.
    const second = await tab.addAuthenticator();
    await tab.setPresence(first, false);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('status').getByText('Passkey added').waitFor();
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    assert.equal((await tab.credentials(second)).length, 1, 'the new passkey is on the second authenticator');
    await rows.nth(1).getByText('Never used to sign in').waitFor();
    await tab.screenshot('staff-passkeys-two');

    await page.getByTestId(firstRow!).getByRole('button', { name: /^Revoke/ }).click();
    await page.getByRole('status').getByText('Passkey revoked').waitFor();
    await page.getByTestId(firstRow!).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);
    await tab.screenshot('staff-passkeys-revoked');

    // The revoked passkey no longer signs in; the new one does (the first authenticator gone).
    await header(tab).getByRole('button', { name: 'Sign out' }).click();
    await tab.setPresence(second, false);
    await tab.setPresence(first, true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('alert').getByText(/This passkey was not accepted/).waitFor();
    await tab.removeAuthenticator(first);
    await tab.setPresence(second, true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await header(tab).getByText(email).waitFor();

    // At 360 px: the one passkey left, and nothing wider than the screen.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${server.url}/dashboard/passkeys`);
    await page.getByRole('heading', { name: 'Your passkeys' }).waitFor();
    await rows.first().getByText(/^Last used /).waitFor();
    assert.equal(await rows.count(), 1);
    await assertNoSidewaysScroll(tab);
    await tab.screenshot('staff-passkeys-360');
    await tab.close();
  });
});
