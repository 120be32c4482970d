// Events as the API shows them and as webhooks carry them.

/** An event type (`payment.succeeded`), or a prefix with `.*` in filters (`payment.*`). */
export const EVENT_TYPE_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$';
export const EVENT_TYPE_FILTER_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*(\\.\\*)?$';

export interface EventRecord {
  id: string;
  merchantId: string;
  livemode: boolean;
  type: string;
  data: { object: Record<string, unknown> };
  createdAt: Date;
}

/** The event as the API shows it and as webhooks carry it. */
export function eventJson(event: EventRecord) {
  return {
    id: event.id,
    object: 'event' as const,
    type: event.type,
    created: Math.floor(event.createdAt.getTime() / 1000),
    livemode: event.livemode,
    data: { object: event.data.object },
  };
}

export type EventJson = ReturnType<typeof eventJson>;
