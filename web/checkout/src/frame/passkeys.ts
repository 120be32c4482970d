// Passkey ceremonies in the frame: sign-in and sign-up through @simplewebauthn/browser, and the
// payment confirmation, by Secure Payment Confirmation when the browser offers it (the browser itself
// shows the payee and the amount, which the assertion then covers) and by a plain passkey otherwise.
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import type { AuthenticationChallenge } from './api.ts';

const SPC_TIMEOUT_MS = 120_000;

export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

export async function signInAssertion(options: Record<string, unknown>): Promise<AuthenticationResponseJSON> {
  return startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON });
}

export async function createPasskey(options: Record<string, unknown>): Promise<RegistrationResponseJSON> {
  return startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON });
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function toBase64Url(buffer: ArrayBuffer | ArrayBufferView): string {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** Whether this browser can confirm this payment with Secure Payment Confirmation. */
async function spcRequest(challenge: AuthenticationChallenge): Promise<PaymentRequest | null> {
  const spc = challenge.spc;
  const options = challenge.options as { challenge?: string; timeout?: number };
  if (!spc || spc.credential_ids.length === 0 || typeof options.challenge !== 'string') return null;
  if (typeof PaymentRequest === 'undefined') return null;
  try {
    const request = new PaymentRequest(
      [
        {
          supportedMethods: 'secure-payment-confirmation',
          data: {
            rpId: spc.rp_id,
            credentialIds: spc.credential_ids.map(fromBase64Url),
            challenge: fromBase64Url(options.challenge),
            instrument: { displayName: spc.instrument.display_name, icon: spc.instrument.icon },
            payeeName: spc.payee_name,
            payeeOrigin: spc.payee_origin,
            timeout: options.timeout ?? SPC_TIMEOUT_MS,
          },
        },
      ],
      { total: { label: 'Total', amount: { currency: spc.total.currency, value: spc.total.value } } },
    );
    return (await request.canMakePayment()) ? request : null;
  } catch {
    return null;
  }
}

function credentialJson(credential: PublicKeyCredential): AuthenticationResponseJSON {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: 'public-key',
    response: {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      authenticatorData: toBase64Url(response.authenticatorData),
      signature: toBase64Url(response.signature),
      ...(response.userHandle ? { userHandle: toBase64Url(response.userHandle) } : {}),
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: (credential.authenticatorAttachment ?? undefined) as AuthenticationResponseJSON['authenticatorAttachment'],
  };
}

export interface PaymentAssertion {
  credential: AuthenticationResponseJSON;
  method: 'spc' | 'passkey';
}

/**
 * Confirms the payment with one of the buyer's passkeys over the challenge the server derived from
 * the payment. SPC is tried first unless `allowSpc` is false; when the browser cannot run it the
 * plain passkey prompt is used. A buyer who cancels gets the error (NotAllowedError), not a second prompt.
 */
export async function paymentAssertion(challenge: AuthenticationChallenge, allowSpc: boolean): Promise<PaymentAssertion> {
  const request = allowSpc ? await spcRequest(challenge) : null;
  if (request) {
    try {
      const response = await request.show();
      await response.complete('success');
      return { credential: credentialJson(response.details as PublicKeyCredential), method: 'spc' };
    } catch (error) {
      const name = (error as { name?: string }).name;
      // The browser could not run SPC after all (no matching credential registered for payments, a
      // policy): fall back to the passkey. A buyer's own cancellation is reported as such.
      if (name !== 'NotSupportedError' && name !== 'SecurityError' && name !== 'InvalidStateError') throw error;
    }
  }
  const credential = await startAuthentication({ optionsJSON: challenge.options as unknown as PublicKeyCredentialRequestOptionsJSON });
  return { credential, method: 'passkey' };
}
