// GET /v1/buyer/receipts/:id: the public receipt URLs of one of the signed-in buyer's own history entries
// (a payment, top-up or refund id), so the wallet can link each purchase to its receipt. The receipt is
// the same as the merchant's (docs/api/receipts.md); the buyer gets the URLs only, not the merchant's fee.
// The key sets the reach (src/wallet/reach.ts): any merchant's entry through the platform's wallet key,
// only the key's merchant's through any other key (another merchant's entry is missing, 404).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import type { ReceiptObjectType } from '../receipts/keys.ts';
import type { ReceiptService } from '../receipts/service.ts';
import type { Database } from '../store/database.ts';
import type { BuyerReachOf } from '../wallet/reach.ts';

// The entry's merchant, only when it is this buyer's in this mode and within the reach ($4: one merchant,
// or NULL for every merchant): another buyer's id, or another merchant's through a merchant's key, is "missing".
const OWNED_ENTRY_SQL = `
SELECT 'payment'::text AS type, merchant_id FROM payments WHERE id = $1 AND buyer_id = $2 AND livemode = $3 AND ($4::text IS NULL OR merchant_id = $4)
UNION ALL SELECT 'top_up'::text, merchant_id FROM top_ups WHERE id = $1 AND buyer_id = $2 AND livemode = $3 AND ($4::text IS NULL OR merchant_id = $4)
UNION ALL SELECT 'refund'::text, merchant_id FROM refunds WHERE id = $1 AND buyer_id = $2 AND livemode = $3 AND ($4::text IS NULL OR merchant_id = $4)
LIMIT 1`;

const BUYER_RECEIPT_SCHEMA = {
  $id: 'BuyerReceiptLinks',
  type: 'object',
  additionalProperties: false,
  properties: {
    object: { type: 'string', enum: ['receipt_links'] },
    url: { type: 'string', description: 'The HTML receipt: unguessable, public.' },
    json_url: { type: 'string', description: 'The receipt as `{ jws, receipt }`.' },
    pdf_url: { type: 'string' },
  },
  required: ['object', 'url', 'json_url', 'pdf_url'],
} as const;

export async function buyerReceiptRoutes(
  app: FastifyInstance,
  deps: { db: Database; receipts: ReceiptService; buyerReach: BuyerReachOf; publicUrl: string },
): Promise<void> {
  app.addSchema(BUYER_RECEIPT_SCHEMA);
  const base = deps.publicUrl.replace(/\/+$/, '');
  app.get<{ Params: { id: string } }>(
    '/v1/buyer/receipts/:id',
    {
      schema: {
        tags: ['buyers'],
        summary: "The receipt URLs of one of the buyer's payments, top-ups or refunds",
        description:
          "Needs the `Micropay-Buyer-Session` header. Through the platform's wallet key any merchant's entry is found; through a merchant's key (publishable or secret), only that merchant's (another's is 404).",
        params: ID_PARAMS_SCHEMA,
        response: { 200: { $ref: 'BuyerReceiptLinks#' }, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      const { buyerId, livemode, merchantId } = await deps.buyerReach(request);
      const { rows } = await deps.db.query<{ type: ReceiptObjectType; merchant_id: string }>(OWNED_ENTRY_SQL, [request.params.id, buyerId, livemode, merchantId]);
      const entry = rows[0];
      if (!entry) throw new ApiError('resource_missing', `No such payment, top-up or refund: ${request.params.id}.`, 'id');
      const result = await deps.receipts.forObject({ merchantId: entry.merchant_id, livemode }, entry.type, request.params.id);
      if (!result.ok) throw new ApiError(result.code, result.message, result.code === 'resource_missing' ? 'id' : undefined);
      const url = `${base}/receipts/${result.signed.token}`;
      reply.header('cache-control', 'no-store');
      return { object: 'receipt_links', url, json_url: `${url}.json`, pdf_url: `${url}.pdf` };
    },
  );
}
