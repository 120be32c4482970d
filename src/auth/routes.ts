// /v1/api_keys: a merchant manages its own keys (in the mode of the key it calls with); the operator
// creates keys for any merchant through /v1/merchants/:id/api_keys.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, listBody, requireMerchant, requireOperator } from '../api/http.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { missingWriteKeyPermission } from '../staff/roles.ts';
import type { ApiKey, AuthService, CreatedKey, Principal } from './service.ts';

export const API_KEY_SCHEMA = {
  $id: 'ApiKey',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['api_key'] },
    type: { type: 'string', enum: ['secret', 'publishable', 'operator'] },
    livemode: { type: 'boolean' },
    scope: { type: 'string', enum: ['write', 'read'] },
    merchant: { type: ['string', 'null'] },
    name: { type: ['string', 'null'] },
    last4: { type: 'string' },
    secret: { type: 'string', description: 'The full key: present only in the response that created it.' },
    created: { type: 'integer' },
    expires_at: { type: ['integer', 'null'] },
    revoked: { type: 'boolean' },
  },
  required: ['id', 'object', 'type', 'livemode', 'scope', 'merchant', 'last4', 'created', 'expires_at', 'revoked'],
} as const;

export const CREATE_KEY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['secret', 'publishable'] },
    scope: { type: 'string', enum: ['write', 'read'] },
    name: { type: 'string', maxLength: 100 },
  },
  required: ['type'],
} as const;

export function apiKeyJson(key: ApiKey, secret?: string) {
  return {
    id: key.id,
    object: 'api_key' as const,
    type: key.kind,
    livemode: key.livemode,
    scope: key.scope,
    merchant: key.merchantId,
    name: key.name,
    last4: key.last4,
    ...(secret === undefined ? {} : { secret }),
    created: Math.floor(key.createdAt.getTime() / 1000),
    expires_at: key.expiresAt ? Math.floor(key.expiresAt.getTime() / 1000) : null,
    revoked: key.revokedAt !== null,
  };
}

const createdJson = (created: CreatedKey) => apiKeyJson(created.key, created.secret);

/**
 * Refuses a staff session that would get a secret write key its role could not use itself: such a key
 * does everything a merchant's write key does (payouts, refunds, ...), outside the staff audit log. A
 * role without all of those permissions creates read-scope secret keys and publishable keys only.
 */
function refuseWriteKeyBeyondRole(principal: Principal, key: { kind: 'secret' | 'publishable'; scope: 'write' | 'read' }, param: string): void {
  const staff = principal.staff;
  if (!staff || key.kind !== 'secret' || key.scope !== 'write') return;
  const missing = missingWriteKeyPermission(staff.permissions);
  if (missing === null) return;
  throw new ApiError(
    'staff_permission_missing',
    `Your role (${staff.role}) does not have the permission ${missing}, which a secret key with write scope holds: create a read-scope secret key or a publishable key.`,
    param,
  );
}

export async function apiKeyRoutes(app: FastifyInstance, { auth }: { auth: AuthService }): Promise<void> {
  app.addSchema(API_KEY_SCHEMA);
  const tags = ['api keys'];
  const one = { 200: { $ref: 'ApiKey#' }, ...errorResponses() };
  // Keys are managed with a secret write key only: a read-only key must not mint a write key. Every
  // key route acts in the caller's mode (a staff session's Micropay-Livemode): a test key neither lists,
  // rolls nor revokes a live key (another mode's key id is a 404), and creates test keys only.
  const owner = (request: FastifyRequest) => {
    const principal = requireMerchant(request, { write: true });
    return principal;
  };

  app.get('/v1/api_keys', { schema: { tags, summary: "List the merchant's keys", response: { 200: { type: 'object', properties: { object: { type: 'string' }, data: { type: 'array', items: { $ref: 'ApiKey#' } }, has_more: { type: 'boolean' } } }, ...errorResponses() } } }, async (request) => {
    const principal = owner(request);
    return listBody((await auth.listKeys(principal.merchantId, principal.livemode)).map((key) => apiKeyJson(key)), false);
  });

  app.post<{ Body: { type: 'secret' | 'publishable'; scope?: 'write' | 'read'; name?: string } }>(
    '/v1/api_keys',
    { schema: { tags, summary: 'Create a key in the mode of the calling key; its secret is shown once', body: CREATE_KEY_BODY, response: one } },
    async (request) => {
      const principal = owner(request);
      const { type, scope, name } = request.body;
      // A secret key without a scope is a write key (AuthService.createKey).
      refuseWriteKeyBeyondRole(principal, { kind: type, scope: scope ?? 'write' }, 'scope');
      return createdJson(await auth.createKey({ merchantId: principal.merchantId, kind: type, livemode: principal.livemode, scope, name }));
    },
  );

  app.post<{ Params: { id: string }; Body: { expires_in_seconds?: number } }>(
    '/v1/api_keys/:id/roll',
    {
      schema: {
        tags,
        summary: 'Replace a key; the old one keeps working for expires_in_seconds (default 0, at most 7 days)',
        params: ID_PARAMS_SCHEMA,
        body: { type: 'object', additionalProperties: false, properties: { expires_in_seconds: { type: 'integer', minimum: 0, maximum: 604_800 } } },
        response: one,
      },
    },
    async (request) => {
      const principal = owner(request);
      // A roll issues a new secret of the same scope: a write key is rolled under the rule that creates one.
      const existing = principal.staff ? await auth.getKey(request.params.id, principal.merchantId, principal.livemode) : null;
      if (existing && existing.kind !== 'operator') refuseWriteKeyBeyondRole(principal, { kind: existing.kind, scope: existing.scope }, 'id');
      const created = await auth.rollKey(request.params.id, principal.merchantId, principal.livemode, request.body.expires_in_seconds ?? 0);
      if (!created) throw new ApiError('resource_missing', `No such API key: ${request.params.id}.`, 'id');
      return createdJson(created);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/api_keys/:id/revoke',
    { schema: { tags, summary: 'Revoke a key at once', params: ID_PARAMS_SCHEMA, body: { type: 'object', additionalProperties: false, properties: {} }, response: one } },
    async (request) => {
      const principal = owner(request);
      const revoked = await auth.revokeKey(request.params.id, principal.merchantId, principal.livemode);
      if (!revoked) throw new ApiError('resource_missing', `No such API key: ${request.params.id}.`, 'id');
      return apiKeyJson(revoked);
    },
  );

  app.post<{ Params: { id: string }; Body: { type: 'secret' | 'publishable'; scope?: 'write' | 'read'; name?: string; livemode?: boolean } }>(
    '/v1/merchants/:id/api_keys',
    {
      schema: {
        tags: ['operator'],
        summary: 'Create a key for a merchant (operator)',
        params: ID_PARAMS_SCHEMA,
        body: { ...CREATE_KEY_BODY, properties: { ...CREATE_KEY_BODY.properties, livemode: { type: 'boolean' } } },
        response: one,
      },
    },
    async (request) => {
      requireOperator(request, { write: true });
      const { type, scope, name, livemode } = request.body;
      const created = await auth
        .createKey({ merchantId: request.params.id, kind: type, livemode: livemode ?? false, scope, name })
        .catch((error: { code?: string }) => {
          // The foreign key names a merchant that does not exist.
          if (error.code === '23503') throw new ApiError('resource_missing', `No such merchant: ${request.params.id}.`, 'id');
          throw error;
        });
      return createdJson(created);
    },
  );
}
