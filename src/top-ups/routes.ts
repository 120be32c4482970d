// /v1/payment_methods (tokenise a card for a customer) and /v1/top_ups (fund a wallet from a card).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import type { CardInput } from '../vault/card.ts';
import { paymentMethodJson, TOP_UP_STATUSES, topUpJson } from './model.ts';
import { CREATE_PAYMENT_METHOD_BODY, CREATE_TOP_UP_BODY, PAYMENT_METHOD_SCHEMA, TOP_UP_SCHEMA } from './schemas.ts';
import type { Failure, TopUpService } from './service.ts';

interface CardBody {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

interface CreateTopUpBody {
  customer: string;
  amount: number;
  currency: string;
  payment_method?: string;
  card?: CardBody;
  metadata?: Record<string, string>;
}

const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;

function cardInput(card: CardBody): CardInput {
  return { number: card.number, expMonth: card.exp_month, expYear: card.exp_year, ...(card.cvc === undefined ? {} : { cvc: card.cvc }) };
}

function refuse(failure: Failure): never {
  throw new ApiError(failure.code, failure.message, failure.param);
}

export async function topUpRoutes(app: FastifyInstance, { topUps }: { topUps: TopUpService }): Promise<void> {
  app.addSchema(PAYMENT_METHOD_SCHEMA);
  app.addSchema(TOP_UP_SCHEMA);

  // The Idempotency-Key record keeps a digest of the request to recognise a repeat. A plain hash of a
  // body holding a card number could be reversed by trying the few numbers that fit a known brand and
  // last four digits, so the card fields enter it only as a keyed digest.
  const digestBody = (body: unknown): unknown => {
    const card = (body as { card?: CardBody } | null)?.card;
    if (!card || typeof card !== 'object') return body;
    return { ...(body as object), card: topUps.cardDigest(cardInput(card)) };
  };

  const methodTags = ['payment methods'];
  app.post<{ Body: { customer: string; card: CardBody } }>(
    '/v1/payment_methods',
    {
      config: { digestBody },
      schema: {
        tags: methodTags,
        summary: 'Tokenise a card for a customer (secret or publishable key)',
        description: 'The card number is encrypted in the vault and never returned; the answer shows brand, last four digits, expiry and a fingerprint.',
        body: CREATE_PAYMENT_METHOD_BODY,
        response: { 200: { $ref: 'PaymentMethod#' }, ...errorResponses() },
      },
    },
    async (request) => {
      // A publishable key may tokenise, so card numbers can go from the buyer's browser to Micropay
      // without passing through the merchant's servers.
      const principal = requireMerchant(request, { write: true, publishable: true });
      const scope = { merchantId: principal.merchantId, livemode: principal.livemode };
      const result = await topUps.createPaymentMethod(scope, { customerId: request.body.customer, card: cardInput(request.body.card) }, idSeedOf(request));
      if (!result.ok) refuse(result);
      return paymentMethodJson(result.paymentMethod);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payment_methods/:id',
    { schema: { tags: methodTags, summary: 'Retrieve a payment method', params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'PaymentMethod#' }, ...errorResponses() } } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const method = await topUps.getPaymentMethod({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!method) throw new ApiError('resource_missing', `No such payment method: ${request.params.id}.`, 'id');
      return paymentMethodJson(method);
    },
  );

  app.get<{ Querystring: { customer: string; limit?: string; starting_after?: string } }>(
    '/v1/payment_methods',
    {
      schema: {
        tags: methodTags,
        summary: "List a customer's payment methods, newest first",
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_QUERY_PROPERTIES, customer: { type: 'string', maxLength: 64 } }, required: ['customer'] },
        response: { 200: listSchema('PaymentMethod'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await topUps.listPaymentMethods(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { customerId: request.query.customer, limit: listLimit(request.query.limit), startingAfter: request.query.starting_after },
      );
      return listBody(page.data.map(paymentMethodJson), page.hasMore);
    },
  );

  const tags = ['top-ups'];
  const one = { 200: { $ref: 'TopUp#' }, ...errorResponses(409, 503) };

  app.post<{ Body: CreateTopUpBody }>(
    '/v1/top_ups',
    {
      config: { digestBody },
      schema: {
        tags,
        summary: "Fund a customer's wallet from a card",
        description:
          'Answers the top-up in its state: `succeeded` (the wallet is credited), `requires_action` (send the buyer to `next_action.url`, then confirm), or `failed` with a `failure_code`.',
        body: CREATE_TOP_UP_BODY,
        response: one,
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const body = request.body;
      const result = await topUps.create(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        {
          customerId: body.customer,
          amount: BigInt(body.amount),
          currency: body.currency,
          ...(body.payment_method === undefined ? {} : { paymentMethodId: body.payment_method }),
          ...(body.card === undefined ? {} : { card: cardInput(body.card) }),
          metadata: body.metadata ?? null,
        },
        idSeedOf(request),
      );
      if (!result.ok) refuse(result);
      return topUpJson(result.topUp);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/top_ups/:id/confirm',
    { schema: { tags, summary: 'Finish a top-up after its 3-D Secure challenge', params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: one } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const result = await topUps.confirm({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!result.ok) refuse(result);
      return topUpJson(result.topUp);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/top_ups/:id',
    { schema: { tags, summary: 'Retrieve a top-up', params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'TopUp#' }, ...errorResponses() } } },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const topUp = await topUps.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
      if (!topUp) throw new ApiError('resource_missing', `No such top-up: ${request.params.id}.`, 'id');
      return topUpJson(topUp);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string; customer?: string; status?: string } }>(
    '/v1/top_ups',
    {
      schema: {
        tags,
        summary: 'List top-ups, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...LIST_QUERY_PROPERTIES, customer: { type: 'string', maxLength: 64 }, status: { type: 'string', enum: [...TOP_UP_STATUSES] } },
        },
        response: { 200: listSchema('TopUp'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await topUps.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after, customerId: request.query.customer, status: request.query.status },
      );
      return listBody(page.data.map(topUpJson), page.hasMore);
    },
  );
}
