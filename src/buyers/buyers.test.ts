import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { STORE_KINDS } from '../../test/support/stores.ts';
import { captureLogs } from '../../test/support/log-capture.ts';
import { startTestApi, type TestApi, type TestMerchant } from '../../test/support/api.ts';
import { createAuthenticator, type SoftwareAuthenticator } from '../../test/support/authenticator.ts';
import { signInBuyer, signUpBuyer, testOrigin, type TestBuyer } from '../../test/support/buyers.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { BUYER_SESSION_HEADER } from './model.ts';
import { deviceNameFromUserAgent } from './routes.ts';
import { maskAddress, tokenDigest } from './service.ts';

const CHROME_ON_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe('buyer identity configuration', () => {
  it('derives the relying party from PUBLIC_URL, takes overrides, and keeps the sandbox gateway out of production', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.publicUrl, 'http://localhost:3000');
    assert.equal(defaults.buyers.rpId, 'localhost');
    assert.deepEqual(defaults.buyers.origins, ['http://localhost:3000']);
    assert.equal(defaults.messages.gateway, 'sandbox');
    const hosted = loadConfig({ PUBLIC_URL: 'https://pay.example.com/' });
    assert.equal(hosted.buyers.rpId, 'pay.example.com');
    assert.deepEqual(hosted.buyers.origins, ['https://pay.example.com']);
    const overridden = loadConfig({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://a.example.com, https://b.example.com' });
    assert.equal(overridden.buyers.rpId, 'example.com');
    assert.deepEqual(overridden.buyers.origins, ['https://a.example.com', 'https://b.example.com']);
    assert.throws(() => loadConfig({ WEBAUTHN_ORIGINS: 'https://a.example.com/path' }), ConfigError);
    const production = {
      MICROPAY_MODE: 'production', DATABASE_URL: 'postgres://u@h/db', VAULT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      CARD_PROCESSOR_URL: 'https://acquirer.example', CARD_PROCESSOR_API_KEY: 'k', REDIS_URL: 'redis://127.0.0.1:6379',
    };
    assert.equal(loadConfig(production).messages.gateway, 'none');
    assert.throws(() => loadConfig({ ...production, MESSAGE_GATEWAY: 'sandbox' }), /MESSAGE_GATEWAY cannot be sandbox in production/);
  });

  it('names devices from the user agent and masks addresses', () => {
    assert.equal(deviceNameFromUserAgent(CHROME_ON_MAC), 'Chrome on macOS');
    assert.equal(deviceNameFromUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'), 'Safari on iOS');
    assert.equal(deviceNameFromUserAgent(undefined), 'Unknown device');
    assert.equal(maskAddress('email', 'alice@example.com'), 'a•••@example.com');
    assert.equal(maskAddress('sms', '+447700901234'), '+44•••••1234');
  });
});

for (const kind of STORE_KINDS) {
  describe(`buyer identity over HTTP on ${kind}`, () => {
    let api: TestApi;
    let merchant: TestMerchant;
    let other: TestMerchant;
    let origin: string;
    // Everything the server logs (at trace level) and every response body, to look for secrets in them.
    const captured = captureLogs();
    const logLines = captured.lines;
    const bodies: string[] = [];
    const secrets: { codes: string[]; tokens: string[] } = { codes: [], tokens: [] };

    before(async () => {
      api = await startTestApi(kind, { logger: captured.logger });
      merchant = await api.createMerchant({ name: 'Daily Planet' });
      other = await api.createMerchant({ name: 'Pixel Forge' });
      origin = testOrigin(api);
    });
    after(() => api.close());

    async function call(method: 'GET' | 'POST' | 'DELETE', url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
      const key = options.key ?? merchant.publishableKey;
      const response = await api.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, 'user-agent': CHROME_ON_MAC, ...options.headers },
        ...(options.body === undefined ? {} : { payload: options.body as object }),
      });
      bodies.push(response.body);
      return response;
    }

    const session = (token: string) => ({ [BUYER_SESSION_HEADER]: token });
    const uniqueEmail = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@Example.com`;

    async function signUp(email = uniqueEmail('buyer'), authenticator = createAuthenticator({ origin })): Promise<TestBuyer> {
      const buyer = await signUpBuyer(api, merchant.publishableKey, { email, authenticator });
      secrets.tokens.push(buyer.token);
      return buyer;
    }

    async function startSignIn(key = merchant.publishableKey) {
      const response = await call('POST', '/v1/buyer/passkeys/authentication/options', { key, body: {} });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { authentication: string; options: Parameters<SoftwareAuthenticator['authenticate']>[0] };
    }

    function expectError(response: LightMyRequestResponse, status: number, code: string): void {
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error.code, code, response.body);
    }

    async function latestCode(to: string): Promise<string> {
      const response = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(to)}` });
      assert.equal(response.statusCode, 200, response.body);
      const message = response.json().data[0];
      const code = /\b(\d{6})\b/.exec(message.body)![1]!;
      secrets.codes.push(code);
      return code;
    }

    async function requestCode(address: { email?: string; phone?: string }, key = merchant.publishableKey) {
      const response = await call('POST', '/v1/buyer/codes', { key, body: address });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { code_request: string; channel: string; sent_to: string; expires_at: number };
    }

    it('signs a buyer up with a passkey: a buyer, a session on a named device, and the passkey saved', async () => {
      const authenticator = createAuthenticator({ origin });
      const email = uniqueEmail('ada');
      const started = await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email, display_name: 'Ada' } });
      assert.equal(started.statusCode, 200, started.body);
      const { registration, options } = started.json();
      assert.match(registration, /^preg_/);
      assert.equal(options.rp.id, 'localhost');
      assert.equal(options.user.name, email.toLowerCase());
      assert.equal(options.user.displayName, 'Ada');
      assert.deepEqual(options.authenticatorSelection, { residentKey: 'required', userVerification: 'required', requireResidentKey: true });
      assert.deepEqual(options.extensions.payment, { isPayment: true });

      const verified = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration, credential: authenticator.register(options) } });
      assert.equal(verified.statusCode, 200, verified.body);
      const body = verified.json();
      secrets.tokens.push(body.session.token);
      assert.match(body.buyer.id, /^buy_/);
      assert.deepEqual({ ...body.buyer, id: undefined, created: undefined }, {
        id: undefined, object: 'buyer', livemode: false, email: email.toLowerCase(), phone: null, display_name: 'Ada', passkeys: 1, created: undefined,
      });
      assert.ok(body.session.expires_at > Date.now() / 1000 + 29 * 86_400);
      assert.equal(body.device.name, 'Chrome on macOS');
      assert.equal(body.device.current, true);

      const me = await call('GET', '/v1/buyer/me', { headers: session(body.session.token) });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().id, body.buyer.id);
      const passkeys = await call('GET', '/v1/buyer/passkeys', { headers: session(body.session.token) });
      assert.equal(passkeys.json().data.length, 1);
      assert.equal(passkeys.json().data[0].device_type, 'multi_device');

      // The same address cannot sign up twice in a mode (whatever its case), but can in the other.
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: email.toUpperCase() } }), 409, 'buyer_exists');
      const live = await call('POST', '/v1/buyer/passkeys/registration/options', { key: merchant.liveSecretKey, body: { email } });
      assert.equal(live.statusCode, 200, live.body);
    });

    it('needs an email or a phone to sign up, and a valid one', async () => {
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: {} }), 400, 'parameter_missing');
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: 'not an address' } }), 400, 'parameter_invalid');
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: { phone: '0123 456' } }), 400, 'parameter_invalid');
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: 'a@b.co', extra: 1 } }), 400, 'parameter_unknown');
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { key: '', body: { email: 'a@b.co' } }), 401, 'api_key_invalid');
    });

    it('refuses a registration without user verification, with another challenge or from another origin', async () => {
      for (const overrides of [{ userVerified: false }, { challenge: 'c29tZXRoaW5nIGVsc2U' }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }]) {
        const started = await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: uniqueEmail('bad') } });
        const { registration, options } = started.json();
        const authenticator = createAuthenticator({ origin });
        const verified = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration, credential: authenticator.register(options, overrides) } });
        expectError(verified, 400, 'passkey_verification_failed');
        // The ceremony was used by that attempt: a second try with a good credential finds none.
        const again = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration, credential: createAuthenticator({ origin }).register(options) } });
        expectError(again, 400, 'ceremony_unknown');
      }
    });

    it('signs in with the passkey (discoverable), remembers the device when asked, and updates the counter', async () => {
      const buyer = await signUp();
      const { authentication, options } = await startSignIn();
      assert.match(authentication, /^pauth_/);
      assert.deepEqual(options.allowCredentials, []);
      assert.equal(options.userVerification, 'required');
      const signedIn = await call('POST', '/v1/buyer/passkeys/authentication/verify', {
        body: { authentication, credential: buyer.authenticator.authenticate(options), device: buyer.deviceId },
      });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      const body = signedIn.json();
      secrets.tokens.push(body.session.token);
      assert.equal(body.buyer.id, buyer.id);
      assert.equal(body.device.id, buyer.deviceId, 'the remembered device is reused');
      assert.notEqual(body.session.token, buyer.token);

      // Without `device` (or with a device of someone else), a new device is remembered.
      const stranger = await signUp();
      const again = await signInBuyer(api, merchant.publishableKey, buyer, { device: stranger.deviceId });
      secrets.tokens.push(again.token);
      assert.notEqual(again.deviceId, buyer.deviceId);
      assert.notEqual(again.deviceId, stranger.deviceId);
      const { rows } = await api.runtime.db.query<{ counter: bigint }>('SELECT counter FROM buyer_passkeys WHERE buyer_id = $1', [buyer.id]);
      assert.equal(rows[0]!.counter, 2n);
    });

    it('refuses a sign-in with a wrong challenge, without user verification, with a cloned counter, or replayed', async () => {
      const buyer = await signUp();
      const attempts: Array<Parameters<SoftwareAuthenticator['authenticate']>[1]> = [
        { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        { userVerified: false },
        { userPresent: false },
        { origin: 'https://evil.example' },
      ];
      for (const overrides of attempts) {
        const { authentication, options } = await startSignIn();
        const response = await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication, credential: buyer.authenticator.authenticate(options, overrides) } });
        expectError(response, 400, 'passkey_verification_failed');
      }
      // A good assertion works once; the same ceremony again is refused, and so is the same assertion on a new ceremony.
      const { authentication, options } = await startSignIn();
      const credential = buyer.authenticator.authenticate(options);
      assert.equal((await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication, credential } })).statusCode, 200);
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication, credential } }), 400, 'ceremony_unknown');
      const fresh = await startSignIn();
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication: fresh.authentication, credential } }), 400, 'passkey_verification_failed');
      // A counter that did not move forward says the passkey was cloned.
      const cloned = await startSignIn();
      const stale = buyer.authenticator.authenticate(cloned.options, { counter: buyer.authenticator.credentials[0]!.counter - 1 });
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication: cloned.authentication, credential: stale } }), 400, 'passkey_verification_failed');
      // An unknown credential, an unknown ceremony, a ceremony of the other kind.
      const unknown = createAuthenticator({ origin });
      unknown.register((await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: uniqueEmail('ghost') } })).json().options);
      const next = await startSignIn();
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication: next.authentication, credential: unknown.authenticate(next.options) } }), 400, 'passkey_verification_failed');
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication: 'pauth_0000000000000000000000', credential } }), 400, 'ceremony_unknown');
      expectError(await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication: 'preg_0000000000000000000000', credential } }), 400, 'ceremony_unknown');
    });

    it('refuses an expired ceremony', async () => {
      const buyer = await signUp();
      const { authentication, options } = await startSignIn();
      await api.runtime.db.query(`UPDATE webauthn_ceremonies SET expires_at = now() - interval '1 second' WHERE id = $1`, [authentication]);
      const response = await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication, credential: buyer.authenticator.authenticate(options) } });
      expectError(response, 400, 'ceremony_expired');
      // The maintenance sweep deletes ceremonies (and codes) a day after they expired.
      await api.runtime.db.query(`UPDATE webauthn_ceremonies SET expires_at = now() - interval '2 days' WHERE id = $1`, [authentication]);
      assert.ok((await api.runtime.services.buyerIdentity.sweep(500)) >= 1);
      const { rows } = await api.runtime.db.query('SELECT 1 FROM webauthn_ceremonies WHERE id = $1', [authentication]);
      assert.equal(rows.length, 0);
    });

    it('adds a passkey for a signed-in buyer, excluding the ones they have', async () => {
      const buyer = await signUp();
      const started = await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(buyer.token) });
      assert.equal(started.statusCode, 200, started.body);
      const { registration, options } = started.json();
      assert.equal(options.user.id, Buffer.from(buyer.id).toString('base64url'));
      assert.deepEqual(options.excludeCredentials.map((credential: { id: string }) => credential.id), [buyer.authenticator.credentials[0]!.id]);
      const laptop = createAuthenticator({ origin });
      // The ceremony belongs to the session: without it, it does not finish.
      const withoutSession = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration, credential: laptop.register(options) } });
      expectError(withoutSession, 400, 'ceremony_unknown');
      const retry = (await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(buyer.token) })).json();
      const added = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration: retry.registration, credential: laptop.register(retry.options) }, headers: session(buyer.token) });
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().buyer.passkeys, 2);
      assert.equal(added.json().session.token, buyer.token);
      assert.equal(added.json().device.id, buyer.deviceId);
      // The new passkey signs in as the same buyer.
      const signedIn = await signInBuyer(api, merchant.publishableKey, { ...buyer, authenticator: laptop });
      const me = await call('GET', '/v1/buyer/me', { headers: session(signedIn.token) });
      assert.equal(me.json().id, buyer.id);
      // A bad session header is refused rather than treated as a sign-up.
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: { email: uniqueEmail('x') }, headers: session('mbs_nope') }), 401, 'buyer_session_required');
      // The buyer is told, in case it was not them.
      const outbox = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(buyer.email.toLowerCase())}` });
      assert.match(outbox.json().data[0].body, /^A passkey was added to your Micropay account\. If this was not you/);
    });

    /** Makes the buyer's sessions look opened `minutes` ago. */
    const ageSessions = (buyerId: string, minutes: number) =>
      api.runtime.db.query(`UPDATE buyer_sessions SET created_at = now() - make_interval(mins => $2) WHERE buyer_id = $1`, [buyerId, minutes]);

    it('adds a passkey only with a sign-in of the last 10 minutes: a session token alone cannot plant one', async () => {
      const buyer = await signUp();
      await ageSessions(buyer.id, 11);
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(buyer.token) }), 403, 'buyer_sign_in_too_old');
      // A ceremony started in time is refused at its end when the session has grown too old meanwhile.
      const fresh = await signInBuyer(api, merchant.publishableKey, buyer);
      secrets.tokens.push(fresh.token);
      const started = await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(fresh.token) });
      assert.equal(started.statusCode, 200, started.body);
      await ageSessions(buyer.id, 11);
      const laptop = createAuthenticator({ origin });
      const late = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration: started.json().registration, credential: laptop.register(started.json().options) }, headers: session(fresh.token) });
      expectError(late, 403, 'buyer_sign_in_too_old');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(fresh.token) })).json().passkeys, 1);
      // Nine minutes is recent enough.
      const again = await signInBuyer(api, merchant.publishableKey, buyer);
      secrets.tokens.push(again.token);
      await ageSessions(buyer.id, 9);
      const retry = (await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(again.token) })).json();
      const added = await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration: retry.registration, credential: laptop.register(retry.options) }, headers: session(again.token) });
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().buyer.passkeys, 2);
    });

    it("adds no passkey with a session a merchant's code opened, however recent (its page may hold the token)", async () => {
      const buyer = await signUp();
      const sent = await requestCode({ email: buyer.email });
      const signedIn = await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code: await latestCode(buyer.email.toLowerCase()) } });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      const token: string = signedIn.json().session.token;
      secrets.tokens.push(token);
      expectError(await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(token) }), 403, 'buyer_session_merchant_bound');
      // Nor can it finish a ceremony another of the buyer's sessions started (ceremonies belong to their session).
      const started = await call('POST', '/v1/buyer/passkeys/registration/options', { body: {}, headers: session(buyer.token) });
      const planted = createAuthenticator({ origin });
      expectError(
        await call('POST', '/v1/buyer/passkeys/registration/verify', { body: { registration: started.json().registration, credential: planted.register(started.json().options) }, headers: session(token) }),
        400,
        'ceremony_unknown',
      );
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).json().passkeys, 1);
      // Nor remove one (which would end the buyer's other sessions), nor sign out another device; its own, yes.
      const [passkey] = (await call('GET', '/v1/buyer/passkeys', { headers: session(token) })).json().data;
      expectError(await call('DELETE', `/v1/buyer/passkeys/${passkey.id}`, { headers: session(token) }), 403, 'buyer_session_merchant_bound');
      const devices = (await call('GET', '/v1/buyer/devices', { headers: session(token) })).json().data as Array<{ id: string; current: boolean; revoked: boolean }>;
      const other = devices.find((device) => !device.current && !device.revoked)!;
      expectError(await call('DELETE', `/v1/buyer/devices/${other.id}`, { headers: session(token) }), 403, 'buyer_session_merchant_bound');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).statusCode, 200, 'the passkey session goes on');
      const own = devices.find((device) => device.current)!;
      assert.equal((await call('DELETE', `/v1/buyer/devices/${own.id}`, { headers: session(token) })).statusCode, 200);
      expectError(await call('GET', '/v1/buyer/me', { headers: session(token) }), 401, 'buyer_session_required');
    });

    it("removes a passkey: it no longer signs in, and the buyer's other sessions end (the caller's goes on)", async () => {
      const buyer = await signUp();
      const elsewhere = await signInBuyer(api, merchant.publishableKey, buyer);
      secrets.tokens.push(elsewhere.token);
      const stranger = await signUp();
      const passkey = (await call('GET', '/v1/buyer/passkeys', { headers: session(buyer.token) })).json().data[0];
      const removed = await call('DELETE', `/v1/buyer/passkeys/${passkey.id}`, { headers: session(buyer.token) });
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json(), { id: passkey.id, object: 'passkey', deleted: true });
      expectError(await call('GET', '/v1/buyer/me', { headers: session(elsewhere.token) }), 401, 'buyer_session_required');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).statusCode, 200);
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(stranger.token) })).statusCode, 200, "another buyer's sessions go on");
      expectError(await call('DELETE', `/v1/buyer/passkeys/${passkey.id}`, { headers: session(buyer.token) }), 404, 'resource_missing');
      const { authentication, options } = await startSignIn();
      const response = await call('POST', '/v1/buyer/passkeys/authentication/verify', { body: { authentication, credential: buyer.authenticator.authenticate(options) } });
      expectError(response, 400, 'passkey_verification_failed');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).json().passkeys, 0);
    });

    it('needs a live session for the signed-in endpoints', async () => {
      for (const [method, url] of [['GET', '/v1/buyer/me'], ['GET', '/v1/buyer/devices'], ['GET', '/v1/buyer/passkeys'], ['POST', '/v1/buyer/sign_out']] as const) {
        expectError(await call(method, url, method === 'POST' ? { body: {} } : {}), 401, 'buyer_session_required');
        expectError(await call(method, url, { headers: session('mbs_0123456789012345678901234567890123456789012'), ...(method === 'POST' ? { body: {} } : {}) }), 401, 'buyer_session_required');
      }
      const buyer = await signUp();
      expectError(await call('GET', '/v1/buyer/me', { key: '', headers: session(buyer.token) }), 401, 'api_key_invalid');
      expectError(await api.app.inject({ method: 'GET', url: '/v1/buyer/me', headers: session(buyer.token) }), 401, 'api_key_missing');
    });

    it('signs out: the session ends, others go on', async () => {
      const buyer = await signUp();
      const second = await signInBuyer(api, merchant.publishableKey, buyer);
      secrets.tokens.push(second.token);
      const out = await call('POST', '/v1/buyer/sign_out', { body: {}, headers: session(buyer.token) });
      assert.equal(out.statusCode, 200, out.body);
      expectError(await call('GET', '/v1/buyer/me', { headers: session(buyer.token) }), 401, 'buyer_session_required');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(second.token) })).statusCode, 200);
    });

    it('lists devices and revokes one: its sessions end at once', async () => {
      const buyer = await signUp();
      const phone = await signInBuyer(api, merchant.publishableKey, buyer);
      secrets.tokens.push(phone.token);
      const listed = await call('GET', '/v1/buyer/devices', { headers: session(buyer.token) });
      assert.equal(listed.statusCode, 200, listed.body);
      const devices = listed.json().data as Array<{ id: string; current: boolean; revoked: boolean; name: string }>;
      assert.equal(devices.length, 2);
      assert.deepEqual(devices.find((device) => device.current)?.id, buyer.deviceId);
      const revoked = await call('DELETE', `/v1/buyer/devices/${phone.deviceId}`, { headers: session(buyer.token) });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.json().revoked, true);
      expectError(await call('GET', '/v1/buyer/me', { headers: session(phone.token) }), 401, 'buyer_session_required');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).statusCode, 200);
      // Signing in again with the revoked device's id remembers a new device.
      const back = await signInBuyer(api, merchant.publishableKey, buyer, { device: phone.deviceId });
      secrets.tokens.push(back.token);
      assert.notEqual(back.deviceId, phone.deviceId);
      // Another buyer's device is not found.
      const stranger = await signUp();
      expectError(await call('DELETE', `/v1/buyer/devices/${buyer.deviceId}`, { headers: session(stranger.token) }), 404, 'resource_missing');
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(buyer.token) })).statusCode, 200);
    });

    it('keeps modes apart: a test session does nothing in live mode, a test passkey does not sign in there', async () => {
      const buyer = await signUp();
      expectError(await call('GET', '/v1/buyer/me', { key: merchant.liveSecretKey, headers: session(buyer.token) }), 401, 'buyer_session_required');
      const live = await call('POST', '/v1/buyer/passkeys/authentication/options', { key: merchant.liveSecretKey, body: {} });
      const { authentication, options } = live.json();
      const response = await call('POST', '/v1/buyer/passkeys/authentication/verify', { key: merchant.liveSecretKey, body: { authentication, credential: buyer.authenticator.authenticate(options) } });
      expectError(response, 400, 'passkey_verification_failed');
      // A test ceremony cannot be finished in live mode.
      const testCeremony = await startSignIn();
      const crossed = await call('POST', '/v1/buyer/passkeys/authentication/verify', { key: merchant.liveSecretKey, body: { authentication: testCeremony.authentication, credential: buyer.authenticator.authenticate(testCeremony.options) } });
      expectError(crossed, 400, 'ceremony_unknown');
      // A buyer is the same person at every merchant of the installation (one wallet): another merchant's key in the same mode works.
      assert.equal((await call('GET', '/v1/buyer/me', { key: other.publishableKey, headers: session(buyer.token) })).json().id, buyer.id);
    });

    it('signs in with a one-time code sent to the email, once', async () => {
      const buyer = await signUp();
      const sent = await requestCode({ email: buyer.email });
      assert.match(sent.code_request, /^otp_/);
      assert.equal(sent.channel, 'email');
      assert.equal(sent.sent_to, `${buyer.email[0]!.toLowerCase()}•••@example.com`);
      assert.ok(Math.abs(sent.expires_at - (Date.now() / 1000 + 600)) < 30);
      const code = await latestCode(buyer.email.toLowerCase());
      const signedIn = await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code, device: buyer.deviceId } });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      secrets.tokens.push(signedIn.json().session.token);
      assert.equal(signedIn.json().buyer.id, buyer.id);
      assert.equal(signedIn.json().device.id, buyer.deviceId);
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code } }), 400, 'code_invalid');
      // The session is bound to the merchant whose key verified the code: another merchant's key is refused.
      const { rows } = await api.runtime.db.query<{ merchant_id: string | null }>('SELECT merchant_id FROM buyer_sessions WHERE token_digest = $1', [tokenDigest(signedIn.json().session.token)]);
      assert.equal(rows[0]?.merchant_id, merchant.id);
      assert.equal((await call('GET', '/v1/buyer/me', { headers: session(signedIn.json().session.token) })).statusCode, 200);
      const elsewhere = await call('GET', '/v1/buyer/me', { key: other.publishableKey, headers: session(signedIn.json().session.token) });
      expectError(elsewhere, 401, 'buyer_session_required');
      assert.match(elsewhere.json().error.message, /another merchant's pages/);
      // The code is for test mode: live mode does not know it.
      const again = await requestCode({ email: buyer.email });
      const liveTry = await call('POST', '/v1/buyer/codes/verify', { key: merchant.liveSecretKey, body: { code_request: again.code_request, code: await latestCode(buyer.email.toLowerCase()) } });
      expectError(liveTry, 400, 'code_invalid');
    });

    it('refuses wrong and expired codes, and a code after five wrong tries', async () => {
      const buyer = await signUp();
      const wrong = await requestCode({ email: buyer.email });
      const code = await latestCode(buyer.email.toLowerCase());
      const wrongCode = code === '000000' ? '000001' : '000000';
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: wrong.code_request, code: wrongCode } }), 400, 'code_invalid');
      for (let attempt = 2; attempt <= 4; attempt += 1) {
        expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: wrong.code_request, code: wrongCode } }), 400, 'code_invalid');
      }
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: wrong.code_request, code: wrongCode } }), 429, 'code_attempts_exceeded');
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: wrong.code_request, code } }), 429, 'code_attempts_exceeded');

      const late = await requestCode({ email: buyer.email });
      const lateCode = await latestCode(buyer.email.toLowerCase());
      await api.runtime.db.query(`UPDATE buyer_codes SET expires_at = now() - interval '1 second' WHERE id = $1`, [late.code_request]);
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: late.code_request, code: lateCode } }), 400, 'code_expired');
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: 'otp_unknown', code: lateCode } }), 400, 'code_invalid');
    });

    it('answers the same for an address nobody has, sends nothing, and limits codes per address', async () => {
      const nobody = uniqueEmail('nobody').toLowerCase();
      const sent = await requestCode({ email: nobody });
      assert.deepEqual(Object.keys(sent).sort(), ['channel', 'code_request', 'expires_at', 'sent_to']);
      assert.equal(sent.sent_to, 'n•••@example.com');
      const outbox = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(nobody)}` });
      assert.deepEqual(outbox.json().data, []);
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code: '123456' } }), 400, 'code_invalid');
      for (let request = 2; request <= 5; request += 1) await requestCode({ email: nobody });
      expectError(await call('POST', '/v1/buyer/codes', { body: { email: nobody } }), 429, 'codes_rate_limited');
      // Phone numbers work the same way, normalised.
      const byPhone = await requestCode({ phone: '+1 (415) 555-0100' });
      assert.equal(byPhone.channel, 'sms');
      assert.equal(byPhone.sent_to, '+14•••••0100');
      expectError(await call('POST', '/v1/buyer/codes', { body: {} }), 400, 'parameter_invalid');
      expectError(await call('POST', '/v1/buyer/codes', { body: { email: nobody, phone: '+14155550100' } }), 400, 'parameter_invalid');
    });

    it('serves the sandbox outbox as JSON (newest first, filtered) and as an escaped page', async () => {
      const buyer = await signUp(uniqueEmail('<b>outbox</b>'.replace(/[<>/]/g, '')));
      await requestCode({ email: buyer.email });
      await requestCode({ email: buyer.email });
      const listed = await api.app.inject({ method: 'GET', url: `/sandbox/messages?to=${encodeURIComponent(buyer.email.toLowerCase())}` });
      const data = listed.json().data as Array<{ id: string; object: string; to: string; channel: string; body: string; created: number }>;
      assert.equal(data.length, 2);
      assert.ok(data.every((message) => message.object === 'message' && message.channel === 'email' && message.to === buyer.email.toLowerCase()));
      assert.match(data[0]!.body, /^Micropay: your sign-in code is \d{6}\. It expires in 10 minutes; never share it\.$/);
      await api.runtime.services.buyerIdentity.sendCode(buyer.id, 'payment', 'pay_x', 'Pay <script>alert(1)</script> with {code}');
      const page = await api.app.inject({ method: 'GET', url: '/sandbox/outbox' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.ok(page.body.includes('Pay &lt;script&gt;alert(1)&lt;/script&gt; with'));
      assert.ok(!page.body.includes('<script>'));
      // And were anything to slip through the escaping, nothing on the page may run.
      assert.match(String(page.headers['content-security-policy']), /^default-src 'none'; style-src 'unsafe-inline'/);
      assert.doesNotMatch(String(page.headers['content-security-policy']), /script-src/);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
    });

    it('gives the checkout what it needs: assertion options over its challenge, verified assertions, payment codes bound to a payment', async () => {
      const identity = api.runtime.services.buyerIdentity;
      const buyer = await signUp();
      const stranger = await signUp();
      const challenge = Buffer.from('micropay-payment-challenge-for-pay_1').toString('base64url');
      const options = await identity.assertionOptions(buyer.id, challenge);
      assert.equal(options.challenge, challenge);
      assert.equal(options.userVerification, 'required');
      assert.deepEqual(options.allowCredentials?.map((credential) => credential.id), [buyer.authenticator.credentials[0]!.id]);

      assert.deepEqual(await identity.verifyAssertion(buyer.id, buyer.authenticator.authenticate(options), challenge), {
        ok: true, credentialId: buyer.authenticator.credentials[0]!.id, userVerified: true,
      });
      const spc = buyer.authenticator.authenticate(options, { clientDataType: 'payment.get', clientDataExtra: { payment: { rpId: 'localhost', topOrigin: origin } } });
      assert.equal((await identity.verifyAssertion(buyer.id, spc, challenge)).ok, true, 'a Secure Payment Confirmation assertion is accepted');
      const otherChallenge = Buffer.from('for another payment').toString('base64url');
      assert.equal((await identity.verifyAssertion(buyer.id, buyer.authenticator.authenticate(options), otherChallenge) as { code: string }).code, 'authentication_failed');
      assert.equal((await identity.verifyAssertion(buyer.id, buyer.authenticator.authenticate(options, { userVerified: false }), challenge) as { code: string }).code, 'user_verification_failed');
      assert.equal((await identity.verifyAssertion(stranger.id, buyer.authenticator.authenticate(options), challenge) as { code: string }).code, 'credential_unknown');

      const session = await identity.sessionFor(buyer.token, false);
      assert.deepEqual(
        { ...session, id: undefined, expiresAt: undefined, signedInAt: undefined },
        { id: undefined, buyerId: buyer.id, deviceId: buyer.deviceId, livemode: false, expiresAt: undefined, wallet: false, merchantId: null, signedInAt: undefined },
      );
      assert.ok(Math.abs(session!.signedInAt.getTime() - Date.now()) < 60_000);
      assert.equal(await identity.sessionFor(buyer.token, true), null);
      assert.equal((await identity.profile(buyer.id))?.email, buyer.email.toLowerCase());

      const sent = await identity.sendCode(buyer.id, 'payment', 'pay_1|300|KRW|mer_1', 'Micropay: code {code} to pay ₩300 to Daily Planet.');
      assert.ok(sent);
      const code = await latestCode(buyer.email.toLowerCase());
      assert.equal((await identity.verifyCode(buyer.id, sent.codeRequest, code, 'payment', 'pay_2|300|KRW|mer_1') as { code: string }).code, 'code_invalid');
      assert.equal((await identity.verifyCode(stranger.id, sent.codeRequest, code, 'payment', 'pay_1|300|KRW|mer_1') as { code: string }).code, 'code_invalid');
      // A payment code does not sign in.
      expectError(await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.codeRequest, code } }), 400, 'code_invalid');
      assert.deepEqual(await identity.verifyCode(buyer.id, sent.codeRequest, code, 'payment', 'pay_1|300|KRW|mer_1'), { ok: true });
      assert.equal((await identity.verifyCode(buyer.id, sent.codeRequest, code, 'payment', 'pay_1|300|KRW|mer_1') as { code: string }).code, 'code_invalid');
    });

    it('replays a keyed sign-in without the session token', async () => {
      const buyer = await signUp();
      const sent = await requestCode({ email: buyer.email });
      const code = await latestCode(buyer.email.toLowerCase());
      const headers = { 'idempotency-key': `sign-in-${sent.code_request}` };
      const first = await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code }, headers });
      assert.equal(first.statusCode, 200, first.body);
      secrets.tokens.push(first.json().session.token);
      const replay = await call('POST', '/v1/buyer/codes/verify', { body: { code_request: sent.code_request, code }, headers });
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.json().session.token, '[redacted]');
      const { rows } = await api.runtime.db.query<{ body: unknown }>('SELECT response_body AS body FROM idempotency_keys WHERE key = $1', [headers['idempotency-key']]);
      assert.equal(rows.length, 1);
      for (const row of rows) assert.ok(!JSON.stringify(row.body).includes(first.json().session.token));
    });

    it('never logs a code or a session token, and shows codes only in the outbox and tokens only at sign-in', async () => {
      assert.ok(secrets.codes.length > 3 && secrets.tokens.length > 3);
      const logs = logLines.join('');
      for (const token of secrets.tokens) assert.ok(!logs.includes(token), `a token was logged: ${logLines.find((line) => line.includes(token))}`);
      // Six digits turn up inside timestamps, durations and ids by chance; a logged code would stand alone.
      for (const code of secrets.codes) {
        const alone = new RegExp(`(?<![\\w.])${code}(?![\\w.])`);
        assert.ok(!alone.test(logs), `a code was logged: ${logLines.find((line) => alone.test(line))}`);
      }
      const apiBodies = bodies.join('\n');
      for (const code of secrets.codes) assert.ok(!apiBodies.includes(`"${code}"`), 'a code was in an API response');
      for (const token of secrets.tokens) {
        const shown = bodies.filter((body) => body.includes(token));
        assert.ok(shown.length <= 1, 'a token was shown more than once');
      }
      const { rows } = await api.runtime.db.query<{ count: bigint }>('SELECT count(*)::int8 AS count FROM buyer_sessions WHERE length(token_digest) = 32');
      assert.ok(rows[0]!.count >= BigInt(secrets.tokens.length));
    });
  });
}

describe('buyer identity without a message gateway', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi('pglite', { env: { MESSAGE_GATEWAY: 'none' } });
  });
  after(() => api.close());

  it('refuses to send codes (503, for every address alike) and has no outbox', async () => {
    const merchant = await api.createMerchant();
    const buyer = await signUpBuyer(api, merchant.publishableKey);
    for (const email of [buyer.email, 'nobody@example.com']) {
      const response = await api.call('POST', '/v1/buyer/codes', { key: merchant.publishableKey, body: { email } });
      assert.equal(response.statusCode, 503, response.body);
      assert.equal(response.json().error.code, 'message_gateway_unavailable');
    }
    assert.equal((await api.app.inject({ method: 'GET', url: '/sandbox/messages' })).statusCode, 404);
    assert.equal((await api.app.inject({ method: 'GET', url: '/sandbox/outbox' })).statusCode, 404);
  });
});
