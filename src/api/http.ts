// What every API route shares: who is calling (API key → principal), the error shape, pagination and
// Idempotency-Key handling. Domain route plugins use these helpers and stay small.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log/logger.ts';
import type { AuthService, Principal } from '../auth/service.ts';
import type { StaffService } from '../staff/service.ts';
import { PipelineOverloadedError } from '../store/commit-pipeline.ts';
import { sqlState } from '../store/database.ts';
import { BUYER_SESSION_HEADER } from '../buyers/model.ts';
import { STAFF_LIVEMODE_HEADER, STAFF_TOKEN_PREFIX } from '../staff/model.ts';
import { staffAccess, type StaffRouteAccess } from '../staff/roles.ts';
import type { AuditActor, AuditLog } from '../staff/audit.ts';
import { ApiError, errorBody, type ApiErrorCode } from './errors.ts';
import { answerWrite, isValidIdempotencyKey, requestDigest, type IdempotencyStore } from './idempotency.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';

export type MerchantPrincipal = Extract<Principal, { kind: 'merchant' }>;
export type OperatorPrincipal = Extract<Principal, { kind: 'operator' }>;

interface IdempotencyState {
  owner: string;
  key: string;
  /** Seed for ids of objects the request creates (see idempotency.ts). */
  seed: string;
  /** The key's earlier request never answered: objects it created may exist. */
  resumed: boolean;
  /** The answer was stored by the commit that made the request's effect (`answerInCommit`). */
  answered?: true;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    idempotency: IdempotencyState | null;
    /** The staff user a request acts for (a staff session, or a sign-in that just succeeded): its
     * changes go to the audit log (src/staff/audit.ts). */
    auditActor: AuditActor | null;
    /** The audit event written ahead of this request's handler, completed when the answer leaves. */
    auditEventId: string | null;
  }
  interface FastifyContextConfig {
    /** A POST that changes nothing (a rule back-test): staff calls to it are not audited. */
    readOnly?: true;
    /** What of the body the Idempotency-Key record digests; routes given secrets (card data) replace them by a keyed digest. */
    digestBody?: (body: unknown) => unknown;
    /** What a staff session needs to call this route, per app (src/staff/roles.ts); routes not
     * declaring it are looked up in ROUTE_PERMISSIONS there, else staff may only read them. */
    staff?: StaffRouteAccess;
    /** More response fields that carry a secret shown once (beside `secret` and `token`), kept out of
     * the stored Idempotency-Key answer. */
    secretFields?: readonly string[];
    /** Response fields holding a secret derived from their object's `id` (a payment's `client_secret`):
     * kept out of the stored Idempotency-Key answer like `secretFields`, and derived again when that
     * answer is replayed, so that a replay shows what the first answer showed. */
    derivedSecretFields?: Readonly<Record<string, (id: string) => string>>;
  }
}

export const LIST_LIMIT_MAX = 100;
export const LIST_LIMIT_DEFAULT = 10;
export const API_PREFIX = '/v1/';

export function requireMerchant(request: FastifyRequest, options: { write: boolean; publishable?: boolean }): MerchantPrincipal {
  const principal = request.principal;
  if (!principal) throw new ApiError('api_key_missing');
  if (principal.kind !== 'merchant') throw new ApiError('merchant_key_required');
  if (principal.keyKind === 'publishable' && !options.publishable) throw new ApiError('secret_key_required');
  if (options.write && principal.scope !== 'write' && principal.keyKind !== 'publishable') {
    throw new ApiError('api_key_scope_insufficient');
  }
  return principal;
}

export function requireOperator(request: FastifyRequest, options: { write: boolean }): OperatorPrincipal {
  const principal = request.principal;
  if (!principal) throw new ApiError('api_key_missing');
  if (principal.kind !== 'operator') throw new ApiError('operator_key_required');
  if (options.write && principal.scope !== 'write') throw new ApiError('api_key_scope_insufficient');
  return principal;
}

/** What an Idempotency-Key record keeps of an answer's parsed body: the secrets left out. */
function storedBody(request: FastifyRequest, body: unknown): unknown {
  const config = request.routeOptions.config;
  return withoutSecrets(body, [...(config.secretFields ?? []), ...Object.keys(config.derivedSecretFields ?? {})]);
}

const ANSWERED_IN_COMMIT_STATUS = 200;

/**
 * For a keyed request whose success is decided inside a group commit (a payment created and confirmed
 * at once): a write storing its answer, the body the route will return as `onSend` would keep it (its
 * secrets redacted), serialized by the route's own 200 serializer, to add to that commit. Once the
 * commit says it carried it, the route calls `markAnsweredInCommit` and `onSend` has nothing left to
 * store: the effect and its answer are durable together, and a request no longer waits for a statement
 * after its commit. Undefined without a key.
 */
