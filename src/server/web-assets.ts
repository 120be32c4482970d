// Serves the browser apps built by `npm run build:web` (web/dist): the embeddable checkout at
// /checkout/ (checkout.js, the loader merchants include, and frame.html, the frame it opens), and the
// buyer's wallet at /wallet (a single-page app: every /wallet path answers its index.html, with the
// wallet's publishable key injected; docs/wallet.md). When the build is missing (a checkout without
// `npm install`'s prepare step), /checkout/ answers with a page that says how to build it instead of a
// bare 404.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIST_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));
export const CHECKOUT_PREFIX = '/checkout/';

/** Hashed assets never change under their name; the loader and the frame page must stay fresh. */
const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
const SHORT_CACHE = 'public, max-age=60';

/**
 * The Content-Security-Policy of the browser apps' pages. The builds have no inline scripts (Vite emits
 * one module script tag per page), fetch only their own origin's API and show no data:/blob: images:
 * the wallet's CSV and the console's evidence files are blob: downloads (an <a download>, which CSP does
 * not govern) and the 3-D Secure popup is a window.open, which it does not govern either. Styles allow
 * 'unsafe-inline' for the style attributes the apps set. No frame-src/worker-src: nothing is framed or
 * run in a worker (default-src 'self' covers them).
 */
const PAGE_CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "connect-src 'self'",
];
/** The checkout frame's policy: embedded by merchants' pages, so it has no `frame-ancestors 'none'`;
 * `frameAncestors` (a source list) limits the pages that may frame it, when given. */
export function checkoutFrameCsp(frameAncestors: string | null = null): string {
  return [...PAGE_CSP_DIRECTIVES, ...(frameAncestors ? [`frame-ancestors ${frameAncestors}`] : [])].join('; ');
}
/** The checkout frame on any origin's page. */
export const CHECKOUT_FRAME_CSP = checkoutFrameCsp();
/** The wallet, dashboard and console: they hold a session and are never framed. */
export const APP_CSP = [...PAGE_CSP_DIRECTIVES, "frame-ancestors 'none'"].join('; ');
/**
 * Swagger UI at /docs (@fastify/swagger-ui's `staticCSP`): its page loads only its own scripts (no
 * inline ones); it applies inline styles as it renders, its stylesheet's icons are data: images and so
 * is the logo. "Try it out" calls this origin's API. Never framed.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');
/** The apps' windows share no browsing context group with cross-origin pages that open them; the
 * popups they open themselves (the bank's 3-D Secure page) are still allowed. */
export const APP_COOP = 'same-origin-allow-popups';

const MISSING_BUILD_MESSAGE = 'The checkout has not been built. Run `npm run build:web` (npm install runs it) and restart Micropay.';

export function checkoutBuilt(distDir = WEB_DIST_DIR): boolean {
  return existsSync(join(distDir, 'checkout', 'frame.html')) && existsSync(join(distDir, 'checkout', 'checkout.js'));
}

