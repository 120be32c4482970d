// Buyer identity: sign-up and sign-in with passkeys (WebAuthn, through @simplewebauthn/server), recovery
// with one-time codes, sessions bound to remembered devices, and what the checkout needs of all this
// (BuyerIdentity in model.ts). Tokens and codes are kept only as digests; codes go out through the
// message gateway. Expected failures are values; docs/api/buyers.md describes the flows.
import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  VerifiedAuthenticationResponse,
} from '@simplewebauthn/server';
import { webauthnLibrary } from '../auth/webauthn-library.ts';
import { ApiError } from '../api/errors.ts';
import { isId, newId, randomBase62 } from '../api/ids.ts';
import { verifiedAssertion, verifiedRegistration } from '../auth/webauthn.ts';
import type { Config } from '../config/config.ts';
import type { MessageGateway } from '../messages/gateway.ts';
import { sqlState, type Database, type SqlClient } from '../store/database.ts';
import { BUYER_PASSKEY_ADD_SIGN_IN_SECONDS, type AssertionCheck, type BuyerIdentity, type BuyerProfile, type BuyerSession, type CodeCheck, type SentCode } from './model.ts';
import * as store from './store.ts';
import type { DeviceRow, PasskeyRow } from './store.ts';
import { MessageNotSentError } from '../messages/gateway.ts';

export type BuyerFailureCode =
  | 'buyer_exists'
  | 'ceremony_unknown'
  | 'ceremony_expired'
  | 'passkey_verification_failed'
  | 'code_invalid'
  | 'code_expired'
  | 'code_attempts_exceeded'
  | 'codes_rate_limited'
  | 'parameter_missing'
  | 'parameter_invalid'
  | 'buyer_sign_in_too_old'
  | 'buyer_session_merchant_bound';

export interface BuyerFailure {
  ok: false;
  code: BuyerFailureCode;
  message?: string;
  param?: string;
}

export interface Device {
  id: string;
  name: string;
  createdAt: Date;
  lastSeenAt: Date;
  revoked: boolean;
}

export interface Passkey {
  id: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface BuyerAccount extends BuyerProfile {
  passkeyCount: number;
}

/** What a sign-up, sign-in or added passkey answers: the buyer, their session and its device. */
export interface SignedIn {
  ok: true;
  buyer: BuyerAccount;
  session: { token: string; expiresAt: Date };
  device: Device;
}

/** The session a signed-in request came with, and its token (which only the caller knows). */
export interface CurrentSession {
  session: BuyerSession;
  token: string;
}

/** The key a one-time code is asked for and verified through: its merchant, and whether it is the platform's
 * wallet key (src/wallet/reach.ts). A sign-in code is verified only through the same merchant and the same
 * kind of key as the one that asked for it. */
export interface CodeKey {
  merchantId: string;
  wallet: boolean;
}

export interface BuyerIdentityService extends BuyerIdentity {
  registrationOptions(
    livemode: boolean,
    input: { current: CurrentSession | null; email?: string; phone?: string; displayName?: string },
  ): Promise<{ ok: true; registration: string; options: PublicKeyCredentialCreationOptionsJSON } | BuyerFailure>;
  verifyRegistration(
    livemode: boolean,
    input: { current: CurrentSession | null; registration: string; credential: RegistrationResponseJSON; deviceName: string; wallet?: boolean },
  ): Promise<SignedIn | BuyerFailure>;
  authenticationOptions(livemode: boolean): Promise<{ ok: true; authentication: string; options: PublicKeyCredentialRequestOptionsJSON }>;
  verifyAuthentication(
    livemode: boolean,
    input: { authentication: string; credential: AuthenticationResponseJSON; deviceName: string; deviceId?: string; wallet?: boolean },
  ): Promise<SignedIn | BuyerFailure>;
  /** Sends a sign-in code to the buyer with this address; the same answer when there is none. `key`: the key
   * that asks, which alone may verify the code. */
  requestSignInCode(livemode: boolean, address: { email?: string; phone?: string }, key: CodeKey): Promise<({ ok: true } & SentCode) | BuyerFailure>;
  /** `key`: the key the code is verified through; it must be the one that asked for it (else `code_invalid`,
   * with the code neither used nor a wrong try counted). Through the wallet key the session reaches every
   * merchant (src/wallet/reach.ts); through a merchant's key it is bound to that merchant. */
  verifySignInCode(livemode: boolean, input: { codeRequest: string; code: string; deviceName: string; deviceId?: string; key: CodeKey }): Promise<SignedIn | BuyerFailure>;
  account(buyerId: string): Promise<BuyerAccount | null>;
  devices(buyerId: string): Promise<Device[]>;
  device(buyerId: string, deviceId: string): Promise<Device | null>;
  /** Revokes the device and ends its sessions; false when it is not the buyer's or already revoked. */
  revokeDevice(buyerId: string, deviceId: string): Promise<boolean>;
  passkeys(buyerId: string): Promise<Passkey[]>;
  /** Revokes one of the session's buyer's passkeys and ends the buyer's other sessions (whoever holds the
   * passkey may hold one opened with it); false when it is not theirs or already revoked. */
  revokePasskey(session: BuyerSession, passkeyId: string): Promise<boolean>;
  signOut(session: BuyerSession): Promise<void>;
  /** Deletes long-expired ceremonies and codes; returns how many. */
  sweep(batchMax: number): Promise<number>;
}

export interface BuyerIdentityDependencies {
  db: Database;
  messages: MessageGateway;
  settings: Config['buyers'];
  /** HMAC key of code and address digests (32 bytes, derived from the vault master key). */
  digestKey: Buffer;
  /** Sign-in codes are sent after the answer rather than before it (the external gateways: see
   * `issueCode`); `onSignInCodeNotSent` hears of a message the gateway did not take. The error names no
   * address (MessageNotSentError carries the provider's codes only). */
  signInCodesAfterAnswer?: { onSignInCodeNotSent: (error: unknown) => void };
  /** Hears of a notice (a passkey added) the gateway did not take; the notice is best effort. */
  onNoticeNotSent?: (error: unknown) => void;
}

const TOKEN_PREFIX = 'mbs_';
const TOKEN_PATTERN = /^mbs_[0-9A-Za-z]{40,50}$/;
const CODE_DIGITS = 6;
const RATE_WINDOW_SECONDS = 3600;
/** A device's last_seen is written at most this often by session checks. */
const DEVICE_SEEN_RESOLUTION_MS = 60_000;
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,252}\.[^\s@]{1,63}$/;
const PHONE_PATTERN = /^\+[1-9][0-9]{6,14}$/;

