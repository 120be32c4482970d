// The staff session in the browser, shared by the dashboard and the console: the `mss_...` token (kept
// in sessionStorage, so it dies with the tab; in memory when storage is unavailable), the test/live
// switch, `staffFetch` that adds both to every API call, and the passkey ceremonies of sign-in, of
// accepting an invitation and of adding a passkey to one's account (docs/api/staff.md).
import {
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';

export type StaffAppName = 'dashboard' | 'console';

/** GET /v1/staff/me. */
export interface StaffMe {
  id: string;
  email: string;
  name: string | null;
  role: string;
  merchant_id: string | null;
  app: StaffAppName;
  permissions: string[];
  livemode: boolean;
}

/** One of the signed-in user's passkeys (GET /v1/staff/passkeys). */
export interface StaffPasskey {
  id: string;
  object: 'staff_passkey';
  device_type: 'single_device' | 'multi_device';
  backed_up: boolean;
  transports: string[];
  created: number;
  last_used: number | null;
  revoked: boolean;
}

/** What an invitation link offers (from the enrollment options). */
export interface StaffInvitationOffer {
  email: string;
  name: string | null;
  role: string;
  merchant_id: string | null;
  app: StaffAppName;
  expires_at: number;
}

/** A non-2xx answer of the API (or a network failure: status 0, code `network_error`). */
export class StaffApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  constructor(status: number, code: string, message: string, param?: string, requestId?: string) {
    super(message);
    this.name = 'StaffApiError';
    this.status = status;
    this.code = code;
    this.param = param;
    this.requestId = requestId;
  }
}

type Listener = () => void;

const memory = new Map<string, string>();
const listeners = new Set<Listener>();

/** Which app's session this page holds: the first path segment (/dashboard or /console). */
function appName(): StaffAppName {
  return typeof location !== 'undefined' && location.pathname.startsWith('/console') ? 'console' : 'dashboard';
}

function read(name: string): string | null {
  const key = `micropay.staff.${appName()}.${name}`;
  try {
    return sessionStorage.getItem(key) ?? memory.get(key) ?? null;
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(name: string, value: string | null): void {
  const key = `micropay.staff.${appName()}.${name}`;
  if (value === null) memory.delete(key);
  else memory.set(key, value);
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode, a sandboxed frame): the in-memory copy serves this page.
  }
}

function changed(): void {
  for (const listener of listeners) listener();
}

export function getStaffToken(): string | null {
  return read('token');
}

export function setStaffToken(token: string | null): void {
  write('token', token);
  changed();
}

/** Whether requests act on live data (the `Micropay-Livemode: true` header); test data by default. */
export function getLivemode(): boolean {
  return read('livemode') === 'true';
}

export function setLivemode(livemode: boolean): void {
  write('livemode', livemode ? 'true' : null);
  changed();
}

/** Called when the token or the mode changes (sign-in, sign-out, a session that ended, the switch). */
export function onStaffSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Calls the Micropay API with the staff session: `Authorization: Bearer mss_...` and the mode header
 * added, the JSON answer parsed. A non-2xx answer throws StaffApiError; a 401 of the session also
 * forgets the token, so the app shows the sign-in again.
 */
export function staffFetch<T>(path: string, init: RequestInit = {}): Promise<T> {
  return call<T>(path, init, true);
}

async function call<T>(path: string, init: RequestInit, withSession: boolean): Promise<T> {
  const headers = new Headers(init.headers);
  const token = withSession ? getStaffToken() : null;
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  if (getLivemode()) headers.set('micropay-livemode', 'true');
  if (init.body !== undefined && init.body !== null && typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new StaffApiError(0, 'network_error', 'Micropay could not be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; param?: string; request_id?: string } } | null)?.error;
    const failure = new StaffApiError(response.status, error?.code ?? 'http_error', error?.message ?? `The request failed (HTTP ${response.status}).`, error?.param, error?.request_id);
    if (failure.code === 'staff_session_invalid' && token !== null && getStaffToken() === token) setStaffToken(null);
    throw failure;
  }
  return body as T;
}

/** Sign-in and enrollment calls go without the session: a stale token must not stand in their way. */
const post = <T>(path: string, body: unknown) => call<T>(path, { method: 'POST', body: JSON.stringify(body) }, false);

interface SignedIn {
  token: string;
  expires_at: number;
}

/** Signs in with a passkey of this site (discoverable: the browser offers the person's passkeys). */
export async function signInWithPasskey(): Promise<void> {
  const started = await post<{ sign_in: string; options: unknown }>('/v1/staff/sign_in/options', {});
  const credential = await startAuthentication({ optionsJSON: started.options as PublicKeyCredentialRequestOptionsJSON });
  const signedIn = await post<SignedIn>('/v1/staff/sign_in/verify', { sign_in: started.sign_in, credential });
  setStaffToken(signedIn.token);
}

/** The browser's passkey registration for creation options of the API (an enrollment's or a new passkey's). */
const createPasskey = (options: unknown) => startRegistration({ optionsJSON: options as PublicKeyCredentialCreationOptionsJSON });

/** Registers one more passkey for the signed-in user (`/v1/staff/passkeys/registration`): the new passkey.
 * Adding one needs a sign-in of the last 10 minutes (`staff_sign_in_too_old`): the person is asked for a
 * passkey they have first, then for the new one. */
export async function addStaffPasskey(): Promise<StaffPasskey> {
  const options = () => staffFetch<{ registration: string; options: unknown }>('/v1/staff/passkeys/registration/options', { method: 'POST', body: '{}' });
  let started: { registration: string; options: unknown };
  try {
    started = await options();
  } catch (error) {
    if (!(error instanceof StaffApiError) || error.code !== 'staff_sign_in_too_old') throw error;
    await signInWithPasskey();
    started = await options();
  }
  const credential = await createPasskey(started.options);
  return staffFetch<StaffPasskey>('/v1/staff/passkeys/registration/verify', { method: 'POST', body: JSON.stringify({ registration: started.registration, credential }) });
}

/** Starts accepting an invitation: what it offers, and a function that registers the passkey and signs in. */
export async function openInvitation(invitationToken: string): Promise<{ invitation: StaffInvitationOffer; accept: () => Promise<void> }> {
  const started = await post<{ enrollment: string; options: unknown; invitation: StaffInvitationOffer }>('/v1/staff/enrollment/options', { invitation: invitationToken });
  return {
    invitation: started.invitation,
    async accept() {
      const credential = await createPasskey(started.options);
      const signedIn = await post<SignedIn>('/v1/staff/enrollment/verify', { enrollment: started.enrollment, credential });
      setStaffToken(signedIn.token);
    },
  };
}

/** Ends the session on the server (best effort) and forgets it here. */
export async function staffSignOut(): Promise<void> {
  try {
    if (getStaffToken()) await staffFetch('/v1/staff/sign_out', { method: 'POST', body: '{}' });
  } finally {
    setStaffToken(null);
  }
}

export function getStaffMe(): Promise<StaffMe> {
  return staffFetch<StaffMe>('/v1/staff/me');
}
