// Webhook endpoints and deliveries as the API shows them.

// The event types are listed in docs/api/webhooks.md. An endpoint may name any well-formed type (types
// are added as the API grows), a prefix such as `payment.*`, or `*`.

/** Endpoints per merchant and mode at most: each event is matched against all of them. */
export const ENDPOINTS_PER_MERCHANT_MAX = 16;
/** Attempts of one delivery at most, automatic and manual together. */
export const ATTEMPTS_PER_DELIVERY_MAX = 100;
/** Attempts shown with one delivery (the newest). */
export const ATTEMPT_HISTORY_MAX = 20;
/** The longest overlap of a rotated secret. */
export const ROTATION_OVERLAP_SECONDS_MAX = 7 * 24 * 3600;
export const ROTATION_OVERLAP_SECONDS_DEFAULT = 24 * 3600;

export type EndpointStatus = 'enabled' | 'disabled';
export type DisabledReason = 'requested' | 'failing';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  livemode: boolean;
  url: string;
  description: string | null;
  enabledEvents: string[];
  status: EndpointStatus;
  disabledReason: DisabledReason | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
}

export interface DeliveryAttempt {
  attempt: number;
  startedAt: Date;
  responseStatus: number | null;
  responseBody: string | null;
  latencyMs: number;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  livemode: boolean;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  /** Set while an attempt is running. */
  lockedUntil: Date | null;
  lastAttemptAt: Date | null;
  responseStatus: number | null;
  responseBody: string | null;
  latencyMs: number | null;
  error: string | null;
  createdAt: Date;
}

const seconds = (date: Date | null): number | null => (date ? Math.floor(date.getTime() / 1000) : null);

export function endpointJson(endpoint: WebhookEndpoint, secret?: string) {
  const overlap = endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt.getTime() > Date.now() ? endpoint.previousSecretExpiresAt : null;
  return {
    id: endpoint.id,
    object: 'webhook_endpoint' as const,
    livemode: endpoint.livemode,
    url: endpoint.url,
    description: endpoint.description,
    enabled_events: endpoint.enabledEvents,
    status: endpoint.status,
    disabled_reason: endpoint.disabledReason,
    ...(secret === undefined ? {} : { secret }),
    previous_secret_expires_at: seconds(overlap),
    created: seconds(endpoint.createdAt)!,
  };
}

export function attemptJson(attempt: DeliveryAttempt) {
  return {
    attempt: attempt.attempt,
    started: seconds(attempt.startedAt)!,
    response_status: attempt.responseStatus,
    response_body: attempt.responseBody,
    latency_ms: attempt.latencyMs,
    error: attempt.error,
  };
}

export function deliveryJson(delivery: WebhookDelivery, history?: DeliveryAttempt[]) {
  const inFlight = delivery.lockedUntil !== null && delivery.lockedUntil.getTime() > Date.now();
  return {
    id: delivery.id,
    object: 'webhook_delivery' as const,
    livemode: delivery.livemode,
    endpoint: delivery.endpointId,
    event: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    in_flight: inFlight,
    attempts: delivery.attempts,
    next_attempt: inFlight ? null : seconds(delivery.nextAttemptAt),
    last_attempt: seconds(delivery.lastAttemptAt),
    response_status: delivery.responseStatus,
    response_body: delivery.responseBody,
    latency_ms: delivery.latencyMs,
    error: delivery.error,
    ...(history === undefined ? {} : { attempt_history: history.map(attemptJson) }),
    created: seconds(delivery.createdAt)!,
  };
}