export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The WebAuthn user handle of a buyer: the bytes of their id. */
const userHandleOf = (buyerId: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(buyerId, 'utf8'));

function deviceOf(row: DeviceRow): Device {
  return { id: row.id, name: row.name, createdAt: row.created_at, lastSeenAt: row.last_seen_at, revoked: row.revoked_at !== null };
}

function passkeyOf(row: PasskeyRow): Passkey {
  return { id: row.id, deviceType: row.device_type, backedUp: row.backed_up, transports: row.transports, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

export function normaliseEmail(email: string): string | null {
  const normal = email.trim().toLowerCase();
  return EMAIL_PATTERN.test(normal) && normal.length <= 254 ? normal : null;
}

export function normalisePhone(phone: string): string | null {
  const normal = phone.replace(/[\s().-]/g, '');
  return PHONE_PATTERN.test(normal) ? normal : null;
}

/** `a•••@example.com`, `+44•••••1234`: enough for the buyer to recognise, not enough to learn. */
export function maskAddress(channel: 'email' | 'sms', address: string): string {
  if (channel === 'email') {
    const at = address.lastIndexOf('@');
    return `${address.slice(0, 1)}•••${address.slice(at)}`;
  }
  return `${address.slice(0, 3)}•••••${address.slice(-4)}`;
}

function failure(code: BuyerFailureCode, message?: string, param?: string): BuyerFailure {
  return { ok: false, code, ...(message === undefined ? {} : { message }), ...(param === undefined ? {} : { param }) };
}

export function createBuyerIdentityService(deps: BuyerIdentityDependencies): BuyerIdentityService {
  const { db, messages, settings, digestKey } = deps;
  const keyedDigest = (...parts: string[]): string => createHmac('sha256', digestKey).update(parts.join('\n')).digest('base64url');
  const codeDigest = (codeRequest: string, code: string): string => keyedDigest('code', codeRequest, code);
  const addressDigest = (livemode: boolean, channel: string, address: string): string => keyedDigest('address', String(livemode), channel, address);

  async function account(buyerId: string, client: SqlClient = db): Promise<BuyerAccount | null> {
    const profile = await store.findBuyer(client, buyerId);
    return profile ? { ...profile, passkeyCount: await store.countPasskeys(client, buyerId) } : null;
  }

  /** Reuses the buyer's remembered device when it is theirs and not revoked, or remembers a new one. */
  async function deviceFor(client: SqlClient, buyerId: string, deviceName: string, deviceId: string | undefined): Promise<DeviceRow> {
    const reused = deviceId !== undefined && isId(deviceId, 'bdev') ? await store.touchDevice(client, buyerId, deviceId) : null;
    return reused ?? store.insertDevice(client, { id: newId('bdev'), buyerId, name: deviceName });
  }

  /** `opened`: through the wallet key or not, and the merchant a code session is bound to (null otherwise). */
  async function openSession(
    client: SqlClient, buyerId: string, livemode: boolean, device: DeviceRow, opened: { wallet: boolean; merchantId: string | null },
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = `${TOKEN_PREFIX}${randomBase62(32)}`;
    const expiresAt = await store.insertSession(client, {
      id: newId('bses'), tokenDigest: tokenDigest(token), buyerId, deviceId: device.id, livemode, ttlSeconds: settings.sessionTtlSeconds, ...opened,
    });
    return { token, expiresAt };
  }

  /** Opens a session on a (new or remembered) device and answers with the signed-in buyer. */
  async function signIn(
    buyerId: string, livemode: boolean, deviceName: string, deviceId: string | undefined, opened: { wallet: boolean; merchantId: string | null },
  ): Promise<SignedIn> {
    return db.transaction(async (tx) => {
      const device = await deviceFor(tx, buyerId, deviceName, deviceId);
      const session = await openSession(tx, buyerId, livemode, device, opened);
      return { ok: true as const, buyer: (await account(buyerId, tx))!, session, device: deviceOf(device) };
    });
  }

  async function ceremonyFor(id: string, kind: 'registration' | 'authentication', livemode: boolean) {
    const ceremony = isId(id, kind === 'registration' ? 'preg' : 'pauth') ? await store.consumeCeremony(db, id, kind, livemode) : null;
    if (!ceremony) return failure('ceremony_unknown', undefined, kind);
    if (ceremony.expired) return failure('ceremony_expired', undefined, kind);
    return { ok: true as const, ceremony };
  }

  async function signUpAddresses(livemode: boolean, input: { email?: string; phone?: string }) {
    if (input.email === undefined && input.phone === undefined) {
      return failure('parameter_missing', 'A new buyer needs an email or a phone number, to recover their account.', 'email');
    }
    const email = input.email === undefined ? null : normaliseEmail(input.email);
    if (input.email !== undefined && email === null) return failure('parameter_invalid', 'The email address is not valid.', 'email');
    const phone = input.phone === undefined ? null : normalisePhone(input.phone);
    if (input.phone !== undefined && phone === null) return failure('parameter_invalid', 'The phone number must be in international format (+14155550123).', 'phone');
    const taken = (email !== null && (await store.findBuyerByAddress(db, livemode, 'email', email))) || (phone !== null && (await store.findBuyerByAddress(db, livemode, 'phone', phone)));
    if (taken) return failure('buyer_exists', undefined, email !== null ? 'email' : 'phone');
    return { ok: true as const, email, phone };
  }

  function passkeyVerified(assertion: AuthenticationResponseJSON, passkey: PasskeyRow, challenge: string, options: { requireUserVerification: boolean; payment: boolean }): Promise<VerifiedAuthenticationResponse | null> {
    return verifiedAssertion(settings, assertion, passkey, challenge, options);
  }

  /** A code request row checked and its attempt recorded, in one transaction. */
  async function checkCode(codeRequest: string, code: string, matches: (row: store.CodeRow) => boolean): Promise<{ ok: true; buyerId: string } | BuyerFailure> {
    if (!isId(codeRequest, 'otp')) return failure('code_invalid', undefined, 'code_request');
    return db.transaction(async (tx) => {
      const row = await store.lockCode(tx, codeRequest);
      if (!row || !matches(row) || row.used_at !== null) return failure('code_invalid', undefined, 'code');
      if (row.expired) return failure('code_expired', undefined, 'code');
      if (row.attempts >= settings.codeAttemptsMax) return failure('code_attempts_exceeded', undefined, 'code');
      const expected = Buffer.from(row.code_digest);
      const given = Buffer.from(codeDigest(row.id, code));
      const correct = row.buyer_id !== null && expected.length === given.length && timingSafeEqual(expected, given);
      await store.recordCodeAttempt(tx, row.id, correct);
      if (correct) return { ok: true as const, buyerId: row.buyer_id! };
      return row.attempts + 1 >= settings.codeAttemptsMax ? failure('code_attempts_exceeded', undefined, 'code') : failure('code_invalid', undefined, 'code');
    });
  }

  /** Records a code for the address (and sends it when `buyerId` is known); rate-limited per address. */
  async function issueCode(
    livemode: boolean,
    target: { buyerId: string | null; channel: 'email' | 'sms'; address: string },
    purpose: 'sign_in' | 'payment',
    binding: string,
    text: string,
    key: CodeKey | null,
  ): Promise<({ ok: true } & SentCode) | BuyerFailure> {
    // Refused before anything else, for every address alike, so that the answer says nothing about who has an account.
    if (!messages.canSend(target.channel)) throw new ApiError('message_gateway_unavailable');
    const digest = addressDigest(livemode, target.channel, target.address);
    if ((await store.codesSentSince(db, digest, RATE_WINDOW_SECONDS)) >= settings.codesPerAddressPerHourMax) return failure('codes_rate_limited');
    const id = newId('otp');
    const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
    const expiresAt = await store.insertCode(db, {
      id, buyerId: target.buyerId, livemode, purpose, binding, channel: target.channel, addressDigest: digest, codeDigest: codeDigest(id, code), ttlSeconds: settings.codeTtlSeconds,
      merchantId: key?.merchantId ?? null, wallet: key?.wallet ?? false,
    });
    const signInSubject = key?.wallet ? 'Your Micropay wallet sign-in code' : 'Your Micropay sign-in code';
    const afterAnswer = deps.signInCodesAfterAnswer;
    if (target.buyerId !== null && purpose === 'sign_in' && afterAnswer) {
      // Sent without waiting: an address nobody has gets no message, so waiting for a remote relay (or
      // answering its refusal) would tell by the answer's time or status who has an account. A message
      // the gateway does not take is logged; the buyer asks for a new code. (The sandbox, whose outbox
      // development shows to anyone, records before answering.)
      const message = { channel: target.channel, to: target.address, subject: signInSubject, body: text.replaceAll('{code}', code) };
      void messages.send(message).catch((error: unknown) => afterAnswer.onSignInCodeNotSent(error));
    } else if (target.buyerId !== null) {
      const subject = purpose === 'sign_in' ? signInSubject : 'Your Micropay payment code';
      try {
        await messages.send({ channel: target.channel, to: target.address, subject, body: text.replaceAll('{code}', code) });
      } catch (error) {
        // Answered for what it is; the error names no address, so it can be logged as it is.
        if (error instanceof MessageNotSentError) throw new ApiError('message_not_sent');
        throw error;
      }
    }
    return { ok: true, codeRequest: id, channel: target.channel, sentTo: maskAddress(target.channel, target.address), expiresAt };
  }

  const codeMinutes = Math.round(settings.codeTtlSeconds / 60);

  /** Whether the session may add a passkey: one opened by a merchant's code is bound to that merchant (its
   * page may hold the token), and any other must be recent, so that a token alone (stolen, or kept by a
   * page) cannot plant a passkey that signs in everywhere and outlives it. */
  function mayAddPasskey(session: BuyerSession): BuyerFailure | null {
    if (session.merchantId !== null) return failure('buyer_session_merchant_bound');
    if (Date.now() - session.signedInAt.getTime() > BUYER_PASSKEY_ADD_SIGN_IN_SECONDS * 1000) return failure('buyer_sign_in_too_old');
    return null;
  }

  /** Tells the buyer a passkey was added, by email (else text) when the gateway can send: best effort, it
   * never fails the request. Sent after the answer with a remote gateway (see `issueCode`). */
  async function noticePasskeyAdded(buyerId: string): Promise<void> {
    const buyer = await store.findBuyer(db, buyerId);
    const target = buyer?.email ? { channel: 'email' as const, to: buyer.email } : buyer?.phone ? { channel: 'sms' as const, to: buyer.phone } : null;
    if (!target || !messages.canSend(target.channel)) return;
    const sent = messages.send({
      ...target,
      subject: 'A passkey was added to your Micropay account',
      body: 'A passkey was added to your Micropay account. If this was not you, open your Micropay wallet, remove the passkey and sign out the devices you do not know.',
    });
    const notSent = (error: unknown) => deps.onNoticeNotSent?.(error);
    if (deps.signInCodesAfterAnswer) void sent.catch(notSent);
    else await sent.catch(notSent);
  }

  return {
    async sessionFor(token, livemode) {
      if (!TOKEN_PATTERN.test(token)) return null;
      const session = await store.findLiveSession(db, tokenDigest(token), livemode);
      if (!session) return null;
      const { deviceLastSeenAt, ...live } = session;
      if (Date.now() - deviceLastSeenAt.getTime() > DEVICE_SEEN_RESOLUTION_MS) await store.touchDevice(db, live.buyerId, live.deviceId);
      return live;
    },

    profile: (buyerId) => store.findBuyer(db, buyerId),
    account: (buyerId) => account(buyerId),

    async assertionOptions(buyerId, challenge) {
      const passkeys = await store.livePasskeys(db, buyerId);
      return (await webauthnLibrary()).generateAuthenticationOptions({
        rpID: settings.rpId,
        challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
        allowCredentials: passkeys.map((passkey) => ({ id: passkey.credential_id, transports: passkey.transports as AuthenticatorTransportFuture[] })),
        userVerification: 'required',
        timeout: settings.ceremonyTtlSeconds * 1000,
      });
    },

    async verifyAssertion(buyerId, response, expectedChallenge): Promise<AssertionCheck> {
      const passkey = typeof response?.id === 'string' ? await store.findPasskeyByCredential(db, response.id) : null;
      if (!passkey || passkey.buyer_id !== buyerId || passkey.revoked_at !== null) {
        return { ok: false, code: 'credential_unknown', message: 'This passkey is not one of the buyer\'s.' };
      }
      const verification = await passkeyVerified(response, passkey, expectedChallenge, { requireUserVerification: false, payment: true });
      if (!verification) return { ok: false, code: 'authentication_failed', message: 'The passkey assertion could not be verified.' };
      if (!verification.authenticationInfo.userVerified) {
        return { ok: false, code: 'user_verification_failed', message: 'The authenticator did not verify the buyer (PIN or biometrics).' };
      }
      await store.recordPasskeyUse(db, passkey.id, verification.authenticationInfo.newCounter, verification.authenticationInfo.credentialBackedUp);
      return { ok: true, credentialId: passkey.credential_id, userVerified: true };
    },

    async sendCode(buyerId, purpose, binding, text) {
      if (!text.includes('{code}')) throw new Error('sendCode: the text must contain {code}');
      const buyer = await store.findBuyer(db, buyerId);
      if (!buyer || (buyer.email === null && buyer.phone === null)) return null;
      const target = buyer.email !== null
        ? { buyerId, channel: 'email' as const, address: buyer.email }
        : { buyerId, channel: 'sms' as const, address: buyer.phone! };
      const sent = await issueCode(buyer.livemode, target, purpose, binding, text, null);
      if (!sent.ok) throw new ApiError('codes_rate_limited');
      const { ok: _ok, ...code } = sent;
      return code;
    },

    async verifyCode(buyerId, codeRequest, code, purpose, binding): Promise<CodeCheck> {
      const result = await checkCode(codeRequest, code, (row) => row.buyer_id === buyerId && row.purpose === purpose && row.binding === binding);
      if (result.ok) return { ok: true };
      return { ok: false, code: result.code as 'code_invalid' | 'code_expired' | 'code_attempts_exceeded', message: result.message ?? '' };
    },

    async registrationOptions(livemode, input) {
      const current = input.current;
      let buyer: { id: string; email: string | null; phone: string | null; displayName: string | null };
      if (current) {
        const refused = mayAddPasskey(current.session);
        if (refused) return refused;
        const profile = (await store.findBuyer(db, current.session.buyerId))!;
        buyer = { id: profile.id, email: profile.email, phone: profile.phone, displayName: input.displayName ?? profile.displayName };
      } else {
        const addresses = await signUpAddresses(livemode, input);
        if (!addresses.ok) return addresses;
        buyer = { id: newId('buy'), email: addresses.email, phone: addresses.phone, displayName: input.displayName ?? null };
      }
      const userName = buyer.email ?? buyer.phone ?? buyer.id;
      const existing = current ? await store.livePasskeys(db, buyer.id) : [];
      const options = await (await webauthnLibrary()).generateRegistrationOptions({
        rpName: settings.rpName,
        rpID: settings.rpId,
        userName,
        userID: userHandleOf(buyer.id),
        userDisplayName: buyer.displayName ?? userName,
        timeout: settings.ceremonyTtlSeconds * 1000,
        attestationType: 'none',
        excludeCredentials: existing.map((passkey) => ({ id: passkey.credential_id, transports: passkey.transports as AuthenticatorTransportFuture[] })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        // So the passkey can also confirm payments with Secure Payment Confirmation.
        extensions: { payment: { isPayment: true } } as Record<string, unknown>,
        supportedAlgorithmIDs: [-7, -257],
      });
      const registration = newId('preg');
      await store.insertCeremony(db, {
        id: registration, kind: 'registration', livemode, challenge: options.challenge, buyer_id: buyer.id, session_id: current?.session.id ?? null,
        email: current ? null : buyer.email, phone: current ? null : buyer.phone, display_name: current ? null : buyer.displayName, ttlSeconds: settings.ceremonyTtlSeconds,
      });
      return { ok: true, registration, options };
    },

    async verifyRegistration(livemode, input) {
      const found = await ceremonyFor(input.registration, 'registration', livemode);
      if (!found.ok) return found;
      const { ceremony } = found;
      // A ceremony started by a session finishes only with that session, and a sign-up without one.
      if (ceremony.session_id !== (input.current?.session.id ?? null)) return failure('ceremony_unknown', undefined, 'registration');
      if (input.current) {
        // Checked again: the ceremony may have been started just before the session grew too old.
        const refused = mayAddPasskey(input.current.session);
        if (refused) return refused;
      }
      const info = await verifiedRegistration(settings, input.credential, ceremony.challenge);
      if (!info) return failure('passkey_verification_failed', undefined, 'credential');
      if (await store.findPasskeyByCredential(db, info.credential.id)) return failure('passkey_verification_failed', 'This passkey is registered already.', 'credential');
      const passkey = {
        id: newId('pkey'), buyer_id: ceremony.buyer_id, credential_id: info.credential.id, public_key: info.credential.publicKey,
        counter: BigInt(info.credential.counter), transports: input.credential.response.transports ?? [], device_type: info.credentialDeviceType, backed_up: info.credentialBackedUp,
      };
      if (input.current) {
        await store.insertPasskey(db, passkey);
        await noticePasskeyAdded(ceremony.buyer_id);
        const device = await store.findDevice(db, input.current.session.deviceId);
        return { ok: true, buyer: (await account(ceremony.buyer_id))!, session: { token: input.current.token, expiresAt: input.current.session.expiresAt }, device: deviceOf(device!) };
      }
      try {
        return await db.transaction(async (tx) => {
          await store.insertBuyer(tx, { id: ceremony.buyer_id, livemode, email: ceremony.email, phone: ceremony.phone, displayName: ceremony.display_name });
          await store.insertPasskey(tx, passkey);
          const device = await store.insertDevice(tx, { id: newId('bdev'), buyerId: ceremony.buyer_id, name: input.deviceName });
          // A passkey ceremony's origin check keeps it on Micropay's own pages: the session is bound to no merchant.
          const session = await openSession(tx, ceremony.buyer_id, livemode, device, { wallet: input.wallet === true, merchantId: null });
          return { ok: true as const, buyer: (await account(ceremony.buyer_id, tx))!, session, device: deviceOf(device) };
        });
      } catch (error) {
        // Two sign-ups raced for one address: the second finds it taken.
        if (sqlState(error) === '23505') return failure('buyer_exists', undefined, ceremony.email !== null ? 'email' : 'phone');
        throw error;
      }
    },

    async authenticationOptions(livemode) {
      const options = await (await webauthnLibrary()).generateAuthenticationOptions({
        rpID: settings.rpId,
        allowCredentials: [],
        userVerification: 'required',
        timeout: settings.ceremonyTtlSeconds * 1000,
      });
      const authentication = newId('pauth');
      await store.insertCeremony(db, {
        id: authentication, kind: 'authentication', livemode, challenge: options.challenge, buyer_id: '', session_id: null,
        email: null, phone: null, display_name: null, ttlSeconds: settings.ceremonyTtlSeconds,
      });
      return { ok: true, authentication, options };
    },

    async verifyAuthentication(livemode, input) {
      const found = await ceremonyFor(input.authentication, 'authentication', livemode);
      if (!found.ok) return found;
      const refused = failure('passkey_verification_failed', undefined, 'credential');
      const passkey = typeof input.credential?.id === 'string' ? await store.findPasskeyByCredential(db, input.credential.id) : null;
      // A passkey of the other mode's buyer does not exist for this one.
      if (!passkey || passkey.revoked_at !== null || passkey.livemode !== livemode) return refused;
      const userHandle = input.credential.response?.userHandle;
      if (userHandle !== undefined && userHandle !== Buffer.from(userHandleOf(passkey.buyer_id)).toString('base64url')) return refused;
      const verification = await passkeyVerified(input.credential, passkey, found.ceremony.challenge, { requireUserVerification: true, payment: false });
      if (!verification) return refused;
      await store.recordPasskeyUse(db, passkey.id, verification.authenticationInfo.newCounter, verification.authenticationInfo.credentialBackedUp);
      return signIn(passkey.buyer_id, livemode, input.deviceName, input.deviceId, { wallet: input.wallet === true, merchantId: null });
    },

    async requestSignInCode(livemode, address, key) {
      if ((address.email === undefined) === (address.phone === undefined)) return failure('parameter_invalid', 'Send either an email or a phone number.', 'email');
      const channel = address.email !== undefined ? 'email' as const : 'sms' as const;
      const normal = address.email !== undefined ? normaliseEmail(address.email) : normalisePhone(address.phone!);
      if (normal === null) return failure('parameter_invalid', channel === 'email' ? 'The email address is not valid.' : 'The phone number must be in international format (+14155550123).', channel === 'email' ? 'email' : 'phone');
      const buyer = await store.findBuyerByAddress(db, livemode, channel === 'email' ? 'email' : 'phone', normal);
      // A wallet code says where it belongs: a merchant's page asking for it is phishing.
      const text = key.wallet
        ? `Micropay wallet: your sign-in code is {code}. Enter it only on the Micropay wallet page, never on a shop's site. It expires in ${codeMinutes} minutes.`
        : `Micropay: your sign-in code is {code}. It expires in ${codeMinutes} minutes; never share it.`;
      return issueCode(livemode, { buyerId: buyer?.id ?? null, channel, address: normal }, 'sign_in', '', text, key);
    },

    async verifySignInCode(livemode, input) {
      const { key } = input;
      // Only the key that asked for the code verifies it (same merchant, and the wallet key only for a code
      // asked for through it); any other is answered as an unknown code, before the code is looked at.
      const checked = await checkCode(
        input.codeRequest,
        input.code,
        (row) => row.purpose === 'sign_in' && row.livemode === livemode && row.merchant_id === key.merchantId && row.wallet === key.wallet,
      );
      if (!checked.ok) return checked;
      // A merchant's page that verified the code holds the token: the session is bound to that merchant.
      return signIn(checked.buyerId, livemode, input.deviceName, input.deviceId, { wallet: key.wallet, merchantId: key.wallet ? null : key.merchantId });
    },

    devices: async (buyerId) => (await store.listDevices(db, buyerId)).map(deviceOf),
    async device(buyerId, deviceId) {
      const row = isId(deviceId, 'bdev') ? await store.findDevice(db, deviceId) : null;
      return row && row.buyer_id === buyerId ? deviceOf(row) : null;
    },
    revokeDevice: (buyerId, deviceId) => (isId(deviceId, 'bdev') ? db.transaction((tx) => store.revokeDevice(tx, buyerId, deviceId)) : Promise.resolve(false)),
    passkeys: async (buyerId) => (await store.livePasskeys(db, buyerId)).map(passkeyOf),
    async revokePasskey(session, passkeyId) {
      if (!isId(passkeyId, 'pkey')) return false;
      return db.transaction(async (tx) => {
        if (!(await store.revokePasskey(tx, session.buyerId, passkeyId))) return false;
        // Whoever holds the removed passkey may hold a session opened with it: every other session ends.
        await store.endOtherSessions(tx, session.buyerId, session.id);
        return true;
      });
    },
    signOut: (session) => store.endSession(db, session.id),
    sweep: (batchMax) => store.sweepExpired(db, batchMax),
  };
}
