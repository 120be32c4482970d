// The WebAuthn checks buyers' and staff's passkeys share (@simplewebauthn/server): a registration or an
// assertion verified against our relying party, with every failure, thrown or not, answered as null so
// that callers refuse with their own code and never leak why.
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  RegistrationResponseJSON,
  VerifiedAuthenticationResponse,
  VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library.ts';

export interface RelyingParty {
  rpId: string;
  origins: string[];
}

/** A stored passkey, as both stores keep it. */
export interface StoredPasskey {
  credential_id: string;
  public_key: Uint8Array;
  counter: bigint;
  transports: string[];
}

export type RegistrationInfo = NonNullable<VerifiedRegistrationResponse['registrationInfo']>;

/** A new credential (user verification required), or null when it does not verify. */
export async function verifiedRegistration(rp: RelyingParty, response: RegistrationResponseJSON, challenge: string): Promise<RegistrationInfo | null> {
  try {
    const verification = await (await webauthnLibrary()).verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpId,
      requireUserVerification: true,
    });
    return verification.verified && verification.registrationInfo ? verification.registrationInfo : null;
  } catch {
    return null;
  }
}

/** An assertion by `passkey` over `challenge`, or null. `payment` also accepts Secure Payment Confirmation's client data type. */
export async function verifiedAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  passkey: StoredPasskey,
  challenge: string,
  options: { requireUserVerification: boolean; payment?: boolean },
): Promise<VerifiedAuthenticationResponse | null> {
  try {
    const verification = await (await webauthnLibrary()).verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpId,
      expectedType: options.payment ? ['webauthn.get', 'payment.get'] : 'webauthn.get',
      credential: {
        id: passkey.credential_id,
        publicKey: new Uint8Array(passkey.public_key),
        counter: Number(passkey.counter),
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: options.requireUserVerification,
    });
    return verification.verified ? verification : null;
  } catch {
    return null;
  }
}