export function answerInCommit(request: FastifyRequest, reply: FastifyReply): ((body: Record<string, unknown>) => UnitWrite) | undefined {
  const state = request.idempotency;
  if (!state) return undefined;
  const serialize = reply.getSerializationFunction(String(ANSWERED_IN_COMMIT_STATUS));
  if (!serialize) return undefined;
  // Kept as onSend keeps it, redacted before it is serialized (once, into the text the commit stores).
  return (body) =>
    answerWrite({ owner: state.owner, key: state.key, status: ANSWERED_IN_COMMIT_STATUS, bodyJson: serialize(storedBody(request, body) as Record<string, unknown>) });
}

export function markAnsweredInCommit(request: FastifyRequest): void {
  if (request.idempotency) request.idempotency.answered = true;
}

/** Seed for the ids of what this request creates: derived from its Idempotency-Key, or none. */
export function idSeedOf(request: FastifyRequest): string | undefined {
  return request.idempotency?.seed;
}

/** Whether this keyed request resumes one that never answered, so the objects it creates may exist. */
export function isResumed(request: FastifyRequest): boolean {
  return request.idempotency?.resumed === true;
}

export const LIST_QUERY_PROPERTIES = {
  limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: `1 to ${LIST_LIMIT_MAX}, default ${LIST_LIMIT_DEFAULT}` },
  starting_after: { type: 'string', maxLength: 64, description: 'The id of the last object of the previous page.' },
} as const;

export function listLimit(raw: string | undefined): number {
  if (raw === undefined) return LIST_LIMIT_DEFAULT;
  const limit = Number(raw);
  if (limit < 1 || limit > LIST_LIMIT_MAX) throw new ApiError('parameter_invalid', `limit must be between 1 and ${LIST_LIMIT_MAX}.`, 'limit');
  return limit;
}

export function listSchema(itemRef: string) {
  return {
    type: 'object',
    properties: {
      object: { type: 'string', enum: ['list'] },
      data: { type: 'array', items: { $ref: `${itemRef}#` } },
      has_more: { type: 'boolean' },
    },
    required: ['object', 'data', 'has_more'],
  } as const;
}

export function listBody<T>(data: T[], hasMore: boolean): { object: 'list'; data: T[]; has_more: boolean } {
  return { object: 'list', data, has_more: hasMore };
}

/** The standard error responses, for route schemas (and so for the OpenAPI document). */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries([400, 401, 403, 404, ...statuses].map((status) => [status, { $ref: 'Error#' }]));
}

/** Whose Idempotency-Keys a request's key is among. A publishable key is shared by every browser of a
 * merchant, so there the buyer's session is part of the owner (as a digest): one buyer's key can never
 * replay another buyer's stored answer. */
function ownerOf(principal: Principal, request: FastifyRequest): string {
  const who = principal.kind === 'merchant' ? principal.merchantId : 'operator';
  // A read-scope secret or operator key (or a read-only staff role) has keys of its own: it never gets
  // the stored answer of a write key's request (nor a write key the refusal of a read key's).
  // A publishable key is read-scope by construction and has its per-buyer owner below.
  const publishable = principal.kind === 'merchant' && principal.keyKind === 'publishable';
  const scope = principal.scope === 'read' && !publishable ? ':read' : '';
  const owner = `${who}:${principal.livemode ? 'live' : 'test'}${scope}`;
  // Each staff user has their own keys: one person's key never replays another's answer.
  if (principal.staff) return `${owner}:staff:${principal.staff.userId}`;
  if (principal.kind !== 'merchant' || principal.keyKind !== 'publishable') return owner;
  const session = request.headers[BUYER_SESSION_HEADER];
  if (typeof session !== 'string' || session === '') return `${owner}:anonymous`;
  return `${owner}:session:${createHash('sha256').update(session).digest('base64url').slice(0, 22)}`;
}

function validationError(error: { validation: Array<Record<string, any>>; validationContext?: string }): ApiError {
  const first = error.validation[0] ?? {};
  const path = String(first.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('');
  const join = (name: string) => (path ? `${path}.${name}` : name);
  if (first.keyword === 'required') {
    const param = join(String(first.params?.missingProperty));
    return new ApiError('parameter_missing', `Missing required parameter: ${param}.`, param);
  }
  if (first.keyword === 'additionalProperties') {
    const param = join(String(first.params?.additionalProperty));
    return new ApiError('parameter_unknown', `Unknown parameter: ${param}.`, param);
  }
  const param = path || (error.validationContext ?? 'body');
  return new ApiError('parameter_invalid', `Invalid ${param}: it ${String(first.message ?? 'is not valid')}.`, param);
}

const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'media_type_unsupported',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'body_invalid',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body_invalid',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body_invalid',
};

