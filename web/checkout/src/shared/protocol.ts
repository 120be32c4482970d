// The messages the checkout frame and the page embedding it exchange with postMessage. Both sides
// check the sender's origin (and the frame, its window) before reading a message; a message without
// `source: 'micropay-checkout'` is someone else's and ignored.

export const MESSAGE_SOURCE = 'micropay-checkout';

/** A payment as the checkout view shows it (amounts are integers in minor units, or decimal strings). */
export interface CheckoutPayment {
  id: string;
  amount: number | string;
  currency: string;
  status: string;
  description: string | null;
  line_items: Array<{ description: string; unit_amount: number | string; quantity: number; category?: string }>;
}

/** Frame → page. */
export type FrameMessage =
  | { source: typeof MESSAGE_SOURCE; type: 'ready' }
  | { source: typeof MESSAGE_SOURCE; type: 'resize'; height: number }
  | { source: typeof MESSAGE_SOURCE; type: 'succeeded' | 'failed' | 'processing'; payment: CheckoutPayment; message?: string };

/** Page → frame. */
export type PageMessage = { source: typeof MESSAGE_SOURCE; type: 'state' };

export function isFrameMessage(data: unknown): data is FrameMessage {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as { source?: unknown; type?: unknown };
  return message.source === MESSAGE_SOURCE && typeof message.type === 'string';
}

export function isPageMessage(data: unknown): data is PageMessage {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as { source?: unknown; type?: unknown };
  return message.source === MESSAGE_SOURCE && message.type === 'state';
}