export async function webAssetRoutes(
  app: FastifyInstance,
  options: {
    distDir?: string;
    walletPublishableKey?: () => string | null;
    /** The `frame-ancestors` source list for the frame opened with this publishable key (the
     * merchant's registered checkout origins, src/checkout/origins.ts), null for any page. */
    frameAncestorsFor?: (publishableKey: string) => Promise<string | null>;
  } = {},
): Promise<void> {
  const distDir = options.distDir ?? WEB_DIST_DIR;
  const walletKey = options.walletPublishableKey ?? (() => null);
  await appRoutes(app, distDir, 'wallet', (page) =>
    page.replace(WALLET_KEY_META, `<meta name="micropay-publishable-key" content="${escapeAttribute(walletKey() ?? '')}">`),
  );
  await appRoutes(app, distDir, 'dashboard');
  await appRoutes(app, distDir, 'console');
  if (!checkoutBuilt(distDir)) {
    app.get(`${CHECKOUT_PREFIX}*`, { schema: { hide: true } }, async (request, reply) => {
      reply.code(503).header('cache-control', 'no-store');
      if (request.url.split('?')[0]!.endsWith('.js')) {
        return reply.type('text/javascript; charset=utf-8').send(`console.error(${JSON.stringify(`Micropay: ${MISSING_BUILD_MESSAGE}`)});\n`);
      }
      return reply
        .header('content-security-policy', CHECKOUT_FRAME_CSP)
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Checkout not built</title><body style="font-family:sans-serif;max-width:36rem;margin:3rem auto"><h1>Checkout not built</h1><p>${MISSING_BUILD_MESSAGE.replace('`npm run build:web`', '<code>npm run build:web</code>')}</p></body></html>`);
    });
    return;
  }
  // The frame's page itself, with its merchant's frame-ancestors: browsers show it only inside the
  // pages of the origins the merchant registered (any page when it registered none).
  const framePage = readFileSync(join(distDir, 'checkout', 'frame.html'), 'utf8');
  const frameAncestorsFor = options.frameAncestorsFor ?? (async () => null);
  app.get<{ Querystring: { pk?: string } }>(`${CHECKOUT_PREFIX}frame.html`, { schema: { hide: true } }, async (request, reply) => {
    const key = typeof request.query.pk === 'string' ? request.query.pk : '';
    const ancestors = key === '' ? null : await frameAncestorsFor(key);
    return reply
      // Not cached by the browser: a change of the merchant's origins applies to the next checkout.
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', checkoutFrameCsp(ancestors))
      .type('text/html; charset=utf-8')
      .send(framePage);
  });
  await app.register(fastifyStatic, {
    root: join(distDir, 'checkout'),
    prefix: CHECKOUT_PREFIX,
    decorateReply: false,
    // Our own cache headers below: left on, the plugin would replace them with `max-age=0`.
    cacheControl: false,
    index: false,
    // @fastify/static 8 hands the raw response here.
    setHeaders: (response, path) => {
      response.setHeader('cache-control', path.includes('/assets/') ? IMMUTABLE_CACHE : SHORT_CACHE);
      response.setHeader('x-content-type-options', 'nosniff');
      // The frame is meant to be embedded by merchants' pages (any origin), so no frame-ancestors limit.
      if (path.endsWith('.html')) {
        response.setHeader('referrer-policy', 'no-referrer');
        response.setHeader('content-security-policy', CHECKOUT_FRAME_CSP);
      }
    },
  });
}

export const WALLET_PREFIX = '/wallet';
export const DASHBOARD_PREFIX = '/dashboard';
export const CONSOLE_PREFIX = '/console';
/** The placeholder in web/wallet/index.html that the server fills with the wallet's publishable key. */
const WALLET_KEY_META = '<meta name="micropay-publishable-key" content="">';

/** The single-page apps: the buyer's wallet, the merchants' dashboard and the operators' console. */
type AppName = 'wallet' | 'dashboard' | 'console';
const APP_TITLES: Record<AppName, string> = { wallet: 'Wallet', dashboard: 'Dashboard', console: 'Console' };

export function appBuilt(name: AppName, distDir = WEB_DIST_DIR): boolean {
  return existsSync(join(distDir, name, 'index.html'));
}

export function walletBuilt(distDir = WEB_DIST_DIR): boolean {
  return appBuilt('wallet', distDir);
}

const escapeAttribute = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** /<app> and every path under it answer the app's page (the app routes in the browser); its hashed
 * files are under /<app>/assets/. The page is never framed (it holds a session) nor cached (the
 * wallet's key may change with the configuration), and runs only its own scripts (APP_CSP). `fill`
 * edits the page before it is sent. */
async function appRoutes(app: FastifyInstance, distDir: string, name: AppName, fill: (page: string) => string = (page) => page): Promise<void> {
  const prefix = `/${name}`;
  const built = appBuilt(name, distDir);
  const template = built ? readFileSync(join(distDir, name, 'index.html'), 'utf8') : null;
  const missing = `The ${name} has not been built. Run \`npm run build:web\` (npm install runs it) and restart Micropay.`;
  const page = async (_request: unknown, reply: FastifyReply) => {
    reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('content-security-policy', APP_CSP)
      .header('cross-origin-opener-policy', APP_COOP)
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8');
    if (template === null) {
      return reply
        .code(503)
        .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>${APP_TITLES[name]} not built</title><body style="font-family:sans-serif;max-width:36rem;margin:3rem auto"><h1>${APP_TITLES[name]} not built</h1><p>${missing.replace('`npm run build:web`', '<code>npm run build:web</code>')}</p></body></html>`);
    }
    return reply.send(fill(template));
  };
  app.get(prefix, { schema: { hide: true } }, page);
  app.get(`${prefix}/*`, { schema: { hide: true } }, page);
  if (!built) return;
  await app.register(fastifyStatic, {
    root: join(distDir, name, 'assets'),
    prefix: `${prefix}/assets/`,
    decorateReply: false,
    index: false,
    // Hashed names: the file under a name never changes (the cache-control header is ours, below).
    cacheControl: false,
    // @fastify/static 8 hands the raw response here.
    setHeaders: (response) => {
      response.setHeader('cache-control', IMMUTABLE_CACHE);
      response.setHeader('x-content-type-options', 'nosniff');
    },
  });
}