/** Database refusals of a value that passed the schema: NUL characters (PostgreSQL text cannot hold
 * them), numbers out of a column's range. They are the caller's input, so they answer 400. */
const INPUT_SQL_STATES: Record<string, string> = {
  '22021': 'A text value contains a character that cannot be stored (NUL).',
  '22P05': 'A text value contains a character that cannot be stored (NUL).',
  '22003': 'A number is out of range.',
};

/** 22P02 (invalid text representation) is the caller's input only when the jsonb parser refused an
 * unpaired UTF-16 surrogate (a JSON "\ud800"): any other 22P02 is ours, and stays a 500. */
const UNSTORABLE_UNICODE = /unicode|surrogate/i;

export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  const state = sqlState(error);
  if (state && INPUT_SQL_STATES[state]) return new ApiError('parameter_invalid', INPUT_SQL_STATES[state]);
  if (state === '22P02' && UNSTORABLE_UNICODE.test(`${(error as { message?: unknown }).message} ${(error as { detail?: unknown }).detail}`)) {
    return new ApiError('parameter_invalid', 'A text value contains an unpaired UTF-16 surrogate, which cannot be stored.');
  }
  if (error instanceof PipelineOverloadedError) return new ApiError('service_overloaded');
  // lock_not_available: a ledger batch waited longer than its lock_timeout for a row another transaction
  // held, and was rolled back (docs/ledger.md, "What the serial commit costs").
  if (state === '55P03') return new ApiError('lock_timeout');
  const candidate = error as { validation?: unknown; code?: string; statusCode?: number } | null;
  if (candidate && Array.isArray(candidate.validation)) return validationError(candidate as never);
  const mapped = candidate?.code ? FASTIFY_CODES[candidate.code] : undefined;
  if (mapped) return new ApiError(mapped);
  if (error instanceof SyntaxError && candidate?.statusCode === 400) return new ApiError('body_invalid');
  return null;
}

export interface ApiPlumbingDependencies {
  auth: AuthService;
  /** Resolves staff session tokens (`mss_...`); without it they are refused like unknown keys. */
  staff?: Pick<StaffService, 'authenticate'>;
  /** Writes the staff audit log; without it nothing is recorded. */
  audit?: AuditLog;
  idempotency: IdempotencyStore;
  logger: Logger;
}

