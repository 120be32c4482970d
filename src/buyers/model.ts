// Buyer identity as the rest of the system sees it: a buyer signs in with a passkey (or, to recover, a
// one-time code) and gets a session bound to a remembered device. The checkout uses this interface to
// know who is paying and to verify a passkey assertion made for one payment (docs/api/buyers.md).
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

/** The header a browser sends its buyer session in, next to `Authorization: Bearer pk_...`. */
export const BUYER_SESSION_HEADER = 'micropay-buyer-session';

export interface BuyerSession {
  id: string;
  buyerId: string;
  /** The remembered device the session was opened on (`bdev_...`). */
  deviceId: string;
  livemode: boolean;
  expiresAt: Date;
  /** Opened through the platform's wallet key: the only sessions that reach the buyer's purchases at every
   * merchant (src/wallet/reach.ts); a session opened with a merchant's key reaches that merchant's only. */
  wallet: boolean;
  /** The merchant whose key opened the session with a one-time code (its page holds the token): the session
   * is refused with any other merchant's key, and with the wallet key. Null for a session opened by a
   * passkey ceremony (WebAuthn's origin check keeps it on Micropay's own pages) or through the wallet key. */
  merchantId: string | null;
  /** When the session was opened (the sign-in): adding a passkey needs a recent one. */
  signedInAt: Date;
}

/** Adding a passkey needs a sign-in this recent: a stolen session token alone cannot plant one. */
export const BUYER_PASSKEY_ADD_SIGN_IN_SECONDS = 10 * 60;

export interface BuyerProfile {
  id: string;
  livemode: boolean;
  email: string | null;
  phone: string | null;
  displayName: string | null;
  createdAt: Date;
}

export type AssertionCheck =
  | { ok: true; credentialId: string; userVerified: boolean }
  | { ok: false; code: 'authentication_failed' | 'user_verification_failed' | 'credential_unknown'; message: string };

export type CodeCheck = { ok: true } | { ok: false; code: 'code_invalid' | 'code_expired' | 'code_attempts_exceeded'; message: string };

export interface SentCode {
  /** `otp_...`: what the code is checked against. */
  codeRequest: string;
  channel: 'email' | 'sms';
  /** The address, masked (`a•••@example.com`, `+44•••••1234`). */
  sentTo: string;
  expiresAt: Date;
}

/** What the checkout needs of buyer identity. */
export interface BuyerIdentity {
  /** The live session of a token, in this mode; null when unknown, expired, ended or its device revoked. */
  sessionFor(token: string, livemode: boolean): Promise<BuyerSession | null>;
  profile(buyerId: string): Promise<BuyerProfile | null>;
  /** Request options for a passkey assertion over `challenge` (base64url), limited to the buyer's
   * credentials, user verification required. */
  assertionOptions(buyerId: string, challenge: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Verifies an assertion by one of the buyer's passkeys over exactly `expectedChallenge`
   * (base64url); updates the credential's counter. */
  verifyAssertion(buyerId: string, response: AuthenticationResponseJSON, expectedChallenge: string): Promise<AssertionCheck>;
  /** Sends a one-time code to the buyer's email or phone with `text` (which must contain `{code}`);
   * `binding` ties the code to what it confirms (a payment's id, amount, currency and payee). */
  sendCode(buyerId: string, purpose: 'payment', binding: string, text: string): Promise<SentCode | null>;
  /** Checks a code sent by `sendCode` for this buyer, purpose and binding; single use, bounded attempts. */
  verifyCode(buyerId: string, codeRequest: string, code: string, purpose: 'payment', binding: string): Promise<CodeCheck>;
}
