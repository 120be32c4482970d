// What the wallet app (web/wallet) needs beyond the buyer endpoints of other domains (docs/api/wallet.md):
// spending per day for the balance chart, points at each merchant, and a top-up of the wallet from a
// new or saved card outside any checkout (with its 3-D Secure confirmation). All need the buyer's session; the key
// sets the mode and the reach (src/wallet/reach.ts): every merchant through the wallet key, else the
// key's merchant only.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, listBody, listSchema } from '../api/http.ts';
import type { CustomerService } from '../customers/service.ts';
import { balanceJson } from '../loyalty/model.ts';
import type { LoyaltyService } from '../loyalty/service.ts';
import { amountJson } from '../payments/model.ts';
import { AMOUNT_SCHEMA, CURRENCY_SCHEMA, EMPTY_BODY, ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import type { Database } from '../store/database.ts';
import { paymentMethodJson, topUpJson } from '../top-ups/model.ts';
import { CARD_INPUT_SCHEMA } from '../top-ups/schemas.ts';
import type { TopUpService } from '../top-ups/service.ts';
import type { CardInput } from '../vault/card.ts';
import type { BuyerReachOf } from './reach.ts';
import { buyerMerchants, spendingByDay } from './store.ts';

/** Days of spending one request reads: a year. */
export const SPENDING_DAYS_MAX = 366;
const SPENDING_DAYS_DEFAULT = 90;
/** Saved cards offered for a top-up, newest first. */
const SAVED_CARDS_MAX = 10;
/** Merchants listed with points: the buyer's first 100 by name. */
export const POINTS_MERCHANTS_MAX = 100;

interface CardBody {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

const cardInput = (card: CardBody): CardInput => ({ number: card.number, expMonth: card.exp_month, expYear: card.exp_year, ...(card.cvc === undefined ? {} : { cvc: card.cvc }) });

const SPENDING_SCHEMA = {
  $id: 'BuyerSpending',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['buyer_spending'] },
    livemode: { type: 'boolean' },
    since: { type: 'string', description: 'The first UTC day counted, YYYY-MM-DD.' },
    days: {
      type: 'array',
      description: 'One entry per UTC day and currency with any movement, oldest first; days without one are left out.',
      items: {
        type: 'object',
        properties: {
          date: { type: 'string' },
          currency: { type: 'string' },
          spent: { type: 'integer', description: "Captured by the buyer's succeeded payments made that day (minor units)." },
          refunded: { type: 'integer', description: 'Refunded to the buyer that day (minor units).' },
        },
        required: ['date', 'currency', 'spent', 'refunded'],
      },
    },
  },
  required: ['object', 'livemode', 'since', 'days'],
} as const;

const MERCHANT_POINTS_SCHEMA = {
  $id: 'MerchantPoints',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['merchant_points'] },
    merchant: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, required: ['id', 'name'] },
    points: { $ref: 'PointsBalance#' },
  },
  required: ['object', 'merchant', 'points'],
} as const;

const WALLET_TOP_UP_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amount: AMOUNT_SCHEMA,
    currency: CURRENCY_SCHEMA,
    card: CARD_INPUT_SCHEMA,
    payment_method: { type: 'string', maxLength: 64, description: "A saved card (`card_...`) of the buyer at the key's merchant." },
  },
  required: ['amount', 'currency'],
} as const;

export interface WalletRouteDependencies {
  db: Database;
  buyerReach: BuyerReachOf;
  loyalty: Pick<LoyaltyService, 'balanceOfBuyer'>;
  customers: Pick<CustomerService, 'findOrCreateForBuyer' | 'findForBuyer'>;
  topUps: Pick<TopUpService, 'create' | 'get' | 'confirm' | 'cardDigest' | 'listPaymentMethods'>;
}

