// Serves the browser apps built by `npm run build:web` (web/dist): the embeddable checkout at
// /checkout/ (checkout.js, the loader merchants include, and frame.html, the frame it opens). When
// the build is missing (a checkout without `npm install`'s prepare step), /checkout/ answers with a
// page that says how to build it instead of a bare 404.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIST_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));
export const CHECKOUT_PREFIX = '/checkout/';

/** Hashed assets never change under their name; the loader and the frame page must stay fresh. */
const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
const SHORT_CACHE = 'public, max-age=60';

const MISSING_BUILD_MESSAGE = 'The checkout has not been built. Run `npm run build:web` (npm install runs it) and restart Micropay.';

export function checkoutBuilt(distDir = WEB_DIST_DIR): boolean {
  return existsSync(join(distDir, 'checkout', 'frame.html')) && existsSync(join(distDir, 'checkout', 'checkout.js'));
}

export async function webAssetRoutes(app: FastifyInstance, options: { distDir?: string } = {}): Promise<void> {
  const distDir = options.distDir ?? WEB_DIST_DIR;
  if (!checkoutBuilt(distDir)) {
    app.get(`${CHECKOUT_PREFIX}*`, { schema: { hide: true } }, async (request, reply) => {
      reply.code(503).header('cache-control', 'no-store');
      if (request.url.split('?')[0]!.endsWith('.js')) {
        return reply.type('text/javascript; charset=utf-8').send(`console.error(${JSON.stringify(`Micropay: ${MISSING_BUILD_MESSAGE}`)});\n`);
      }
      return reply
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Checkout not built</title><body style="font-family:sans-serif;max-width:36rem;margin:3rem auto"><h1>Checkout not built</h1><p>${MISSING_BUILD_MESSAGE.replace('`npm run build:web`', '<code>npm run build:web</code>')}</p></body></html>`);
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: join(distDir, 'checkout'),
    prefix: CHECKOUT_PREFIX,
    decorateReply: false,
    index: false,
    // @fastify/static 8 hands the raw response here.
    setHeaders: (response, path) => {
      response.setHeader('cache-control', path.includes('/assets/') ? IMMUTABLE_CACHE : SHORT_CACHE);
      response.setHeader('x-content-type-options', 'nosniff');
      // The frame is meant to be embedded by merchants' pages (any origin), so no frame-ancestors limit.
      if (path.endsWith('.html')) response.setHeader('referrer-policy', 'no-referrer');
    },
  });
}