/** Error handler, 404 handler, authentication and idempotency for every route under /v1/. */
export function registerApiPlumbing(app: FastifyInstance, deps: ApiPlumbingDependencies): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('idempotency', null);
  app.decorateRequest('auditActor', null);
  app.decorateRequest('auditEventId', null);

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (!apiError) request.log.error({ err: error }, 'unhandled error');
    const shown = apiError ?? new ApiError('internal_error');
    return reply.code(shown.status).send(errorBody(shown, request.id));
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError('route_not_found', `No such endpoint: ${request.method} ${request.url.split('?')[0]}.`);
    return reply.code(404).send(errorBody(error, request.id));
  });

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith(API_PREFIX)) return;
    const header = request.headers.authorization;
    if (!header) return;
    const match = /^Bearer ([\x21-\x7e]{1,200})$/.exec(header);
    if (match && match[1]!.startsWith(STAFF_TOKEN_PREFIX)) {
      request.principal = await staffPrincipal(request, match[1]!, deps.staff);
      return;
    }
    const principal = match ? await deps.auth.authenticate(match[1]!) : null;
    if (!principal) throw new ApiError('api_key_invalid');
    request.principal = principal;
  });

  // A POST without a body (confirm, cancel) is validated as an empty object. A body holding a string
  // that is not well-formed UTF-16 (an unpaired surrogate, JSON "\ud800") is refused here, for every
  // route: PostgreSQL can store it neither in text (it would become U+FFFD) nor in jsonb (refused).
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {};
    const path = malformedStringPath(request.body);
    if (path !== null) {
      throw new ApiError('parameter_invalid', `Invalid ${path}: it contains an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff).`, path);
    }
  });

  // A staff change is written ahead: no handler runs before its audit event is stored.
  app.addHook('preHandler', async (request) => {
    const actor = request.auditActor;
    if (!actor || !deps.audit || !isChange(request)) return;
    try {
      request.auditEventId = await deps.audit.begin({ actor, ...auditTarget(request) });
    } catch (error) {
      request.log.error({ err: error, action: auditTarget(request).action }, 'staff audit event could not be written ahead; the change is refused');
      throw new ApiError('audit_unavailable');
    }
  });

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !request.url.startsWith(API_PREFIX) || !request.principal) return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || !isValidIdempotencyKey(key)) throw new ApiError('idempotency_key_invalid', undefined, 'Idempotency-Key');
    const owner = ownerOf(request.principal, request);
    const digested = request.routeOptions.config.digestBody?.(request.body) ?? request.body;
    const reservation = await deps.idempotency.reserve(owner, key, requestDigest(request.method, request.url, digested));
    switch (reservation.kind) {
      case 'reserved':
        request.idempotency = { owner, key, seed: reservation.seed, resumed: reservation.resumed };
        return;
      case 'replay':
        void reply.header('idempotent-replayed', 'true');
        return sendStored(reply, reservation.status, withDerivedSecrets(reservation.body, request.routeOptions.config.derivedSecretFields));
      case 'reused':
        throw new ApiError('idempotency_key_reused', undefined, 'Idempotency-Key');
      case 'in_use':
        throw new ApiError('idempotency_key_in_use', undefined, 'Idempotency-Key');
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const state = request.idempotency;
    if (!state) return payload;
    request.idempotency = null;
    if (state.answered && reply.statusCode === ANSWERED_IN_COMMIT_STATUS) return payload;
    const body = typeof payload === 'string' && payload.length > 0 ? JSON.parse(payload) : null;
    // Not a final answer: the key is released so that a retry runs again (see `isFinalAnswer`).
    if (!isFinalAnswer(reply.statusCode, body)) {
      await deps.idempotency.release(state.owner, state.key);
      return payload;
    }
    await deps.idempotency.complete(state.owner, state.key, reply.statusCode, storedBody(request, body));
    return payload;
  });

  // Every change a staff user makes is in the audit log before its answer leaves (reads are not):
  // completed when it was written ahead, else written whole (refused before the handler, sign-ins).
  app.addHook('onSend', async (request, reply, payload) => {
    const actor = request.auditActor;
    if (!actor || !deps.audit || !isChange(request)) return payload;
    request.auditActor = null;
    const errorCode = reply.statusCode >= 400 ? errorCodeOf(payload) : null;
    try {
      if (request.auditEventId) await deps.audit.end(request.auditEventId, reply.statusCode, errorCode);
      else await deps.audit.record({ actor, ...auditTarget(request), statusCode: reply.statusCode, errorCode });
    } catch (error) {
      request.log.error({ err: error, action: auditTarget(request).action }, 'staff audit event could not be completed');
    }
    return payload;
  });
}

const isChange = (request: FastifyRequest) =>
  request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS' && request.routeOptions.config.readOnly !== true;

function auditTarget(request: FastifyRequest) {
  return {
    action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    path: request.url.split('?')[0]!,
    requestId: request.id,
    ipAddress: request.ip ?? null,
  };
}

/** The audit log's view of a staff principal. */
function auditActorOf(principal: Principal): AuditActor | null {
  if (!principal.staff) return null;
  const { userId, email, role } = principal.staff;
  return { userId, email, role, merchantId: principal.kind === 'merchant' ? principal.merchantId : null, livemode: principal.livemode };
}

function errorCodeOf(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return null;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code.slice(0, 100) : null;
  } catch {
    return null;
  }
}

/**
 * Whether an answer is stored for its Idempotency-Key and replayed to every repeat. Not: a failure of ours
 * (5xx), a rate limit (429), and a conflict with another request running at the same moment (409
 * `concurrent_modification`: nothing of this request was committed). Those are answers about the moment,
 * not about the request; storing them would refuse the request for 24 hours. As Stripe, which saves no
 * result for a request that conflicted with another. A retry with the same key runs the request again.
 * Nor a refusal of the caller's credentials (401, 403: a read-scope key, a staff role without the
 * permission, a missing buyer session): it is about who called, not about the request, and the right
 * caller retrying with the same key must get the request run, not the refusal replayed.
 */
export function isFinalAnswer(status: number, body: unknown): boolean {
  if (status >= 500 || status === 429 || status === 401 || status === 403) return false;
  return (body as { error?: { code?: unknown } } | null)?.error?.code !== 'concurrent_modification';
}

/** Fields that carry a secret shown once (API keys, webhook signing secrets, buyer session tokens). A stored response keeps
 * them out, so the idempotency table never holds a usable secret; a replay shows `"[redacted]"`, and a
 * caller that lost the secret rolls the key or rotates the signing secret. */
