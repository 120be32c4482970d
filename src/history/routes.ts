// /v1/buyer/history: the signed-in buyer's payments, top-ups and refunds in the mode the key sets, as
// pages of JSON or as CSV. The key also sets the reach (src/wallet/reach.ts): at every merchant through
// the platform's wallet key, at the key's merchant only through any other key. docs/api/history.md.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorResponses, listBody, listLimit, listSchema } from '../api/http.ts';
import type { LineItemCategory } from '../payments/model.ts';
import { csvHeader, csvRow } from './csv.ts';
import { historyEntryJson, type HistoryEntryType, type HistoryFilters, type HistoryScope } from './model.ts';
import { HISTORY_ENTRY_SCHEMA, HISTORY_EXPORT_QUERY, HISTORY_LIST_QUERY } from './schemas.ts';
import type { HistoryService } from './service.ts';
import type { BuyerReachOf } from '../wallet/reach.ts';

interface FilterQuery {
  merchant?: string;
  category?: LineItemCategory;
  status?: string;
  type?: HistoryEntryType;
  'created[gte]'?: string;
  'created[lte]'?: string;
  q?: string;
}

export const EXPORT_FILE_NAME = 'micropay-history.csv';
function filtersOf(query: FilterQuery): HistoryFilters {
  const gte = query['created[gte]'];
  const lte = query['created[lte]'];
  return {
    merchantId: query.merchant,
    category: query.category,
    status: query.status,
    type: query.type,
    createdGte: gte === undefined ? undefined : Number(gte),
    createdLte: lte === undefined ? undefined : Number(lte),
    query: query.q,
  };
}

export async function historyRoutes(app: FastifyInstance, deps: { history: HistoryService; buyerReach: BuyerReachOf }): Promise<void> {
  const { history, buyerReach } = deps;
  app.addSchema(HISTORY_ENTRY_SCHEMA);

  /** The buyer, mode and reach of the request: the session header names the buyer (401 without a live
   * one), the key sets the mode and whether every merchant or only its own is reached. */
  async function scopeOf(request: FastifyRequest): Promise<HistoryScope> {
    const reach = await buyerReach(request);
    return { buyerId: reach.buyerId, livemode: reach.livemode, merchantId: reach.merchantId };
  }

  const tags = ['buyers'];
  const withSession =
    "Needs the `Micropay-Buyer-Session` header. Through the platform's wallet key it covers every merchant; through a merchant's key (publishable or secret), that merchant only (a `merchant` filter naming another gives an empty list).";

  app.get<{ Querystring: FilterQuery & { limit?: string; starting_after?: string } }>(
    '/v1/buyer/history',
    {
      schema: {
        tags,
        summary: "The buyer's payments, top-ups and refunds, newest first: at every merchant through the wallet key, else at the key's merchant (buyer session)",
        description: withSession,
        querystring: HISTORY_LIST_QUERY,
        response: { 200: listSchema('HistoryEntry'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const scope = await scopeOf(request);
      const page = await history.list(scope, filtersOf(request.query), { limit: listLimit(request.query.limit), startingAfter: request.query.starting_after });
      void reply.header('cache-control', 'no-store');
      return listBody(page.data.map(historyEntryJson), page.hasMore);
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/v1/buyer/history.csv',
    {
      schema: {
        tags,
        summary: "The buyer's history as CSV, with the same filters (buyer session)",
        description: `${withSession} At most 50,000 rows, newest first; export a longer history in date ranges.`,
        querystring: HISTORY_EXPORT_QUERY,
        response: {
          200: { description: 'RFC 4180 CSV with a header row.', content: { 'text/csv': { schema: { type: 'string' } } } },
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      // Everything that can refuse the request runs before the first byte, so a refusal is still JSON.
      const scope = await scopeOf(request);
      const filters = filtersOf(request.query);
      // The first page too: a query the database refuses is answered as an error, not as a CSV cut off
      // after its header row.
      const pages = history.exportEntries(scope, filters);
      const first = await pages.next();
      async function* lines(): AsyncGenerator<string> {
        yield csvHeader();
        if (first.done) return;
        yield first.value.map(csvRow).join('');
        for await (const entries of pages) yield entries.map(csvRow).join('');
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${EXPORT_FILE_NAME}"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  );
}
