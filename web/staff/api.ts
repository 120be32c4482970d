// What the dashboard's and the console's calls to the Micropay API share, all through the staff session
// (web/staff/session.ts), which adds the signed-in user's token and the test/live switch: the signed-in
// user, lists, GETs with query parameters and changes.
import { staffFetch } from './session.ts';

export interface Me {
  id: string;
  email: string;
  name: string | null;
  role: string;
  merchant_id: string | null;
  app: 'dashboard' | 'console';
  permissions: string[];
}

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/** A fresh Idempotency-Key per user action: a retried click or a lost answer lands on the same object. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '');
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([name, value]) => [name, String(value)])).toString()}`;
}

export const get = <T>(path: string, params: Record<string, string | number | undefined> = {}) => staffFetch<T>(`${path}${query(params)}`);

/** A change: POSTs carry an Idempotency-Key so that a retried click does not act twice. */
export function send<T>(method: 'POST' | 'PUT', path: string, body: unknown, idempotencyKey: string | null = method === 'POST' ? newIdempotencyKey() : null): Promise<T> {
  return staffFetch<T>(path, {
    method,
    headers: { 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify(body ?? {}),
  });
}
