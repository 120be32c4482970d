// /v1/buyer/...: what the checkout frame calls in the buyer's browser, with the merchant's publishable
// key (it sets the mode) and, once signed in, the buyer session header (docs/api/buyers.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiError } from '../api/errors.ts';
import { errorResponses, listBody, listSchema, requireMerchant } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { BUYER_SESSION_HEADER } from './model.ts';
import type { BuyerAccount, BuyerFailure, BuyerIdentityService, CodeKey, CurrentSession, Device, Passkey, SignedIn } from './service.ts';
import { requestSession } from './session-header.ts';
import {
  AUTHENTICATION_OPTIONS_BODY,
  AUTHENTICATION_OPTIONS_RESPONSE,
  AUTHENTICATION_VERIFY_BODY,
  BUYER_SCHEMA,
  CODE_REQUEST_BODY,
  CODE_REQUEST_SCHEMA,
  CODE_VERIFY_BODY,
  DELETED_PASSKEY_SCHEMA,
  DEVICE_SCHEMA,
  PASSKEY_SCHEMA,
  REGISTRATION_OPTIONS_BODY,
  REGISTRATION_OPTIONS_RESPONSE,
  REGISTRATION_VERIFY_BODY,
  SIGN_IN_SCHEMA,
  SIGN_OUT_SCHEMA,
} from './schemas.ts';

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export function buyerJson(buyer: BuyerAccount) {
  return {
    id: buyer.id,
    object: 'buyer' as const,
    livemode: buyer.livemode,
    email: buyer.email,
    phone: buyer.phone,
    display_name: buyer.displayName,
    passkeys: buyer.passkeyCount,
    created: seconds(buyer.createdAt),
  };
}

function deviceJson(device: Device, currentDeviceId: string) {
  return {
    id: device.id,
    object: 'device' as const,
    name: device.name,
    current: device.id === currentDeviceId,
    created: seconds(device.createdAt),
    last_seen: seconds(device.lastSeenAt),
    revoked: device.revoked,
  };
}

function passkeyJson(passkey: Passkey) {
  return {
    id: passkey.id,
    object: 'passkey' as const,
    device_type: passkey.deviceType === 'multiDevice' ? 'multi_device' as const : 'single_device' as const,
    backed_up: passkey.backedUp,
    transports: passkey.transports,
    created: seconds(passkey.createdAt),
    last_used: passkey.lastUsedAt ? seconds(passkey.lastUsedAt) : null,
  };
}

function signedInJson(result: SignedIn) {
  return {
    buyer: buyerJson(result.buyer),
    session: { token: result.session.token, expires_at: seconds(result.session.expiresAt) },
    device: deviceJson(result.device, result.device.id),
  };
}

function refuse(failure: BuyerFailure): never {
  throw new ApiError(failure.code, failure.message, failure.param);
}

