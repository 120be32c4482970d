// /v1/checkout: what the embeddable checkout calls from the buyer's browser, with the merchant's
// publishable key and, once the buyer signed in, `Micropay-Buyer-Session` (docs/api/checkout.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, requireMerchant } from '../api/http.ts';
import type { BuyerIdentity, BuyerSession } from '../buyers/model.ts';
import type { Scope } from '../customers/service.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { topUpJson } from '../top-ups/model.ts';
import type { TopUpService } from '../top-ups/service.ts';
import type { CardInput } from '../vault/card.ts';
import { checkoutResultJson, type CheckoutResult } from './model.ts';
import {
  AUTHENTICATE_BODY,
  AUTHENTICATION_SCHEMA,
  CHECKOUT_PAYMENT_SCHEMA,
  CHECKOUT_RESULT_SCHEMA,
  CHECKOUT_VIEW_SCHEMA,
  CLIENT_SECRET_BODY,
  CONFIRM_BODY,
  TOP_UP_BODY,
  TOP_UP_CONFIRM_BODY,
  VIEW_QUERY,
} from './schemas.ts';
import type { CheckoutService, Failure, Outcome } from './service.ts';
import { requestSession } from '../buyers/session-header.ts';

interface CardBody {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

interface AuthenticateBody {
  client_secret: string;
  challenge?: string;
  credential?: Record<string, unknown>;
  code_request?: string;
  code?: string;
}

interface TopUpBody {
  client_secret: string;
  payment: string;
  amount: number;
  card?: CardBody;
  payment_method?: string;
}

function cardInput(card: CardBody): CardInput {
  return { number: card.number, expMonth: card.exp_month, expYear: card.exp_year, ...(card.cvc === undefined ? {} : { cvc: card.cvc }) };
}

function valueOf<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const failure = outcome as Failure;
  throw new ApiError(failure.code, failure.message, failure.param);
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

export async function checkoutRoutes(
  app: FastifyInstance,
  { checkout, buyerIdentity, topUps }: { checkout: CheckoutService; buyerIdentity: BuyerIdentity; topUps: TopUpService },
): Promise<void> {
  app.addSchema(CHECKOUT_PAYMENT_SCHEMA);
  app.addSchema(CHECKOUT_VIEW_SCHEMA);
  app.addSchema(CHECKOUT_RESULT_SCHEMA);
  app.addSchema(AUTHENTICATION_SCHEMA);
  const tags = ['checkout'];
  const result = { 200: { $ref: 'CheckoutResult#' }, ...errorResponses(409, 429) };

  /** The merchant and mode of the publishable (or secret) key the checkout runs with. */
  const scopeOf = (request: FastifyRequest): Scope => {
    const principal = requireMerchant(request, { write: false, publishable: true });
    return { merchantId: principal.merchantId, livemode: principal.livemode };
  };

  /** The buyer session of the request; null without the header or with one that is not live. */
  async function sessionOf(request: FastifyRequest, scope: Scope): Promise<BuyerSession | null> {
    return requestSession(request, buyerIdentity, scope.livemode);
  }

  async function requireSession(request: FastifyRequest, scope: Scope): Promise<BuyerSession> {
    const session = await sessionOf(request, scope);
    if (!session) throw new ApiError('buyer_session_required');
    return session;
  }

  const resultJson = (outcome: Outcome<CheckoutResult>) => checkoutResultJson(valueOf(outcome));

  app.get<{ Params: { id: string }; Querystring: { client_secret: string } }>(
    '/v1/checkout/payments/:id',
    {
      schema: {
        tags,
        summary: 'The checkout view of a payment (publishable key; the buyer part with a buyer session)',
        params: ID_PARAMS_SCHEMA,
        querystring: VIEW_QUERY,
        response: { 200: { $ref: 'Checkout#' }, ...errorResponses() },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      // An unknown or expired session shows the view signed out (the frame then offers to sign in).
      const session = await sessionOf(request, scope);
      return valueOf(await checkout.view(scope, request.params.id, request.query.client_secret, session));
    },
  );

  app.post<{ Params: { id: string }; Body: { client_secret: string; points_to_redeem?: number; device?: { user_agent?: string } } }>(
    '/v1/checkout/payments/:id/confirm',
    { schema: { tags, summary: 'Pay: risk and the low-value exemption choose the path (buyer session)', params: ID_PARAMS_SCHEMA, body: CONFIRM_BODY, response: result } },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const userAgent = request.body.device?.user_agent ?? request.headers['user-agent'] ?? null;
      const points = request.body.points_to_redeem === undefined ? undefined : BigInt(request.body.points_to_redeem);
      return resultJson(await checkout.confirm(scope, request.params.id, request.body.client_secret, session, { ipAddress: request.ip ?? null, userAgent }, points));
    },
  );

  app.post<{ Params: { id: string }; Body: { client_secret: string } }>(
    '/v1/checkout/payments/:id/authentication',
    {
      schema: {
        tags,
        summary: 'A passkey challenge bound to this payment (buyer session)',
        params: ID_PARAMS_SCHEMA,
        body: CLIENT_SECRET_BODY,
        response: { 200: { $ref: 'PaymentAuthentication#' }, ...errorResponses(409) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const challenge = valueOf(await checkout.authentication(scope, request.params.id, request.body.client_secret, session));
      const { spc } = challenge;
      return {
        challenge: challenge.challenge,
        expires_at: unixSeconds(challenge.expiresAt),
        options: challenge.options,
        spc: {
          rp_id: spc.rpId,
          credential_ids: spc.credentialIds,
          payee_name: spc.payeeName,
          payee_origin: spc.payeeOrigin,
          total: spc.total,
          instrument: { display_name: spc.instrument.displayName, icon: spc.instrument.icon },
        },
      };
    },
  );

  app.post<{ Params: { id: string }; Body: AuthenticateBody }>(
    '/v1/checkout/payments/:id/authenticate',
    { schema: { tags, summary: 'Confirm the payment with a passkey assertion or a one-time code (buyer session)', params: ID_PARAMS_SCHEMA, body: AUTHENTICATE_BODY, response: result } },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const body = request.body;
      const passkey = body.challenge !== undefined || body.credential !== undefined;
      const code = body.code_request !== undefined || body.code !== undefined;
      if (passkey === code) throw new ApiError('parameter_missing', 'Give challenge and credential, or code_request and code.', passkey ? 'code_request' : 'challenge');
      if (passkey && (body.challenge === undefined || body.credential === undefined)) {
        throw new ApiError('parameter_missing', 'Give challenge and credential together.', body.challenge === undefined ? 'challenge' : 'credential');
      }
      if (code && (body.code_request === undefined || body.code === undefined)) {
        throw new ApiError('parameter_missing', 'Give code_request and code together.', body.code === undefined ? 'code' : 'code_request');
      }
      const proof = passkey
        ? { challenge: body.challenge!, credential: body.credential as never }
        : { codeRequest: body.code_request!, code: body.code! };
      return resultJson(await checkout.authenticate(scope, request.params.id, body.client_secret, session, proof));
    },
  );

  app.post<{ Params: { id: string }; Body: { client_secret: string } }>(
    '/v1/checkout/payments/:id/codes',
    {
      schema: {
        tags,
        summary: 'Send a one-time code that confirms this payment (buyer session)',
        params: ID_PARAMS_SCHEMA,
        body: CLIENT_SECRET_BODY,
        response: { 200: { $ref: 'BuyerCodeRequest#' }, ...errorResponses(409, 429, 503) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const sent = valueOf(await checkout.sendCode(scope, request.params.id, request.body.client_secret, session));
      return { code_request: sent.codeRequest, channel: sent.channel, sent_to: sent.sentTo, expires_at: unixSeconds(sent.expiresAt) };
    },
  );

  // As for /v1/top_ups: the card fields enter an Idempotency-Key record only as a keyed digest.
  const digestBody = (body: unknown): unknown => {
    const card = (body as { card?: CardBody } | null)?.card;
    if (!card || typeof card !== 'object') return body;
    return { ...(body as object), card: topUps.cardDigest(cardInput(card)) };
  };

  app.post<{ Body: TopUpBody }>(
    '/v1/checkout/top_ups',
    {
      config: { digestBody },
      schema: {
        tags,
        summary: "Top the buyer's wallet up from a card, in the payment's currency (buyer session)",
        body: TOP_UP_BODY,
        response: { 200: { $ref: 'TopUp#' }, ...errorResponses(409, 503) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const body = request.body;
      const topUp = valueOf(
        await checkout.createTopUp(
          scope,
          session,
          {
            clientSecret: body.client_secret,
            paymentId: body.payment,
            amount: BigInt(body.amount),
            ...(body.card === undefined ? {} : { card: cardInput(body.card) }),
            ...(body.payment_method === undefined ? {} : { paymentMethodId: body.payment_method }),
          },
          idSeedOf(request),
        ),
      );
      return topUpJson(topUp);
    },
  );

  app.post<{ Params: { id: string }; Body: { client_secret: string; payment: string } }>(
    '/v1/checkout/top_ups/:id/confirm',
    {
      schema: {
        tags,
        summary: 'Finish a checkout top-up after its 3-D Secure challenge (buyer session)',
        params: ID_PARAMS_SCHEMA,
        body: TOP_UP_CONFIRM_BODY,
        response: { 200: { $ref: 'TopUp#' }, ...errorResponses(409, 503) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const session = await requireSession(request, scope);
      const topUp = valueOf(await checkout.confirmTopUp(scope, session, request.params.id, { clientSecret: request.body.client_secret, paymentId: request.body.payment }));
      return topUpJson(topUp);
    },
  );
}
