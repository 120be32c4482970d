// A software WebAuthn authenticator for server-side tests: it holds ES256 key pairs made with node:crypto,
// answers registration options with a `none` attestation (CBOR) and request options with assertions
// signed over authenticatorData || SHA-256(clientDataJSON), the way a platform authenticator would.
// Every part a test may want to break (user verification, user presence, the challenge, the origin, the
// counter, the credential used) can be overridden per call.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;
const FLAG_BACKUP_ELIGIBLE = 0x08;
const FLAG_BACKED_UP = 0x10;
const FLAG_ATTESTED_CREDENTIAL_DATA = 0x40;

export interface SoftwareCredential {
  /** base64url of the raw credential id. */
  id: string;
  rpId: string;
  /** base64url of user.id given at registration (returned as userHandle). */
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
}

export interface CeremonyOverrides {
  /** The origin written into clientDataJSON; default: the authenticator's origin. */
  origin?: string;
  /** Sign over this challenge instead of the one in the options (base64url). */
  challenge?: string;
  /** The RP ID hashed into authenticatorData; default: from the options or the origin's hostname. */
  rpId?: string;
  /** UV flag; default true. */
  userVerified?: boolean;
  /** UP flag; default true. */
  userPresent?: boolean;
}

export interface AssertionOverrides extends CeremonyOverrides {
  /** Use this credential (base64url id) even if the options do not allow it. */
  credentialId?: string;
  /** Counter to write instead of the stored counter + 1 (the stored one is updated to it). */
  counter?: number;
  /** `payment.get` for a Secure Payment Confirmation assertion; default `webauthn.get`. */
  clientDataType?: 'webauthn.get' | 'payment.get';
  /** Extra clientData members (e.g. `payment` for SPC). */
  clientDataExtra?: Record<string, unknown>;
  /** Leave out userHandle (as some authenticators do for non-discoverable credentials). */
  omitUserHandle?: boolean;
}

export interface SoftwareAuthenticator {
  readonly origin: string;
  readonly credentials: SoftwareCredential[];
  /** Answers navigator.credentials.create() for these options; keeps the new credential. */
  register(options: PublicKeyCredentialCreationOptionsJSON, overrides?: CeremonyOverrides): RegistrationResponseJSON;
  /** Answers navigator.credentials.get(): with an empty allowCredentials, the newest discoverable
   * credential of the RP (as a passkey picker would); otherwise the first allowed one held. */
  authenticate(options: PublicKeyCredentialRequestOptionsJSON, overrides?: AssertionOverrides): AuthenticationResponseJSON;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter >>> 0, 0);
  return bytes;
}

function coseKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const key = new Map<number, CBORType>([
    [1, 2], // kty: EC2
    [3, -7], // alg: ES256
    [-1, 1], // crv: P-256
    [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
    [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
  ]);
  return encodeCBOR(key);
}

function flags(overrides: CeremonyOverrides, extra: number): number {
  let value = extra | FLAG_BACKUP_ELIGIBLE | FLAG_BACKED_UP;
  if (overrides.userPresent !== false) value |= FLAG_USER_PRESENT;
  if (overrides.userVerified !== false) value |= FLAG_USER_VERIFIED;
  return value;
}

export function createAuthenticator(options: { origin: string }): SoftwareAuthenticator {
  const origin = options.origin;
  const credentials: SoftwareCredential[] = [];
  const defaultRpId = new URL(origin).hostname;

  return {
    origin,
    credentials,

    register(creation, overrides = {}) {
      const rpId = overrides.rpId ?? creation.rp.id ?? defaultRpId;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const rawId = randomBytes(32);
      const clientDataJSON = Buffer.from(JSON.stringify({
        type: 'webauthn.create',
        challenge: overrides.challenge ?? creation.challenge,
        origin: overrides.origin ?? origin,
        crossOrigin: false,
      }));
      const credentialIdLength = Buffer.alloc(2);
      credentialIdLength.writeUInt16BE(rawId.length, 0);
      const authenticatorData = Buffer.concat([
        sha256(rpId),
        Buffer.from([flags(overrides, FLAG_ATTESTED_CREDENTIAL_DATA)]),
        counterBytes(0),
        Buffer.alloc(16), // AAGUID: zeros, as `none` attestation allows
        credentialIdLength,
        rawId,
        coseKey(publicKey),
      ]);
      const attestationObject = encodeCBOR(new Map<string, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, CBORType>()],
        ['authData', new Uint8Array(authenticatorData)],
      ]));
      const id = base64url(rawId);
      credentials.push({ id, rpId, userHandle: creation.user.id, privateKey, counter: 0 });
      return {
        id,
        rawId: id,
        type: 'public-key',
        response: {
          clientDataJSON: base64url(clientDataJSON),
          attestationObject: base64url(attestationObject),
          transports: ['internal', 'hybrid'],
          publicKeyAlgorithm: -7,
          publicKey: base64url(publicKey.export({ format: 'der', type: 'spki' })),
          authenticatorData: base64url(authenticatorData),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },

    authenticate(request, overrides = {}) {
      const rpId = overrides.rpId ?? request.rpId ?? defaultRpId;
      const allowed = (request.allowCredentials ?? []).map((descriptor) => descriptor.id);
      const credential = overrides.credentialId !== undefined
        ? credentials.find((candidate) => candidate.id === overrides.credentialId)
        : allowed.length === 0
          ? [...credentials].reverse().find((candidate) => candidate.rpId === rpId)
          : credentials.find((candidate) => allowed.includes(candidate.id));
      if (!credential) throw new Error('software authenticator: no credential for these options');
      credential.counter = overrides.counter ?? credential.counter + 1;
      const clientDataJSON = Buffer.from(JSON.stringify({
        type: overrides.clientDataType ?? 'webauthn.get',
        challenge: overrides.challenge ?? request.challenge,
        origin: overrides.origin ?? origin,
        crossOrigin: false,
        ...overrides.clientDataExtra,
      }));
      const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags(overrides, 0)]), counterBytes(credential.counter)]);
      const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey);
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: base64url(clientDataJSON),
          authenticatorData: base64url(authenticatorData),
          signature: base64url(signature),
          ...(overrides.omitUserHandle ? {} : { userHandle: credential.userHandle }),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
  };
}
