// How buyers are sent one-time codes. The sandbox gateway writes each message to the `messages` table,
// the outbox shown in development at /sandbox/outbox; a production installation needs a real email and
// SMS gateway (not built yet), so there `MESSAGE_GATEWAY` is `none` and sending is refused.
import { newId } from '../api/ids.ts';
import type { Database } from '../store/database.ts';

export type MessageChannel = 'email' | 'sms';

export interface OutgoingMessage {
  channel: MessageChannel;
  /** An email address or an E.164 phone number. */
  to: string;
  body: string;
}

export interface SentMessage extends OutgoingMessage {
  id: string;
  createdAt: Date;
}

export interface MessageGateway {
  /** Whether this gateway delivers anything (the `none` gateway does not). */
  readonly available: boolean;
  send(message: OutgoingMessage): Promise<void>;
}

/** The sandbox's outbox, read by the development routes and by tests. */
export interface MessageOutbox {
  /** Newest first, `limit` at most, only messages to `to` when given. */
  list(options: { to?: string; limit: number }): Promise<SentMessage[]>;
}

export class MessageGatewayUnavailableError extends Error {
  constructor() {
    super('no message gateway is configured (MESSAGE_GATEWAY=none)');
    this.name = 'MessageGatewayUnavailableError';
  }
}

const BODY_LENGTH_MAX = 2000;

interface MessageRow {
  id: string;
  channel: MessageChannel;
  recipient: string;
  body: string;
  created_at: Date;
}

export function createSandboxMessageGateway({ db }: { db: Database }): MessageGateway & MessageOutbox {
  return {
    available: true,
    async send({ channel, to, body }) {
      if (body.length > BODY_LENGTH_MAX) throw new Error(`message body over ${BODY_LENGTH_MAX} characters`);
      await db.query('INSERT INTO messages (id, channel, recipient, body) VALUES ($1, $2, $3, $4)', [newId('msg'), channel, to, body]);
    },
    async list({ to, limit }) {
      const { rows } = to === undefined
        ? await db.query<MessageRow>('SELECT id, channel, recipient, body, created_at FROM messages ORDER BY seq DESC LIMIT $1', [limit])
        : await db.query<MessageRow>('SELECT id, channel, recipient, body, created_at FROM messages WHERE recipient = $1 ORDER BY seq DESC LIMIT $2', [to, limit]);
      return rows.map((row) => ({ id: row.id, channel: row.channel, to: row.recipient, body: row.body, createdAt: row.created_at }));
    },
  };
}

/** Sends nothing: callers get `MessageGatewayUnavailableError` (answered as 503 message_gateway_unavailable). */
export function createNoMessageGateway(): MessageGateway {
  return {
    available: false,
    async send() {
      throw new MessageGatewayUnavailableError();
    },
  };
}
