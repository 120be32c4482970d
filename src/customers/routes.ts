// /v1/customers and the buyer's wallet balance.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireMerchant } from '../api/http.ts';
import { amountJson } from '../payments/model.ts';
import { ID_PARAMS_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import type { Customer, CustomerService } from './service.ts';

export const CUSTOMER_SCHEMA = {
  $id: 'Customer',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['customer'] },
    livemode: { type: 'boolean' },
    email: { type: ['string', 'null'] },
    name: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'livemode', 'email', 'name', 'metadata', 'created'],
} as const;

/** A buyer wallet's balances, one per currency it ever held (the merchant's and the buyer's view). */
export const WALLET_BALANCES_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      currency: { type: 'string' },
      available: { type: 'integer', description: 'What can be spent now, minor units.' },
      pending: { type: 'integer', description: 'Reserved by holds not yet captured or released, minor units.' },
      posted: { type: 'integer', description: 'Posted balance, minor units.' },
    },
    required: ['currency', 'available', 'pending', 'posted'],
  },
} as const;

export const WALLET_SCHEMA = {
  $id: 'Wallet',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['wallet'] },
    customer: { type: 'string' },
    balances: WALLET_BALANCES_SCHEMA,
  },
  required: ['object', 'customer', 'balances'],
} as const;

export function customerJson(customer: Customer) {
  return {
    id: customer.id,
    object: 'customer' as const,
    livemode: customer.livemode,
    email: customer.email,
    name: customer.name,
    metadata: customer.metadata ?? {},
    created: Math.floor(customer.createdAt.getTime() / 1000),
  };
}

export async function customerRoutes(app: FastifyInstance, { customers }: { customers: CustomerService }): Promise<void> {
  app.addSchema(CUSTOMER_SCHEMA);
  app.addSchema(WALLET_SCHEMA);
  const tags = ['customers'];

  app.post<{ Body: { email?: string; name?: string; metadata?: Record<string, string> } }>(
    '/v1/customers',
    {
      schema: {
        tags,
        summary: 'Create a customer (and the buyer wallet behind it)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { email: { type: 'string', maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' }, name: { type: 'string', maxLength: 200 }, metadata: METADATA_SCHEMA },
        },
        response: { 200: { $ref: 'Customer#' }, ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const customer = await customers.create({ merchantId: principal.merchantId, livemode: principal.livemode }, request.body, idSeedOf(request));
      return customerJson(customer);
    },
  );

  const load = async (request: { params: { id: string } } & Parameters<typeof requireMerchant>[0]) => {
    const principal = requireMerchant(request, { write: false });
    const customer = await customers.get({ merchantId: principal.merchantId, livemode: principal.livemode }, request.params.id);
    if (!customer) throw new ApiError('resource_missing', `No such customer: ${request.params.id}.`, 'id');
    return customer;
  };

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id',
    { schema: { tags, summary: 'Retrieve a customer', params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'Customer#' }, ...errorResponses() } } },
    async (request) => customerJson(await load(request)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id/wallet',
    { schema: { tags, summary: "The customer's wallet balance per currency", params: ID_PARAMS_SCHEMA, response: { 200: { $ref: 'Wallet#' }, ...errorResponses() } } },
    async (request) => {
      const customer = await load(request);
      const balances = await customers.walletBalances(customer);
      return {
        object: 'wallet',
        customer: customer.id,
        balances: balances.map((balance) => ({
          currency: balance.currency,
          available: amountJson(balance.available),
          pending: amountJson(balance.pending),
          posted: amountJson(balance.posted),
        })),
      };
    },
  );

  app.get<{ Querystring: { limit?: string; starting_after?: string } }>(
    '/v1/customers',
    {
      schema: {
        tags,
        summary: 'List customers, oldest first',
        querystring: { type: 'object', additionalProperties: false, properties: LIST_QUERY_PROPERTIES },
        response: { 200: listSchema('Customer'), ...errorResponses() },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: false });
      const page = await customers.list(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after },
      );
      return listBody(page.data.map(customerJson), page.hasMore);
    },
  );
}
