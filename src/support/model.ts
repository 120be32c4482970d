// Support tickets as the rest of the system sees them: a buyer's question about one of their payments,
// with its thread of messages from the buyer and the merchant (docs/api/support.md).

export type TicketStatus = 'open' | 'answered' | 'closed';
export type TicketAuthor = 'buyer' | 'merchant';

export const TICKET_STATUSES: TicketStatus[] = ['open', 'answered', 'closed'];

/** Bounds on what a ticket holds (also CHECK constraints in migration 0012). */
export const SUBJECT_LENGTH_MAX = 200;
export const MESSAGE_LENGTH_MAX = 5000;
export const TICKET_MESSAGES_MAX = 200;

export interface Ticket {
  id: string;
  merchantId: string;
  livemode: boolean;
  buyerId: string;
  paymentId: string;
  subject: string;
  status: TicketStatus;
  messageCount: number;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
}

export interface TicketMessage {
  id: string;
  ticketId: string;
  author: TicketAuthor;
  body: string;
  createdAt: Date;
}

const seconds = (date: Date | null) => (date === null ? null : Math.floor(date.getTime() / 1000));

export function ticketMessageJson(message: TicketMessage) {
  return { id: message.id, object: 'support_message' as const, author: message.author, body: message.body, created: seconds(message.createdAt)! };
}

/** A ticket as the API shows it; `messages` (the thread, oldest first) when it was read with it. */
export function ticketJson(ticket: Ticket, messages?: TicketMessage[]) {
  return {
    id: ticket.id,
    object: 'support_ticket' as const,
    livemode: ticket.livemode,
    merchant: ticket.merchantId,
    payment: ticket.paymentId,
    subject: ticket.subject,
    status: ticket.status,
    message_count: ticket.messageCount,
    created: seconds(ticket.createdAt)!,
    updated: seconds(ticket.updatedAt)!,
    closed_at: seconds(ticket.closedAt),
    ...(messages === undefined ? {} : { messages: messages.map(ticketMessageJson) }),
  };
}

export type TicketJson = ReturnType<typeof ticketJson>;