export async function walletRoutes(app: FastifyInstance, deps: WalletRouteDependencies): Promise<void> {
  app.addSchema(SPENDING_SCHEMA);
  app.addSchema(MERCHANT_POINTS_SCHEMA);
  const tags = ['buyer wallet'];
  const withSession = "Needs the `Micropay-Buyer-Session` header. Through the wallet key it covers every merchant; through a merchant's key, that merchant only.";

  app.get<{ Querystring: { days?: string } }>(
    '/v1/buyer/spending',
    {
      schema: {
        tags,
        summary: "The buyer's spending and refunds per day and currency (for the wallet's chart)",
        description: withSession,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { days: { type: 'string', pattern: '^[0-9]{1,3}$', description: `1 to ${SPENDING_DAYS_MAX} days back from today (UTC), default ${SPENDING_DAYS_DEFAULT}.` } },
        },
        response: { 200: { $ref: 'BuyerSpending#' }, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const reach = await deps.buyerReach(request);
      const days = request.query.days === undefined ? SPENDING_DAYS_DEFAULT : Number(request.query.days);
      if (days < 1 || days > SPENDING_DAYS_MAX) throw new ApiError('parameter_invalid', `days must be 1 to ${SPENDING_DAYS_MAX}.`, 'days');
      const today = new Date();
      const since = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - (days - 1)));
      const rows = await spendingByDay(deps.db, reach, since);
      reply.header('cache-control', 'no-store');
      return {
        object: 'buyer_spending',
        livemode: reach.livemode,
        since: since.toISOString().slice(0, 10),
        days: rows.map((row) => ({ date: row.date, currency: row.currency, spent: amountJson(row.spent), refunded: amountJson(row.refunded) })),
      };
    },
  );

  app.get(
    '/v1/buyer/merchant_points',
    {
      schema: {
        tags,
        summary: "The buyer's points at each merchant they are a customer of (the first 100 by name)",
        description: withSession,
        response: { 200: listSchema('MerchantPoints'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const reach = await deps.buyerReach(request);
      const merchants = await buyerMerchants(deps.db, reach, POINTS_MERCHANTS_MAX);
      const balances = await Promise.all(merchants.map((merchant) => deps.loyalty.balanceOfBuyer({ merchantId: merchant.id, livemode: reach.livemode }, reach.buyerId)));
      reply.header('cache-control', 'no-store');
      return listBody(
        merchants.map((merchant, index) => ({ object: 'merchant_points', merchant, points: balanceJson(balances[index]!) })),
        false,
      );
    },
  );

  app.get(
    '/v1/buyer/payment_methods',
    {
      schema: {
        tags,
        summary: "The buyer's saved cards at the key's merchant (where a top-up from the wallet is recorded), newest first, at most 10",
        description: 'Needs the `Micropay-Buyer-Session` header. Cards are tokens: brand, last four digits and expiry, never the number.',
        response: { 200: listSchema('PaymentMethod'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const reach = await deps.buyerReach(request);
      const scope = { merchantId: reach.keyMerchantId, livemode: reach.livemode };
      const customer = await deps.customers.findForBuyer(scope, reach.buyerId);
      reply.header('cache-control', 'no-store');
      if (!customer) return listBody([], false);
      const page = await deps.topUps.listPaymentMethods(scope, { customerId: customer.id, limit: SAVED_CARDS_MAX });
      return listBody(page.data.map(paymentMethodJson), false);
    },
  );

  // As for /v1/top_ups: the card fields enter an Idempotency-Key record only as a keyed digest.
  const digestBody = (body: unknown): unknown => {
    const card = (body as { card?: CardBody } | null)?.card;
    if (!card || typeof card !== 'object') return body;
    return { ...(body as object), card: deps.topUps.cardDigest(cardInput(card)) };
  };

  app.post<{ Body: { amount: number; currency: string; card?: CardBody; payment_method?: string } }>(
    '/v1/buyer/top_ups',
    {
      config: { digestBody },
      schema: {
        tags,
        summary: "Top the buyer's wallet up from a card (recorded at the key's merchant); may need 3-D Secure",
        description: `${withSession} A \`requires_action\` answer has \`next_action.url\` for the bank's page; then POST .../confirm.`,
        body: WALLET_TOP_UP_BODY,
        response: { 200: { $ref: 'TopUp#' }, ...errorResponses(402, 409, 503) },
      },
    },
    async (request) => {
      const reach = await deps.buyerReach(request, { write: true });
      const scope = { merchantId: reach.keyMerchantId, livemode: reach.livemode };
      const customer = await deps.customers.findOrCreateForBuyer(scope, reach.buyerId);
      const body = request.body;
      const result = await deps.topUps.create(
        scope,
        {
          customerId: customer.id,
          amount: BigInt(body.amount),
          currency: body.currency,
          ...(body.card === undefined ? {} : { card: cardInput(body.card) }),
          ...(body.payment_method === undefined ? {} : { paymentMethodId: body.payment_method }),
          metadata: { source: 'wallet' },
        },
        idSeedOf(request),
      );
      if (!result.ok) throw new ApiError(result.code, result.message, result.param);
      return topUpJson(result.topUp);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/buyer/top_ups/:id/confirm',
    {
      schema: {
        tags,
        summary: 'Finish a wallet top-up after its 3-D Secure challenge',
        description: withSession,
        params: ID_PARAMS_SCHEMA,
        body: EMPTY_BODY,
        response: { 200: { $ref: 'TopUp#' }, ...errorResponses(402, 409, 503) },
      },
    },
    async (request) => {
      const reach = await deps.buyerReach(request, { write: true });
      const scope = { merchantId: reach.keyMerchantId, livemode: reach.livemode };
      const topUp = await deps.topUps.get(scope, request.params.id);
      // Another buyer's top-up (or one at another merchant) is missing, as if it did not exist.
      if (!topUp || topUp.buyerId !== reach.buyerId) throw new ApiError('resource_missing', `No such top-up: ${request.params.id}.`, 'id');
      const result = await deps.topUps.confirm(scope, request.params.id);
      if (!result.ok) throw new ApiError(result.code, result.message, result.param);
      return topUpJson(result.topUp);
    },
  );
}
