// Staff users for tests: invited with the operator key, enrolled with a software passkey through
// /v1/staff (as the dashboard or console would), signed in again, and their session tokens for API calls.
// Browser tests use signInStaff, which goes through the UI with Chromium's virtual authenticator.
import { randomInt } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApi } from './api.ts';
import type { BrowserApi, Tab } from './browser.ts';
import { createAuthenticator, type SoftwareAuthenticator } from './authenticator.ts';
import { testOrigin } from './buyers.ts';

export type TestStaffRole = 'owner' | 'admin' | 'developer' | 'finance' | 'support' | 'analyst' | 'risk_analyst' | 'viewer';

export interface TestStaffInput {
  /** The merchant the user works for; null for the operator's staff (the console). */
  merchantId: string | null;
  role: TestStaffRole;
  email?: string;
  name?: string;
}

export interface TestStaff {
  id: string;
  email: string;
  role: string;
  merchantId: string | null;
  /** `mss_...`: pass it as `key` to api.call. */
  token: string;
  authenticator: SoftwareAuthenticator;
}

/** A random loopback address per call, so the per-client ceremony limit never trips in tests. */
export function testClientAddress(): string {
  return `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

/** Like api.call, from `remoteAddress` (default: a random loopback address). */
export function staffCall(
  api: TestApi,
  method: 'GET' | 'POST',
  url: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string>; remoteAddress?: string } = {},
): Promise<LightMyRequestResponse> {
  return api.app.inject({
    method,
    url,
    remoteAddress: options.remoteAddress ?? testClientAddress(),
    headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers },
    ...(options.body === undefined ? {} : { payload: options.body as object }),
  });
}

/** The token of an invitation link (`.../dashboard/#invite=msi_...`). */
export function invitationTokenOf(url: string): string {
  const token = new URL(url).hash.replace(/^#invite=/, '');
  if (!token.startsWith('msi_')) throw new Error(`not an invitation link: ${url}`);
  return token;
}

/** Invites a person with the operator key; answers with the link and its token. */
export async function inviteStaff(api: TestApi, input: TestStaffInput, options: { key?: string } = {}): Promise<{ id: string; token: string; url: string; email: string }> {
  const email = input.email ?? `staff-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const response = await staffCall(api, 'POST', '/v1/staff/invitations', {
    key: options.key ?? api.operatorKey,
    body: { email, role: input.role, ...(input.name ? { name: input.name } : {}), ...(input.merchantId ? { merchant: input.merchantId } : {}) },
  });
  if (response.statusCode !== 200) throw new Error(`invitation failed: ${response.body}`);
  const body = response.json();
  return { id: body.id, url: body.url, token: invitationTokenOf(body.url), email };
}

/** Accepts an invitation with a (new) software passkey: the user is created and signed in. */
export async function enrollStaff(api: TestApi, invitationToken: string, options: { authenticator?: SoftwareAuthenticator } = {}): Promise<TestStaff> {
  const authenticator = options.authenticator ?? createAuthenticator({ origin: testOrigin(api) });
  const started = await staffCall(api, 'POST', '/v1/staff/enrollment/options', { body: { invitation: invitationToken } });
  if (started.statusCode !== 200) throw new Error(`enrollment options failed: ${started.body}`);
  const { enrollment, options: creation } = started.json();
  const verified = await staffCall(api, 'POST', '/v1/staff/enrollment/verify', { body: { enrollment, credential: authenticator.register(creation) } });
  if (verified.statusCode !== 200) throw new Error(`enrollment failed: ${verified.body}`);
  const body = verified.json();
  return { id: body.user.id, email: body.user.email, role: body.user.role, merchantId: body.user.merchant_id, token: body.token, authenticator };
}

/** A new staff user (invited by the operator key, enrolled with a software passkey) with a live session. */
export async function createStaffUser(api: TestApi, input: TestStaffInput): Promise<TestStaff> {
  const invitation = await inviteStaff(api, input);
  return enrollStaff(api, invitation.token);
}

/** A session token (`mss_...`) of a new staff user with this role, for API tests: `api.call(..., { key: token })`. */
export async function staffToken(api: TestApi, input: TestStaffInput): Promise<string> {
  return (await createStaffUser(api, input)).token;
}

/** Signs the user in again with their passkey: a new session. */
export async function signInStaffApi(api: TestApi, staff: TestStaff): Promise<TestStaff> {
  const started = await staffCall(api, 'POST', '/v1/staff/sign_in/options', { body: {} });
  if (started.statusCode !== 200) throw new Error(`sign-in options failed: ${started.body}`);
  const { sign_in: signIn, options: request } = started.json();
  const verified = await staffCall(api, 'POST', '/v1/staff/sign_in/verify', { body: { sign_in: signIn, credential: staff.authenticator.authenticate(request) } });
  if (verified.statusCode !== 200) throw new Error(`sign-in failed: ${verified.body}`);
  return { ...staff, token: verified.json().token };
}

/**
 * Browser tests: invites a new staff user (with the operator key), opens the invitation link in `tab`,
 * registers a passkey with the tab's virtual authenticator by the app's button, and resolves once the
 * app's shell (the header with the user's email) shows. The passkey stays in the tab's authenticator,
 * so "Sign in with a passkey" works again after signing out.
 */
export async function signInStaff(
  tab: Tab,
  server: BrowserApi,
  input: TestStaffInput & { app: 'dashboard' | 'console' },
): Promise<{ email: string; url: string }> {
  if ((input.app === 'console') !== (input.merchantId === null)) throw new Error('the console is for the operator\'s staff (merchantId null), the dashboard for a merchant\'s');
  const invitation = await inviteStaff(server.api, input);
  if (!invitation.url.startsWith(`${server.url}/${input.app}/#invite=`)) throw new Error(`unexpected invitation link ${invitation.url}`);
  await tab.page.goto(invitation.url);
  await tab.page.getByRole('button', { name: 'Create a passkey and sign in' }).click();
  await tab.page.locator('.staff-header').getByText(invitation.email).waitFor();
  return { email: invitation.email, url: invitation.url };
}

/**
 * Browser tests: the Audit log page (web/staff/audit.tsx) of the dashboard or the console, once its
 * heading shows: its list, the rows of one action (`POST /v1/refunds`, ids as `:id`), and a check of a
 * row's outcome (and error) and person (email and role name).
 */
export async function auditLogPage(page: Tab['page']) {
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  const events = page.getByTestId('audit-events');
  const withAction = (action: string) => events.locator('li', { has: page.getByTestId('audit-action').getByText(action, { exact: true }) });
  const assertRow = async (row: ReturnType<typeof withAction>, expected: { outcome: RegExp | string; email: string; role: string }) => {
    const outcome = (await row.getByTestId('audit-outcome').textContent())!.trim();
    if (typeof expected.outcome === 'string' ? outcome !== expected.outcome : !expected.outcome.test(outcome)) throw new Error(`outcome ${outcome}, expected ${expected.outcome}`);
    const person = (await row.getByTestId('audit-person').textContent())!;
    if (!person.includes(expected.email) || !person.includes(expected.role)) throw new Error(`person ${person}, expected ${expected.email} (${expected.role})`);
  };
  /** How many rows are reads (GET): none, since reads are not recorded. */
  const reads = () => events.locator('li', { has: page.getByTestId('audit-action').getByText(/^GET /) }).count();
  return { events, withAction, assertRow, reads };
}
