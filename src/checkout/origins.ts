// The web origins where a merchant embeds the checkout frame (docs/checkout-embed.md, "Registering your
// origins"), per mode. They decide two things:
//
// - where the frame may be shown: with origins registered, /checkout/frame.html is served with
//   `Content-Security-Policy: frame-ancestors <the origins>`, so a browser refuses to show it inside any
//   other site. Without that, any page could frame a merchant's checkout invisibly over its own button
//   and have a signed-in buyer click Pay (clickjacking), which the low-value exemption pays at once;
// - whether a live payment may be paid without a prompt: in live mode the exemptions (low value and
//   transaction risk analysis) need registered origins; without them every checkout payment asks for a
//   confirmation. Test mode keeps the exemptions either way, for development on any page.
//
// Like Adyen's allowed origins of a client key: the merchant lists its pages' origins once.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, requireMerchant } from '../api/http.ts';
import type { Scope } from '../customers/service.ts';
import type { SqlClient } from '../store/database.ts';

/** At most this many origins per merchant and mode. */
export const CHECKOUT_ORIGINS_MAX = 20;

const ORIGINS_CACHE_TTL_MS = 5_000;

export interface CheckoutOrigins {
  /** The merchant's registered origins in the scope's mode, oldest first; empty when none. */
  of(scope: Scope): Promise<string[]>;
  set(scope: Scope, origins: string[]): Promise<string[]>;
}

export function createCheckoutOrigins({ db }: { db: SqlClient }): CheckoutOrigins {
  // Read on every frame load and every checkout payment; changed rarely, so a short cache (per process).
  const cache = new Map<string, { origins: string[]; expiresAtMs: number }>();
  const keyOf = (scope: Scope) => `${scope.merchantId}:${scope.livemode ? 'live' : 'test'}`;
  return {
    async of(scope) {
      const cached = cache.get(keyOf(scope));
      if (cached && cached.expiresAtMs > Date.now()) return cached.origins;
      const { rows } = await db.query<{ origins: string[] }>(
        'SELECT origins FROM checkout_origins WHERE merchant_id = $1 AND livemode = $2',
        [scope.merchantId, scope.livemode],
      );
      const origins = rows[0]?.origins ?? [];
      cache.set(keyOf(scope), { origins, expiresAtMs: Date.now() + ORIGINS_CACHE_TTL_MS });
      return origins;
    },
    async set(scope, origins) {
      const { rows } = await db.query<{ origins: string[] }>(
        `INSERT INTO checkout_origins (merchant_id, livemode, origins) VALUES ($1, $2, $3::text[])
         ON CONFLICT (merchant_id, livemode) DO UPDATE SET origins = EXCLUDED.origins, updated_at = now()
         RETURNING origins`,
        [scope.merchantId, scope.livemode, origins],
      );
      const stored = rows[0]!.origins;
      cache.set(keyOf(scope), { origins: stored, expiresAtMs: Date.now() + ORIGINS_CACHE_TTL_MS });
      return stored;
    },
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `value` as an origin (scheme, host and port, nothing else), or an error naming what is wrong. Live
 * mode accepts https only; test mode also http on a loopback host, for development.
 */
export function parseOrigin(value: string, livemode: boolean): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: `${JSON.stringify(value)} is not an origin like https://shop.example.` };
  }
  if (url.origin === 'null' || url.pathname !== '/' || value.includes('?') || value.includes('#') || url.username !== '' || url.password !== '') {
    return { error: `${JSON.stringify(value)} is not an origin: give the scheme, host and port only, like https://shop.example.` };
  }
  if (url.protocol === 'https:') return { origin: url.origin };
  if (url.protocol === 'http:' && !livemode && LOOPBACK_HOSTS.has(url.hostname)) return { origin: url.origin };
  return { error: `${JSON.stringify(value)} must use https${livemode ? '' : ' (or http on localhost, in test mode)'}.` };
}

const SETTINGS_SCHEMA = {
  $id: 'CheckoutSettings',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['checkout_settings'] },
    livemode: { type: 'boolean' },
    allowed_origins: {
      type: 'array',
      items: { type: 'string' },
      description: 'The origins whose pages may show the checkout frame. Empty: any page may (and, in live mode, every payment asks the buyer for a confirmation).',
    },
  },
  required: ['object', 'livemode', 'allowed_origins'],
} as const;

const UPDATE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowed_origins: { type: 'array', maxItems: CHECKOUT_ORIGINS_MAX, items: { type: 'string', minLength: 1, maxLength: 300 } },
  },
  required: ['allowed_origins'],
} as const;

export async function checkoutOriginRoutes(app: FastifyInstance, { origins }: { origins: CheckoutOrigins }): Promise<void> {
  app.addSchema(SETTINGS_SCHEMA);
  const tags = ['checkout'];
  const response = { 200: { $ref: 'CheckoutSettings#' }, ...errorResponses() };
  const json = (livemode: boolean, list: string[]) => ({ object: 'checkout_settings', livemode, allowed_origins: list });

  app.get('/v1/checkout_settings', { schema: { tags, summary: 'The origins where the checkout frame may be shown', response } }, async (request) => {
    const principal = requireMerchant(request, { write: false });
    return json(principal.livemode, await origins.of({ merchantId: principal.merchantId, livemode: principal.livemode }));
  });

  app.post<{ Body: { allowed_origins: string[] } }>(
    '/v1/checkout_settings',
    { schema: { tags, summary: 'Set the origins where the checkout frame may be shown (replaces the list)', body: UPDATE_BODY, response } },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const list: string[] = [];
      for (const [index, value] of request.body.allowed_origins.entries()) {
        const parsed = parseOrigin(value, principal.livemode);
        if ('error' in parsed) throw new ApiError('parameter_invalid', parsed.error, `allowed_origins[${index}]`);
        if (!list.includes(parsed.origin)) list.push(parsed.origin);
      }
      return json(principal.livemode, await origins.set({ merchantId: principal.merchantId, livemode: principal.livemode }, list));
    },
  );
}

/** The frame's Content-Security-Policy `frame-ancestors` source list for these registered origins:
 * null when none are registered (any page may frame it). */
export function frameAncestors(origins: readonly string[]): string | null {
  return origins.length === 0 ? null : origins.join(' ');
}
