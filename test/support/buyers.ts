// Buyers for HTTP tests: sign up with a software passkey (or sign in again) through /v1/buyer, as the
// checkout frame would, and get the session header to send with later calls.
import type { TestApi } from './api.ts';
import { createAuthenticator, type SoftwareAuthenticator } from './authenticator.ts';
import { BUYER_SESSION_HEADER } from '../../src/buyers/model.ts';

export interface TestBuyer {
  id: string;
  email: string;
  token: string;
  deviceId: string;
  authenticator: SoftwareAuthenticator;
  /** `{ 'micropay-buyer-session': token }`, to spread into a call's headers. */
  headers: Record<string, string>;
}

/** The origin WebAuthn ceremonies come from in tests (PUBLIC_URL's default). */
export function testOrigin(api: TestApi): string {
  return api.runtime.config.buyers.origins[0]!;
}

/** Signs a new buyer up with a passkey, in the mode of `key` (a publishable or secret key). */
export async function signUpBuyer(api: TestApi, key: string, options: { email?: string; displayName?: string; authenticator?: SoftwareAuthenticator } = {}): Promise<TestBuyer> {
  const email = options.email ?? `buyer-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const authenticator = options.authenticator ?? createAuthenticator({ origin: testOrigin(api) });
  const started = await api.call('POST', '/v1/buyer/passkeys/registration/options', { key, body: { email, ...(options.displayName ? { display_name: options.displayName } : {}) } });
  if (started.statusCode !== 200) throw new Error(`registration options failed: ${started.body}`);
  const { registration, options: creation } = started.json();
  const verified = await api.call('POST', '/v1/buyer/passkeys/registration/verify', { key, body: { registration, credential: authenticator.register(creation) } });
  if (verified.statusCode !== 200) throw new Error(`registration failed: ${verified.body}`);
  const body = verified.json();
  return { id: body.buyer.id, email, token: body.session.token, deviceId: body.device.id, authenticator, headers: { [BUYER_SESSION_HEADER]: body.session.token } };
}

/** Signs the buyer in again with their passkey (a new session; the same device when `device` is given). */
export async function signInBuyer(api: TestApi, key: string, buyer: TestBuyer, options: { device?: string } = {}): Promise<TestBuyer> {
  const started = await api.call('POST', '/v1/buyer/passkeys/authentication/options', { key, body: {} });
  if (started.statusCode !== 200) throw new Error(`authentication options failed: ${started.body}`);
  const { authentication, options: request } = started.json();
  const verified = await api.call('POST', '/v1/buyer/passkeys/authentication/verify', {
    key,
    body: { authentication, credential: buyer.authenticator.authenticate(request), ...(options.device ? { device: options.device } : {}) },
  });
  if (verified.statusCode !== 200) throw new Error(`authentication failed: ${verified.body}`);
  const body = verified.json();
  return { ...buyer, token: body.session.token, deviceId: body.device.id, headers: { [BUYER_SESSION_HEADER]: body.session.token } };
}
