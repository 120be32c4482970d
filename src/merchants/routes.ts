// /v1/merchants (operator) and /v1/account, /v1/balance (a merchant about itself).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant, requireOperator } from '../api/http.ts';
import type { Books } from '../books/service.ts';
import { amountJson } from '../payments/model.ts';
import { ID_PARAMS_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import type { Merchant, MerchantService } from './service.ts';

export const MERCHANT_SCHEMA = {
  $id: 'Merchant',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['merchant'] },
    name: { type: 'string' },
    fee_bps: { type: 'integer' },
    fee_fixed: { type: 'object', additionalProperties: { type: 'integer' } },
    status: { type: 'string' },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'name', 'fee_bps', 'fee_fixed', 'status', 'created'],
} as const;

export const BALANCE_SCHEMA = {
  $id: 'Balance',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['balance'] },
    livemode: { type: 'boolean' },
    balances: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          currency: { type: 'string' },
          available: { type: 'integer' },
          pending: { type: 'integer' },
        },
        required: ['currency', 'available', 'pending'],
      },
    },
  },
  required: ['object', 'livemode', 'balances'],
} as const;

export function merchantJson(merchant: Merchant) {
  return {
    id: merchant.id,
    object: 'merchant' as const,
    name: merchant.name,
    fee_bps: merchant.feeBps,
    fee_fixed: Object.fromEntries(Object.entries(merchant.feeFixed).map(([currency, value]) => [currency, amountJson(value)])),
    status: merchant.status,
    metadata: merchant.metadata ?? {},
    created: Math.floor(merchant.createdAt.getTime() / 1000),
  };
}

export async function merchantRoutes(app: FastifyInstance, deps: { merchants: MerchantService; books: Books }): Promise<void> {
  const { merchants, books } = deps;
  app.addSchema(MERCHANT_SCHEMA);
  app.addSchema(BALANCE_SCHEMA);
  const one = { 200: { $ref: 'Merchant#' }, ...errorResponses() };

  app.post<{ Body: { name: string; fee_bps?: number; fee_fixed?: Record<string, number>; metadata?: Record<string, string> } }>(
    '/v1/merchants',
    {
      schema: {
        tags: ['operator'],
        summary: 'Create a merchant (operator)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            fee_bps: { type: 'integer', minimum: 0, maximum: 10_000 },
            fee_fixed: { type: 'object', maxProperties: 50, propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'integer', minimum: 0, maximum: 1_000_000_000 } },
            metadata: METADATA_SCHEMA,
          },
          required: ['name'],
        },
        response: one,
      },
    },
    async (request) => {
      requireOperator(request, { write: true });
      const { name, fee_bps, fee_fixed, metadata } = request.body;
      const merchant = await merchants.create({
        name,
        feeBps: fee_bps,
        feeFixed: Object.fromEntries(Object.entries(fee_fixed ?? {}).map(([currency, value]) => [currency, BigInt(value)])),
        metadata,
      });
      return merchantJson(merchant);
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string } }>(
    '/v1/merchants',
    {
      schema: {
        tags: ['operator'],
        summary: 'List merchants (operator)',
        querystring: { type: 'object', additionalProperties: false, properties: LIST_QUERY_PROPERTIES },
        response: { 200: listSchema('Merchant'), ...errorResponses() },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const page = await merchants.list({ limit: listLimit(request.query.limit), startingAfter: request.query.starting_after });
      return listBody(page.data.map(merchantJson), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/merchants/:id',
    { schema: { tags: ['operator'], summary: 'Retrieve a merchant (operator)', params: ID_PARAMS_SCHEMA, response: one } },
    async (request) => {
      requireOperator(request, { write: false });
      const merchant = await merchants.get(request.params.id);
      if (!merchant) throw new ApiError('resource_missing', `No such merchant: ${request.params.id}.`, 'id');
      return merchantJson(merchant);
    },
  );

  app.get('/v1/account', { schema: { tags: ['account'], summary: 'The calling merchant', response: one } }, async (request) => {
    const principal = requireMerchant(request, { write: false, publishable: true });
    return merchantJson((await merchants.get(principal.merchantId))!);
  });

  app.get('/v1/balance', { schema: { tags: ['account'], summary: "The merchant's balance per currency", response: { 200: { $ref: 'Balance#' }, ...errorResponses() } } }, async (request) => {
    const principal = requireMerchant(request, { write: false });
    const balances = (await books.balancesByCurrency('merchant', principal.merchantId, principal.livemode)).map((balance) => ({
      currency: balance.currency,
      available: amountJson(balance.available),
      pending: amountJson(balance.pending),
    }));
    return { object: 'balance', livemode: principal.livemode, balances };
  });
}
