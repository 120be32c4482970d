// Receipts: the merchant asks for a receipt's URLs and JWS with its secret key (/v1/.../receipt); the
// buyer (or anyone holding the URL) reads it at /receipts/<token>[.json|.pdf] without a key; the
// verification key is public at /.well-known/micropay-receipts/jwks.json.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, errorBody } from '../api/errors.ts';
import { errorResponses, requireMerchant } from '../api/http.ts';
import { amountJson } from '../payments/model.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import type { ReceiptObjectType } from './keys.ts';
import { receiptHtml, receiptPdf } from './render.ts';
import type { ReceiptService } from './service.ts';

export const JWKS_PATH = '/.well-known/micropay-receipts/jwks.json';

const RECEIPT_LINKS_SCHEMA = {
  $id: 'ReceiptLinks',
  type: 'object',
  additionalProperties: false,
  properties: {
    object: { type: 'string', enum: ['receipt_links'] },
    url: { type: 'string', description: 'The HTML receipt: unguessable, public, for the buyer.' },
    json_url: { type: 'string' },
    pdf_url: { type: 'string' },
    jws: { type: 'string', description: 'The receipt signed as a compact JWS (EdDSA); verify with the JWKS at ' + JWKS_PATH },
    fee: {
      type: ['integer', 'null'],
      description: 'The platform fee of a payment (negative for a refund: the fee given back), minor units; for the merchant only, not in the signed receipt.',
    },
  },
  required: ['object', 'url', 'json_url', 'pdf_url', 'jws', 'fee'],
} as const;

const SOURCES: { path: string; objectType: ReceiptObjectType; tag: string; noun: string }[] = [
  { path: '/v1/payments/:id/receipt', objectType: 'payment', tag: 'payments', noun: 'payment or tip' },
  { path: '/v1/top_ups/:id/receipt', objectType: 'top_up', tag: 'top-ups', noun: 'top-up' },
  { path: '/v1/refunds/:id/receipt', objectType: 'refund', tag: 'refunds', noun: 'refund' },
];

/** Receipt pages are capabilities: never cached by shared caches, never indexed. */
function privatePage(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('x-robots-tag', 'noindex').header('referrer-policy', 'no-referrer');
}

export async function receiptRoutes(app: FastifyInstance, { receipts, publicUrl }: { receipts: ReceiptService; publicUrl: string }): Promise<void> {
  app.addSchema(RECEIPT_LINKS_SCHEMA);
  const base = publicUrl.replace(/\/+$/, '');

  for (const source of SOURCES) {
    app.get<{ Params: { id: string } }>(
      source.path,
      {
        schema: {
          tags: [source.tag],
          summary: `The signed receipt of a succeeded ${source.noun}, and its public URLs`,
          params: ID_PARAMS_SCHEMA,
          response: { 200: { $ref: 'ReceiptLinks#' }, ...errorResponses(409) },
        },
      },
      async (request) => {
        const principal = requireMerchant(request, { write: false });
        const result = await receipts.forObject({ merchantId: principal.merchantId, livemode: principal.livemode }, source.objectType, request.params.id);
        if (!result.ok) throw new ApiError(result.code, result.message, result.code === 'resource_missing' ? 'id' : undefined);
        const { token, jws, fee } = result.signed;
        const url = `${base}/receipts/${token}`;
        return { object: 'receipt_links', url, json_url: `${url}.json`, pdf_url: `${url}.pdf`, jws, fee: fee ? amountJson(fee.amount) : null };
      },
    );
  }

  app.get(JWKS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return receipts.jwks();
  });

  app.get<{ Params: { token: string } }>('/receipts/:token', { schema: { hide: true } }, async (request, reply) => {
    privatePage(reply);
    const match = /^(rct_[A-Za-z0-9_-]{1,200})(?:\.(json|pdf))?$/.exec(request.params.token);
    const signed = match ? await receipts.forToken(match[1]!) : null;
    if (!match || !signed) return reply.code(404).send(errorBody(new ApiError('resource_missing', 'No such receipt.'), request.id));
    const format = match[2];
    if (format === 'json') return reply.type('application/json; charset=utf-8').send({ jws: signed.jws, receipt: signed.receipt });
    if (format === 'pdf') {
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="receipt-${signed.receipt.source.id}.pdf"`)
        .send(await receiptPdf(signed.receipt));
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(receiptHtml(signed.receipt, { json: `${match[1]}.json`, pdf: `${match[1]}.pdf` }));
  });
}
