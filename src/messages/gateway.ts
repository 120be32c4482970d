// How buyers are sent one-time codes and notifications (MESSAGE_GATEWAY). `sandbox` writes each message
// to the `messages` table, the outbox shown in development at /sandbox/outbox; `external` sends email
// through an SMTP relay (SMTP_URL: a provider's submission port, a local Postfix...) with nodemailer,
// and texts through a Twilio-compatible REST API (SMS_URL), each channel when its URL is set; `none`
// sends nothing.
import nodemailer from 'nodemailer';
import { newId } from '../api/ids.ts';
import type { Database } from '../store/database.ts';
import { isLoopbackHostname } from '../config/config.ts';

export type MessageChannel = 'email' | 'sms';

export interface OutgoingMessage {
  channel: MessageChannel;
  /** An email address or an E.164 phone number. */
  to: string;
  /** The email's subject (SMS have none); a generic one when absent. */
  subject?: string;
  body: string;
}

export interface SentMessage extends OutgoingMessage {
  id: string;
  createdAt: Date;
}

export interface MessageGateway {
  /** Whether this gateway delivers on `channel` (the `none` gateway on none, SMTP on email, the SMS API on sms). */
  canSend(channel: MessageChannel): boolean;
  /** Throws `MessageGatewayUnavailableError` on a channel it cannot send on. */
  send(message: OutgoingMessage): Promise<void>;
}

/** The sandbox's outbox, read by the development routes and by tests. */
export interface MessageOutbox {
  /** Newest first, `limit` at most, only messages to `to` when given. */
  list(options: { to?: string; limit: number }): Promise<SentMessage[]>;
}

export class MessageGatewayUnavailableError extends Error {
  constructor(channel?: MessageChannel) {
    super(channel ? `the message gateway cannot send ${channel} (MESSAGE_GATEWAY)` : 'no message gateway is configured (MESSAGE_GATEWAY=none)');
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
    canSend: () => true,
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
    canSend: () => false,
    async send() {
      throw new MessageGatewayUnavailableError();
    },
  };
}

const DEFAULT_SUBJECT = 'A message from Micropay';
/** How long one message may take with the relay (connect, greeting, transfer) before it counts as failed. */
const SMTP_TIMEOUT_MS = 15_000;

/** Email through an SMTP relay; `url` carries the credentials (smtp[s]://user:password@host:port). */
export function createSmtpMessageGateway(options: { url: string; from: string }): MessageGateway {
  const url = new URL(options.url);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    // smtps: TLS from the first byte; smtp: STARTTLS when the relay offers it (required unless the
    // relay is on loopback, where there is nothing to protect and test relays offer none).
    secure: url.protocol === 'smtps:',
    requireTLS: url.protocol === 'smtp:' && !isLoopbackHostname(url.hostname),
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  return {
    canSend: (channel) => channel === 'email',
    async send({ channel, to, subject, body }) {
      if (channel !== 'email') throw new MessageGatewayUnavailableError(channel);
      if (body.length > BODY_LENGTH_MAX) throw new Error(`message body over ${BODY_LENGTH_MAX} characters`);
      try {
        await transport.sendMail({ from: options.from, to, subject: subject ?? DEFAULT_SUBJECT, text: body });
      } catch (error) {
        const failure = error as { responseCode?: unknown; code?: unknown };
        throw new MessageNotSentError('email', typeof failure.responseCode === 'number' ? failure.responseCode : null, typeof failure.code === 'string' ? failure.code : null);
      }
    },
  };
}

/** How long the SMS API may take to answer one message. */
const SMS_TIMEOUT_MS = 10_000;

/**
 * A message the provider refused or did not take (answered as 503 message_not_sent). It carries the
 * provider's codes only, never its text, which may quote the recipient: addresses stay out of logs.
 */
export class MessageNotSentError extends Error {
  constructor(
    readonly channel: MessageChannel,
    /** The SMS API's HTTP status, or the SMTP reply code; null when there was no answer. */
    readonly status: number | null,
    /** The provider's error code: Twilio's (21211, a bad number), or nodemailer's (EAUTH, ECONNECTION...). */
    readonly code: string | null,
  ) {
    super(`the ${channel === 'sms' ? 'SMS API' : 'SMTP relay'} did not take the message (${[status === null ? 'no answer' : `status ${status}`, code ? `code ${code}` : null].filter(Boolean).join(', ')})`);
    this.name = 'MessageNotSentError';
  }
}

/**
 * Texts through a Twilio-compatible REST API: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form
 * fields To, From (or MessagingServiceSid) and Body, HTTP Basic with the account id and auth token taken
 * from `url` (https://SID:TOKEN@api.twilio.com). Email is not its channel.
 */
export function createSmsMessageGateway(options: { url: string; from: string }): MessageGateway {
  const url = new URL(options.url);
  const sid = decodeURIComponent(url.username);
  const authorization = `Basic ${Buffer.from(`${sid}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  const endpoint = `${url.origin}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
  return {
    canSend: (channel) => channel === 'sms',
    async send({ channel, to, body }) {
      if (channel !== 'sms') throw new MessageGatewayUnavailableError(channel);
      if (body.length > BODY_LENGTH_MAX) throw new Error(`message body over ${BODY_LENGTH_MAX} characters`);
      const form = new URLSearchParams({ To: to, Body: body, ...(options.from.startsWith('MG') ? { MessagingServiceSid: options.from } : { From: options.from }) });
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(SMS_TIMEOUT_MS),
      }).catch(() => null);
      if (response === null) throw new MessageNotSentError('sms', null, null);
      if (response.status === 200 || response.status === 201) return;
      const detail = (await response.json().catch(() => null)) as { code?: unknown } | null;
      throw new MessageNotSentError('sms', response.status, detail?.code == null ? null : String(detail.code).slice(0, 20));
    },
  };
}

/** Each channel through the first gateway that sends on it. */
export function combineMessageGateways(gateways: MessageGateway[]): MessageGateway {
  const forChannel = (channel: MessageChannel) => gateways.find((gateway) => gateway.canSend(channel));
  return {
    canSend: (channel) => forChannel(channel) !== undefined,
    async send(message) {
      const gateway = forChannel(message.channel);
      if (!gateway) throw new MessageGatewayUnavailableError(message.channel);
      await gateway.send(message);
    },
  };
}
