// Events as the API shows them and as webhooks carry them.

/** What an endpoint subscribes to: `*`, an event type, or every type under a prefix (`payment.*`). */
export const EVENT_SELECTOR_PATTERN = '^(\\*|[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*\\.\\*|[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+)$';
/** The `type` filter of the events list: a type, or a prefix with `.*` (`payment.*`). */
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