const SECRET_FIELDS = new Set(['secret', 'token']);

/** What a stored answer holds in place of a secret. */
export const REDACTED = '[redacted]';

export function withoutSecrets(body: unknown, moreFields: readonly string[] = []): unknown {
  const secret = (name: string) => SECRET_FIELDS.has(name) || moreFields.includes(name);
  const redact = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      let copy: unknown[] | null = null;
      value.forEach((item, index) => {
        const redacted = redact(item);
        if (redacted !== item) (copy ??= [...value])[index] = redacted;
      });
      return copy ?? value;
    }
    if (!isPlainObject(value)) return value;
    let copy: Record<string, unknown> | null = null;
    for (const [name, field] of Object.entries(value)) {
      const redacted = secret(name) && typeof field === 'string' ? REDACTED : redact(field);
      if (redacted !== field) (copy ??= { ...value })[name] = redacted;
    }
    return copy ?? value;
  };
  return redact(body);
}

/** An object made by a literal or JSON.parse (not a Date, a Buffer or another class's instance). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** A stored answer with its derived secrets (`derivedSecretFields`) computed again from their object's
 * `id`, where the stored answer shows them redacted. */
export function withDerivedSecrets(body: unknown, fields: Readonly<Record<string, (id: string) => string>> | undefined): unknown {
  if (!fields || Object.keys(fields).length === 0) return body;
  if (Array.isArray(body)) return body.map((item) => withDerivedSecrets(item, fields));
  if (body === null || typeof body !== 'object') return body;
  const id = (body as { id?: unknown }).id;
  return Object.fromEntries(
    Object.entries(body).map(([name, value]) => {
      const derive = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (derive && value === REDACTED && typeof id === 'string') return [name, derive(id)];
      return [name, withDerivedSecrets(value, fields)];
    }),
  );
}

/**
 * The path (`items[2].description`, as validation errors name parameters) of the first string or
 * property name in `value` that is not well-formed UTF-16, or null. Iterative: a deeply nested body
 * cannot overflow the stack.
 */
export function malformedStringPath(value: unknown): string | null {
  interface Node { value: unknown; parent: Node | null; segment: string | number | null }
  const pathOf = (node: Node): string => {
    const segments: Array<string | number> = [];
    for (let at: Node | null = node; at && at.segment !== null; at = at.parent) segments.unshift(at.segment);
    const path = segments
      .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
      .join('');
    return path || 'body';
  };
  const stack: Node[] = [{ value, parent: null, segment: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const current = node.value;
    if (typeof current === 'string') {
      if (!current.isWellFormed()) return pathOf(node);
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) stack.push({ value: current[index], parent: node, segment: index });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      // A property name that is not well-formed is named by its object's path.
      if (entries.some(([name]) => !name.isWellFormed())) return pathOf(node);
      for (let index = entries.length - 1; index >= 0; index -= 1) stack.push({ value: entries[index]![1], parent: node, segment: entries[index]![0] });
    }
  }
  return null;
}

/**
 * The principal of a staff session token, acting in the mode its `Micropay-Livemode` header asks for
 * (test unless `true`), with the role's permissions checked against the route here, before the route
 * runs: buyer routes never, other routes as src/staff/roles.ts says.
 */
async function staffPrincipal(request: FastifyRequest, token: string, staff: ApiPlumbingDependencies['staff']): Promise<Principal> {
  const header = request.headers[STAFF_LIVEMODE_HEADER];
  if (header !== undefined && header !== 'true' && header !== 'false') {
    throw new ApiError('parameter_invalid', 'Micropay-Livemode must be true or false.', 'Micropay-Livemode');
  }
  const principal = staff ? await staff.authenticate(token, header === 'true') : null;
  if (!principal?.staff) throw new ApiError('staff_session_invalid');
  // Known before the permission check, so that a refused attempt is in the audit log too.
  request.auditActor = auditActorOf(principal);
  const url = request.routeOptions.url;
  if (url === undefined) return principal;
  const decision = staffAccess(principal.staff.app, principal.staff.permissions, request.method, url, request.routeOptions.config.staff);
  if (decision.ok) return principal;
  if (decision.code === 'staff_permission_missing') {
    throw new ApiError('staff_permission_missing', `Your role (${principal.staff.role}) does not have the permission ${decision.permission}.`);
  }
  throw new ApiError('staff_route_not_allowed', `Staff of the ${principal.staff.app} cannot call ${request.method} ${url}.`);
}

function sendStored(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').serializer((value: unknown) => JSON.stringify(value)).send(body);
}
