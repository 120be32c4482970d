// The demo storefronts as a Fastify plugin: their pages (/demo/news, /demo/shop, /demo/creator), the
// merchant servers' own small APIs (/demo/api/...), and their webhook receivers (/demo/webhooks/:shop).
// Registered by the server in development mode (src/server/server.ts) and by browser tests.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MicropayError } from '@micropay/sdk';
import { DEMO_SHOPS, TIP_MESSAGE_CHARS_MAX, type DemoShop } from './catalog.ts';
import { creatorPage, indexPage, newsPage, shopPage } from './pages.ts';
import { DemoError, type DemoService } from './service.ts';

const WEBHOOK_BODY_BYTES_MAX = 256 * 1024;
const PAYMENT_ID_SCHEMA = { type: 'string', pattern: '^pay_[0-9A-Za-z]{1,60}$' } as const;
const SHOP_SCHEMA = { type: 'string', enum: [...DEMO_SHOPS] } as const;

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof DemoError) return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
  if (error instanceof MicropayError) {
    // The merchant server's call to Micropay failed: say so in the shop's words, with Micropay's code.
    return reply.code(502).send({ error: { code: error.code, message: `Micropay refused the request: ${error.message}` } });
  }
  throw error;
}

/**
 * The storefronts' Content-Security-Policy: scripts from this origin (the checkout loader) and the page's
 * own inline scripts, each allowed by its hash, so an injected script or handler attribute does not run;
 * the checkout frame from this origin; requests to this origin only.
 */
export function demoPageCsp(body: string): string {
  const hashes = [...body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, script]) => `'sha256-${createHash('sha256').update(script!).digest('base64')}'`,
  );
  return [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function html(reply: FastifyReply, body: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', demoPageCsp(body))
    .header('x-content-type-options', 'nosniff')
    .send(body);
}

export async function demoRoutes(app: FastifyInstance, options: { demo: DemoService }): Promise<void> {
  const { demo } = options;
  const hide = { hide: true } as const;

  app.get('/demo', { schema: hide }, async (_request, reply) => html(reply, indexPage()));
  app.get('/demo/news', { schema: hide }, async (_request, reply) => html(reply, newsPage(demo.merchantName('news'))));
  app.get('/demo/shop', { schema: hide }, async (_request, reply) => html(reply, shopPage(demo.merchantName('shop'))));
  app.get('/demo/creator', { schema: hide }, async (_request, reply) => html(reply, creatorPage(demo.merchantName('creator'))));

  app.post<{ Params: { slug: string } }>(
    '/demo/api/news/articles/:slug/payment',
    { schema: { ...hide, params: { type: 'object', properties: { slug: { type: 'string', maxLength: 100 } }, required: ['slug'] } } },
    async (request, reply) => {
      try {
        return await demo.startArticlePayment(request.params.slug);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.get<{ Params: { slug: string }; Querystring: { payment: string } }>(
    '/demo/api/news/articles/:slug',
    {
      schema: {
        ...hide,
        params: { type: 'object', properties: { slug: { type: 'string', maxLength: 100 } }, required: ['slug'] },
        querystring: { type: 'object', properties: { payment: PAYMENT_ID_SCHEMA }, required: ['payment'] },
      },
    },
    async (request, reply) => {
      try {
        const article = await demo.unlockArticle(request.params.slug, request.query.payment);
        return { slug: article.slug, title: article.title, body: article.body };
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.post<{ Body: { items: Array<{ sku: string; quantity: number }> } }>(
    '/demo/api/shop/orders',
    {
      schema: {
        ...hide,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 10,
              items: {
                type: 'object',
                additionalProperties: false,
                properties: { sku: { type: 'string', maxLength: 64 }, quantity: { type: 'integer', minimum: 1, maximum: 10 } },
                required: ['sku', 'quantity'],
              },
            },
          },
          required: ['items'],
        },
      },
    },
    async (request, reply) => {
      try {
        return await demo.startOrder(request.body.items);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.get<{ Params: { payment: string } }>(
    '/demo/api/shop/orders/:payment',
    { schema: { ...hide, params: { type: 'object', properties: { payment: PAYMENT_ID_SCHEMA }, required: ['payment'] } } },
    async (request, reply) => {
      try {
        return await demo.order(request.params.payment);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.post<{ Body: { amount: number; message?: string } }>(
    '/demo/api/creator/tips',
    {
      schema: {
        ...hide,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { amount: { type: 'integer', minimum: 1 }, message: { type: 'string', maxLength: TIP_MESSAGE_CHARS_MAX } },
          required: ['amount'],
        },
      },
    },
    async (request, reply) => {
      try {
        return await demo.startTip(request.body.amount, request.body.message);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.get<{ Params: { payment: string } }>(
    '/demo/api/creator/tips/:payment',
    { schema: { ...hide, params: { type: 'object', properties: { payment: PAYMENT_ID_SCHEMA }, required: ['payment'] } } },
    async (request, reply) => {
      try {
        return await demo.tip(request.params.payment);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  app.get('/demo/api/creator/supporters', { schema: hide }, async (_request, reply) => {
    try {
      return { supporters: await demo.supporters() };
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: { shop: DemoShop } }>(
    '/demo/api/:shop/webhooks',
    { schema: { ...hide, params: { type: 'object', properties: { shop: SHOP_SCHEMA }, required: ['shop'] } } },
    async (request) => ({ merchant: demo.merchantName(request.params.shop), events: demo.webhooks(request.params.shop) }),
  );

  // The webhook receivers need the body exactly as sent to check its signature, so in this scope
  // JSON is not parsed.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: WEBHOOK_BODY_BYTES_MAX }, (_request, body, done) => done(null, body));
    scope.post<{ Params: { shop: DemoShop }; Body: string }>(
      '/demo/webhooks/:shop',
      { schema: { ...hide, params: { type: 'object', properties: { shop: SHOP_SCHEMA }, required: ['shop'] } } },
      async (request, reply) => {
        const verified = demo.receiveWebhook(request.params.shop, typeof request.body === 'string' ? request.body : '', request.headers);
        return verified ? reply.code(204).send() : reply.code(400).send({ error: { code: 'webhook_signature_invalid', message: 'The signature did not verify.' } });
      },
    );
  });
}
