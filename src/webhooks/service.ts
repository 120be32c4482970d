// Webhook endpoints as merchants manage them (create, update, disable, rotate the secret, delete), their
// delivery log, and manual retries. Delivering is the worker's job (worker.ts).
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor } from '../api/ids.ts';
import type { Database, SqlClient } from '../store/database.ts';
import {
  ATTEMPT_HISTORY_MAX,
  ATTEMPTS_PER_DELIVERY_MAX,
  ENDPOINTS_PER_MERCHANT_MAX,
  type DeliveryAttempt,
  type DeliveryStatus,
  type WebhookDelivery,
  type WebhookEndpoint,
} from './model.ts';
import { generateSecret, type SecretBox } from './secrets.ts';
import * as store from './store.ts';
import { checkEndpointUrl, type PrivateTargets } from './targets.ts';

export type Scope = store.Scope;

export type Result<T> = { ok: true; value: T } | { ok: false; code: ApiErrorCode; message?: string; param?: string };

export interface EndpointInput {
  url: string;
  enabledEvents: string[];
  description?: string | null;
}

export interface EndpointUpdate {
  url?: string;
  enabledEvents?: string[];
  description?: string | null;
  disabled?: boolean;
}

export interface DeliveryDetail {
  delivery: WebhookDelivery;
  history: DeliveryAttempt[];
}

export interface WebhookService {
  /** Creates an endpoint; its signing secret is in the result, and never shown again. */
  createEndpoint(scope: Scope, input: EndpointInput, idSeed?: string): Promise<Result<{ endpoint: WebhookEndpoint; secret: string }>>;
  getEndpoint(scope: Scope, id: string): Promise<WebhookEndpoint | null>;
  listEndpoints(scope: Scope, options: { limit: number; startingAfter?: string }): Promise<{ data: WebhookEndpoint[]; hasMore: boolean }>;
  updateEndpoint(scope: Scope, id: string, update: EndpointUpdate): Promise<Result<WebhookEndpoint>>;
  deleteEndpoint(scope: Scope, id: string): Promise<boolean>;
  /** A new secret; the previous one keeps signing beside it for `overlapSeconds` (0: not at all). */
  rotateSecret(scope: Scope, id: string, overlapSeconds: number): Promise<Result<{ endpoint: WebhookEndpoint; secret: string }>>;
  /** Null when the endpoint is not the caller's. */
  listDeliveries(
    scope: Scope,
    endpointId: string,
    options: { limit: number; startingAfter?: string; status?: DeliveryStatus; eventId?: string },
  ): Promise<{ data: WebhookDelivery[]; hasMore: boolean } | null>;
  getDelivery(scope: Scope, id: string): Promise<DeliveryDetail | null>;
  /** Makes the delivery due now (one more attempt if it had finished). */
  retryDelivery(scope: Scope, id: string): Promise<Result<DeliveryDetail>>;
  /** Sends `eventId` to the endpoint: creates its delivery if there is none, retries it otherwise. */
  sendEvent(scope: Scope, endpointId: string, eventId: string): Promise<Result<DeliveryDetail>>;
}

export interface WebhookServiceDependencies {
  db: Database;
  secretBox: SecretBox;
  privateTargets: PrivateTargets;
  /** Automatic attempts of a new delivery (the retry schedule's length plus the first). */
  attemptsMax: number;
}

const missing = (what: string, id: string, param = 'id'): { ok: false; code: ApiErrorCode; message: string; param: string } => ({
  ok: false,
  code: 'resource_missing',
  message: `No such ${what}: ${id}.`,
  param,
});