const BROWSERS: Array<[RegExp, string]> = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'], [/Chrome\//, 'Chrome'], [/Safari\//, 'Safari']];
const SYSTEMS: Array<[RegExp, string]> = [[/iPhone|iPad/, 'iOS'], [/Android/, 'Android'], [/Mac OS X|Macintosh/, 'macOS'], [/Windows/, 'Windows'], [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux']];

/** "Chrome on macOS" from a User-Agent header; "Unknown device" when it says nothing we know. */
export function deviceNameFromUserAgent(userAgent: string | undefined): string {
  const agent = (userAgent ?? '').slice(0, 500);
  const browser = BROWSERS.find(([pattern]) => pattern.test(agent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(agent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? 'Unknown device';
}

/** `walletKey`: whether a request came through the platform's wallet key (src/wallet/reach.ts); a session it
 * opens reaches the buyer's purchases at every merchant, any other session only its key's merchant's. A
 * session opened with a one-time code through a merchant's key is bound to that merchant: refused with any
 * other key (src/buyers/session-header.ts), and it cannot add a passkey. */
export async function buyerRoutes(
  app: FastifyInstance,
  { buyerIdentity, walletKey }: { buyerIdentity: BuyerIdentityService; walletKey: (request: FastifyRequest) => boolean },
): Promise<void> {
  app.addSchema(BUYER_SCHEMA);
  app.addSchema(DEVICE_SCHEMA);
  app.addSchema(PASSKEY_SCHEMA);
  app.addSchema(SIGN_IN_SCHEMA);
  app.addSchema(CODE_REQUEST_SCHEMA);

  /** The mode the merchant's key sets (publishable keys welcome: these calls come from browsers). */
  const livemodeOf = (request: FastifyRequest): boolean => requireMerchant(request, { write: false, publishable: true }).livemode;

  /** The key a one-time code is asked for or verified through: its merchant, and whether it is the wallet key. */
  const codeKeyOf = (request: FastifyRequest): CodeKey => ({
    merchantId: requireMerchant(request, { write: false, publishable: true }).merchantId,
    wallet: walletKey(request),
  });

  /** The buyer session the request carries: null when there is no header, 401 when it is not a live one
   * (or it is bound to another merchant than the key's). */
  async function sessionOf(request: FastifyRequest, livemode: boolean): Promise<CurrentSession | null> {
    const token = request.headers[BUYER_SESSION_HEADER];
    if (token === undefined) return null;
    const session = await requestSession(request, buyerIdentity, livemode, { walletKey: walletKey(request) });
    if (!session) throw new ApiError('buyer_session_required');
    return { session, token: token as string };
  }

  async function requireSession(request: FastifyRequest): Promise<CurrentSession> {
    const current = await sessionOf(request, livemodeOf(request));
    if (!current) throw new ApiError('buyer_session_required');
    return current;
  }

  const deviceNameOf = (request: FastifyRequest, given: string | undefined): string => given ?? deviceNameFromUserAgent(request.headers['user-agent']);
  const tags = ['buyers'];
  const signedIn = { 200: { $ref: 'BuyerSignIn#' }, ...errorResponses(409, 429, 503) };
  const withSession = 'Needs the `Micropay-Buyer-Session` header.';

  app.post<{ Body: { email?: string; phone?: string; display_name?: string } }>(
    '/v1/buyer/passkeys/registration/options',
    {
      schema: {
        tags,
        summary: 'Start creating a passkey: a sign-up (with email or phone), or one more passkey for the signed-in buyer (a sign-in of the last 10 minutes, not by a merchant\'s code)',
        body: REGISTRATION_OPTIONS_BODY,
        response: { 200: REGISTRATION_OPTIONS_RESPONSE, ...errorResponses(409) },
      },
    },
    async (request) => {
      const livemode = livemodeOf(request);
      const current = await sessionOf(request, livemode);
      const { email, phone, display_name: displayName } = request.body;
      const result = await buyerIdentity.registrationOptions(livemode, {
        current,
        ...(email === undefined ? {} : { email }),
        ...(phone === undefined ? {} : { phone }),
        ...(displayName === undefined ? {} : { displayName }),
      });
      if (!result.ok) refuse(result);
      return { registration: result.registration, options: result.options };
    },
  );

  app.post<{ Body: { registration: string; credential: RegistrationResponseJSON; device_name?: string } }>(
    '/v1/buyer/passkeys/registration/verify',
    { schema: { tags, summary: 'Finish creating a passkey; a sign-up answers with a new session', body: REGISTRATION_VERIFY_BODY, response: signedIn } },
    async (request) => {
      const livemode = livemodeOf(request);
      const current = await sessionOf(request, livemode);
      const result = await buyerIdentity.verifyRegistration(livemode, {
        current,
        registration: request.body.registration,
        credential: request.body.credential,
        deviceName: deviceNameOf(request, request.body.device_name),
        wallet: walletKey(request),
      });
      if (!result.ok) refuse(result);
      return signedInJson(result);
    },
  );

  app.post(
    '/v1/buyer/passkeys/authentication/options',
    { schema: { tags, summary: 'Start a passkey sign-in (discoverable credentials)', body: AUTHENTICATION_OPTIONS_BODY, response: { 200: AUTHENTICATION_OPTIONS_RESPONSE, ...errorResponses() } } },
    async (request) => {
      const result = await buyerIdentity.authenticationOptions(livemodeOf(request));
      return { authentication: result.authentication, options: result.options };
    },
  );

  app.post<{ Body: { authentication: string; credential: AuthenticationResponseJSON; device_name?: string; device?: string } }>(
    '/v1/buyer/passkeys/authentication/verify',
    { schema: { tags, summary: 'Finish a passkey sign-in; answers with a session', body: AUTHENTICATION_VERIFY_BODY, response: signedIn } },
    async (request) => {
      const result = await buyerIdentity.verifyAuthentication(livemodeOf(request), {
        authentication: request.body.authentication,
        credential: request.body.credential,
        deviceName: deviceNameOf(request, request.body.device_name),
        ...(request.body.device === undefined ? {} : { deviceId: request.body.device }),
        wallet: walletKey(request),
      });
      if (!result.ok) refuse(result);
      return signedInJson(result);
    },
  );

  app.post<{ Body: { email?: string; phone?: string } }>(
    '/v1/buyer/codes',
    {
      schema: {
        tags,
        summary: 'Send a one-time sign-in code (recovery); the same answer for an address nobody has',
        body: CODE_REQUEST_BODY,
        response: { 200: { $ref: 'BuyerCodeRequest#' }, ...errorResponses(429, 503) },
      },
    },
    async (request) => {
      const { email, phone } = request.body;
      const result = await buyerIdentity.requestSignInCode(livemodeOf(request), { ...(email === undefined ? {} : { email }), ...(phone === undefined ? {} : { phone }) }, codeKeyOf(request));
      if (!result.ok) refuse(result);
      return { code_request: result.codeRequest, channel: result.channel, sent_to: result.sentTo, expires_at: seconds(result.expiresAt) };
    },
  );

  app.post<{ Body: { code_request: string; code: string; device_name?: string; device?: string } }>(
    '/v1/buyer/codes/verify',
    { schema: { tags, summary: 'Sign in with a one-time code, through the key that asked for it; answers with a session', body: CODE_VERIFY_BODY, response: signedIn } },
    async (request) => {
      const result = await buyerIdentity.verifySignInCode(livemodeOf(request), {
        codeRequest: request.body.code_request,
        code: request.body.code,
        deviceName: deviceNameOf(request, request.body.device_name),
        ...(request.body.device === undefined ? {} : { deviceId: request.body.device }),
        key: codeKeyOf(request),
      });
      if (!result.ok) refuse(result);
      return signedInJson(result);
    },
  );

  app.get(
    '/v1/buyer/me',
    { schema: { tags, summary: 'The signed-in buyer', description: withSession, response: { 200: { $ref: 'Buyer#' }, ...errorResponses() } } },
    async (request) => {
      const { session } = await requireSession(request);
      const buyer = await buyerIdentity.account(session.buyerId);
      if (!buyer) throw new ApiError('buyer_session_required');
      return buyerJson(buyer);
    },
  );

  app.get(
    '/v1/buyer/devices',
    { schema: { tags, summary: "The buyer's remembered devices (100 most recently seen)", description: withSession, response: { 200: listSchema('BuyerDevice'), ...errorResponses() } } },
    async (request) => {
      const { session } = await requireSession(request);
      const devices = await buyerIdentity.devices(session.buyerId);
      return listBody(devices.map((device) => deviceJson(device, session.deviceId)), false);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/buyer/devices/:id',
    { schema: { tags, summary: 'Revoke a device: its sessions end at once', description: withSession, params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'BuyerDevice#' }, ...errorResponses() } } },
    async (request) => {
      const { session } = await requireSession(request);
      // A merchant's page may hold a merchant-bound token: it may sign out its own device, not others.
      if (session.merchantId !== null && request.params.id !== session.deviceId) throw new ApiError('buyer_session_merchant_bound');
      if (!(await buyerIdentity.revokeDevice(session.buyerId, request.params.id))) {
        throw new ApiError('resource_missing', `No such device: ${request.params.id}.`, 'id');
      }
      const device = await buyerIdentity.device(session.buyerId, request.params.id);
      if (!device) throw new ApiError('resource_missing', `No such device: ${request.params.id}.`, 'id');
      return deviceJson(device, session.deviceId);
    },
  );

  app.get(
    '/v1/buyer/passkeys',
    { schema: { tags, summary: "The buyer's passkeys", description: withSession, response: { 200: listSchema('Passkey'), ...errorResponses() } } },
    async (request) => {
      const { session } = await requireSession(request);
      return listBody((await buyerIdentity.passkeys(session.buyerId)).map(passkeyJson), false);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/buyer/passkeys/:id',
    {
      schema: {
        tags,
        summary: "Remove a passkey (it can no longer sign in or confirm payments); the buyer's other sessions end",
        description: withSession,
        params: ID_PARAMS_SCHEMA,
        response: { 200: DELETED_PASSKEY_SCHEMA, ...errorResponses() },
      },
    },
    async (request) => {
      const { session } = await requireSession(request);
      // Removing a passkey ends the buyer's other sessions: not for a token a merchant's page may hold.
      if (session.merchantId !== null) throw new ApiError('buyer_session_merchant_bound');
      if (!(await buyerIdentity.revokePasskey(session, request.params.id))) {
        throw new ApiError('resource_missing', `No such passkey: ${request.params.id}.`, 'id');
      }
      return { id: request.params.id, object: 'passkey', deleted: true };
    },
  );

  app.post(
    '/v1/buyer/sign_out',
    { schema: { tags, summary: 'End the current session', description: withSession, body: AUTHENTICATION_OPTIONS_BODY, response: { 200: SIGN_OUT_SCHEMA, ...errorResponses() } } },
    async (request) => {
      const { session } = await requireSession(request);
      await buyerIdentity.signOut(session);
      return { object: 'buyer_session', ended: true };
    },
  );
}
