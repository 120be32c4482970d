// SQL for support tickets and their messages (migration 0012). Writes of one change run in the
// caller's transaction; the ticket's row is locked first, so concurrent replies to one ticket are
// applied one after the other.
import type { SqlClient } from '../store/database.ts';
import type { Ticket, TicketAuthor, TicketMessage, TicketStatus } from './model.ts';

interface TicketRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  buyer_id: string;
  payment_id: string;
  subject: string;
  status: TicketStatus;
  message_count: number;
  created_at: Date;
  updated_at: Date;
  closed_at: Date | null;
}

interface MessageRow {
  id: string;
  ticket_id: string;
  author: TicketAuthor;
  body: string;
  created_at: Date;
}

const TICKET_COLUMNS = 'id, merchant_id, livemode, buyer_id, payment_id, subject, status, message_count, created_at, updated_at, closed_at';
const MESSAGE_COLUMNS = 'id, ticket_id, author, body, created_at';

const ticketOf = (row: TicketRow): Ticket => ({
  id: row.id,
  merchantId: row.merchant_id,
  livemode: row.livemode,
  buyerId: row.buyer_id,
  paymentId: row.payment_id,
  subject: row.subject,
  status: row.status,
  messageCount: Number(row.message_count),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  closedAt: row.closed_at === null ? null : new Date(row.closed_at),
});

const messageOf = (row: MessageRow): TicketMessage => ({
  id: row.id,
  ticketId: row.ticket_id,
  author: row.author,
  body: row.body,
  createdAt: new Date(row.created_at),
});

export async function getTicket(db: SqlClient, id: string, options: { lock?: boolean } = {}): Promise<Ticket | null> {
  const { rows } = await db.query<TicketRow>(`SELECT ${TICKET_COLUMNS} FROM support_tickets WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? ticketOf(rows[0]) : null;
}

/** Inserts the ticket, open with its first message counted, unless one of this id exists (a retried
 * request); true when it was inserted. */
export async function insertTicket(tx: SqlClient, ticket: Omit<Ticket, 'messageCount' | 'createdAt' | 'updatedAt' | 'closedAt' | 'status'>): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO support_tickets (id, merchant_id, livemode, buyer_id, payment_id, subject, status, message_count)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', 1)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [ticket.id, ticket.merchantId, ticket.livemode, ticket.buyerId, ticket.paymentId, ticket.subject],
  );
  return rows.length === 1;
}

/** Appends a message unless one of this id exists (a retried request); true when it was appended. */
export async function insertMessage(tx: SqlClient, message: Omit<TicketMessage, 'createdAt'>): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO support_messages (id, ticket_id, author, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [message.id, message.ticketId, message.author, message.body],
  );
  return rows.length === 1;
}

/** Counts a new message on the ticket and sets its status. */
export async function recordMessage(tx: SqlClient, ticketId: string, status: TicketStatus): Promise<Ticket> {
  const { rows } = await tx.query<TicketRow>(
    `UPDATE support_tickets SET status = $2, message_count = message_count + 1, updated_at = now()
     WHERE id = $1 RETURNING ${TICKET_COLUMNS}`,
    [ticketId, status],
  );
  return ticketOf(rows[0]!);
}

export async function closeTicket(tx: SqlClient, ticketId: string): Promise<Ticket> {
  const { rows } = await tx.query<TicketRow>(
    `UPDATE support_tickets SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = $1 RETURNING ${TICKET_COLUMNS}`,
    [ticketId],
  );
  return ticketOf(rows[0]!);
}

export async function getMessage(db: SqlClient, id: string): Promise<TicketMessage | null> {
  const { rows } = await db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM support_messages WHERE id = $1`, [id]);
  return rows[0] ? messageOf(rows[0]) : null;
}

/** The thread, oldest first (a ticket holds at most TICKET_MESSAGES_MAX messages). */
export async function listMessages(db: SqlClient, ticketId: string, limit: number): Promise<TicketMessage[]> {
  const { rows } = await db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM support_messages WHERE ticket_id = $1 ORDER BY seq LIMIT $2`, [ticketId, limit]);
  return rows.map(messageOf);
}

/** A merchant's tickets (`merchantId`), a buyer's at every merchant (`buyerId`), or a buyer's at one merchant (both). */
export type TicketFilter = {
  livemode: boolean;
  status?: TicketStatus;
  limit: number;
  startingAfter?: string;
} & ({ merchantId: string; buyerId?: string } | { merchantId?: undefined; buyerId: string });

/** Tickets newest first; `starting_after` names the last ticket of the previous page (within the same filter's owner). */
export async function listTickets(db: SqlClient, filter: TicketFilter): Promise<{ data: Ticket[]; hasMore: boolean }> {
  // The type says so too: a list is always of one merchant or of one buyer, never of everyone.
  if (filter.merchantId === undefined && filter.buyerId === undefined) throw new Error('listTickets needs a merchant or a buyer');
  const { rows } = await db.query<TicketRow>(
    `SELECT ${TICKET_COLUMNS} FROM support_tickets
     WHERE ($1::text IS NULL OR merchant_id = $1) AND livemode = $2
       AND ($3::text IS NULL OR buyer_id = $3)
       AND ($4::text IS NULL OR status = $4)
       AND ($5::text IS NULL OR seq < (SELECT seq FROM support_tickets WHERE id = $5 AND ($1::text IS NULL OR merchant_id = $1) AND livemode = $2 AND ($3::text IS NULL OR buyer_id = $3)))
     ORDER BY seq DESC LIMIT $6`,
    [filter.merchantId ?? null, filter.livemode, filter.buyerId ?? null, filter.status ?? null, filter.startingAfter ?? null, filter.limit + 1],
  );
  return { data: rows.slice(0, filter.limit).map(ticketOf), hasMore: rows.length > filter.limit };
}