export function createWebhookService(deps: WebhookServiceDependencies): WebhookService {
  const { db, secretBox } = deps;

  function checkUrl(url: string, scope: Scope): Result<string> {
    const checked = checkEndpointUrl(url, scope.livemode, deps.privateTargets);
    return checked.ok ? { ok: true, value: url } : { ok: false, code: 'parameter_invalid', message: checked.message, param: 'url' };
  }

  async function detail(delivery: WebhookDelivery): Promise<DeliveryDetail> {
    return { delivery, history: await store.attemptsOf(db, delivery.id, ATTEMPT_HISTORY_MAX) };
  }

  const disabled = (endpoint: WebhookEndpoint): Result<null> => ({
    ok: false,
    code: 'webhook_endpoint_disabled',
    message: `The endpoint ${endpoint.id} is disabled; enable it, then retry.`,
  });

  /** Retry of one delivery whose endpoint the caller holds locked in `tx`. */
  async function retryLocked(tx: SqlClient, endpoint: WebhookEndpoint, deliveryId: string): Promise<Result<null>> {
    if (endpoint.status !== 'enabled') return disabled(endpoint);
    if (!(await store.retryDelivery(tx, deliveryId, ATTEMPTS_PER_DELIVERY_MAX))) {
      return { ok: false, code: 'webhook_delivery_attempts_exhausted', message: `The delivery ${deliveryId} has had ${ATTEMPTS_PER_DELIVERY_MAX} attempts.` };
    }
    return { ok: true, value: null };
  }

  return {
    async createEndpoint(scope, input, idSeed) {
      const url = checkUrl(input.url, scope);
      if (!url.ok) return url;
      const id = idFor('we', idSeed);
      const created = await db.transaction(async (tx) => {
        const existing = await store.getEndpoint(tx, scope, id);
        // The same keyed request run again (its first run crashed before answering): same endpoint and secret.
        if (existing) return { ok: true as const, value: { endpoint: existing, secret: secretBox.open(existing.secretSealed, id) } };
        if ((await store.countEndpoints(tx, scope)) >= ENDPOINTS_PER_MERCHANT_MAX) {
          return { ok: false as const, code: 'webhook_endpoint_limit_reached' as const, message: `A merchant has at most ${ENDPOINTS_PER_MERCHANT_MAX} webhook endpoints per mode.` };
        }
        const secret = generateSecret();
        const inserted = await store.insertEndpoint(tx, {
          id,
          scope,
          url: input.url,
          description: input.description ?? null,
          enabledEvents: [...new Set(input.enabledEvents)],
          secretSealed: secretBox.seal(secret, id),
        });
        // The id is taken but no live endpoint has it: this keyed request's first run created the endpoint
        // and it was deleted since. It stays deleted; a new endpoint needs a new Idempotency-Key.
        if (!inserted) {
          return {
            ok: false as const,
            code: 'resource_missing' as const,
            message: `The webhook endpoint ${id} this Idempotency-Key created has been deleted since; send a new Idempotency-Key to create another.`,
          };
        }
        return { ok: true as const, value: { endpoint: (await store.getEndpoint(tx, scope, id))!, secret } };
      });
      return created;
    },

    getEndpoint: (scope, id) => store.getEndpoint(db, scope, id),
    listEndpoints: (scope, options) => store.listEndpoints(db, scope, options),

    async updateEndpoint(scope, id, update) {
      if (update.url !== undefined) {
        const url = checkUrl(update.url, scope);
        if (!url.ok) return url;
      }
      return db.transaction(async (tx) => {
        const endpoint = await store.getEndpoint(tx, scope, id, { lock: true });
        if (!endpoint) return missing('webhook endpoint', id);
        await store.updateEndpoint(tx, id, {
          url: update.url,
          description: update.description,
          enabledEvents: update.enabledEvents === undefined ? undefined : [...new Set(update.enabledEvents)],
        });
        if (update.disabled === true) await store.disableEndpoint(tx, id, 'requested');
        if (update.disabled === false) await store.enableEndpoint(tx, id);
        return { ok: true as const, value: (await store.getEndpoint(tx, scope, id))! };
      });
    },

    async deleteEndpoint(scope, id) {
      return db.transaction(async (tx) => {
        const endpoint = await store.getEndpoint(tx, scope, id, { lock: true });
        if (!endpoint) return false;
        await store.deleteEndpoint(tx, id);
        return true;
      });
    },

    async rotateSecret(scope, id, overlapSeconds) {
      return db.transaction(async (tx) => {
        const endpoint = await store.getEndpoint(tx, scope, id, { lock: true });
        if (!endpoint) return missing('webhook endpoint', id);
        const secret = generateSecret();
        await store.rotateSecret(tx, id, { current: secretBox.seal(secret, id), previous: endpoint.secretSealed }, overlapSeconds);
        return { ok: true as const, value: { endpoint: (await store.getEndpoint(tx, scope, id))!, secret } };
      });
    },

    async listDeliveries(scope, endpointId, options) {
      const endpoint = await store.getEndpoint(db, scope, endpointId);
      if (!endpoint) return null;
      return store.listDeliveries(db, endpointId, options);
    },

    async getDelivery(scope, id) {
      const delivery = await store.getDelivery(db, scope, id);
      return delivery ? detail(delivery) : null;
    },

    async retryDelivery(scope, id) {
      const delivery = await store.getDelivery(db, scope, id);
      if (!delivery) return missing('webhook delivery', id);
      const outcome = await db.transaction(async (tx) => {
        const endpoint = await store.getEndpoint(tx, scope, delivery.endpointId, { lock: true });
        if (!endpoint) return missing('webhook delivery', id);
        return retryLocked(tx, endpoint, id);
      });
      if (!outcome.ok) return outcome;
      return { ok: true, value: await detail((await store.getDelivery(db, scope, id))!) };
    },

    async sendEvent(scope, endpointId, eventId) {
      const outcome = await db.transaction(async (tx): Promise<Result<null>> => {
        const endpoint = await store.getEndpoint(tx, scope, endpointId, { lock: true });
        if (!endpoint) return missing('webhook endpoint', endpointId);
        const { rows } = await tx.query('SELECT 1 FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3', [eventId, scope.merchantId, scope.livemode]);
        if (rows.length === 0) return missing('event', eventId, 'event');
        if (endpoint.status !== 'enabled') return disabled(endpoint);
        const existing = await store.getDeliveryOf(tx, endpointId, eventId);
        if (existing) return retryLocked(tx, endpoint, existing.id);
        await store.insertDelivery(tx, endpoint, eventId, deps.attemptsMax);
        return { ok: true, value: null };
      });
      if (!outcome.ok) return outcome;
      return { ok: true, value: await detail((await store.getDeliveryOf(db, endpointId, eventId))!) };
    },
  };
}
