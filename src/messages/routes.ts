// The sandbox outbox, registered only outside production mode with the sandbox gateway: what would have
// been emailed or texted to buyers (sign-in and payment codes), as JSON at /sandbox/messages and as a
// small page at /sandbox/outbox. Not part of the API (hidden from the OpenAPI document).
import type { FastifyInstance } from 'fastify';
import type { MessageOutbox, SentMessage } from './gateway.ts';

const LIMIT_DEFAULT = 50;
const LIMIT_MAX = 200;

const MESSAGE_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['message'] },
    channel: { type: 'string', enum: ['email', 'sms'] },
    to: { type: 'string' },
    body: { type: 'string' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'channel', 'to', 'body', 'created'],
} as const;

const QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 254 },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
} as const;

interface OutboxQuery {
  to?: string;
  limit?: string;
}

function messageJson(message: SentMessage) {
  return {
    id: message.id,
    object: 'message' as const,
    channel: message.channel,
    to: message.to,
    body: message.body,
    created: Math.floor(message.createdAt.getTime() / 1000),
  };
}

function limitOf(raw: string | undefined): number {
  const limit = raw === undefined ? LIMIT_DEFAULT : Number(raw);
  return Math.min(Math.max(limit, 1), LIMIT_MAX);
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!);

/** The outbox page shows message bodies (text a sender chose) and runs no script: nothing may run there. */
const OUTBOX_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function outboxPage(messages: SentMessage[], to: string | undefined): string {
  const rows = messages
    .map((message) => `<li><p class="meta">${escapeHtml(message.channel)} to <strong>${escapeHtml(message.to)}</strong>, <time datetime="${message.createdAt.toISOString()}">${escapeHtml(message.createdAt.toISOString())}</time></p><p class="body">${escapeHtml(message.body)}</p></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox outbox · Micropay</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 40rem; padding: 1rem; color: #1a1a1a; }
ol { list-style: none; padding: 0; }
li { border: 1px solid #767676; border-radius: 6px; padding: 0.5rem 1rem; margin-bottom: 0.75rem; }
.meta { color: #4a4a4a; margin: 0; font-size: 0.875rem; }
.body { margin: 0.25rem 0 0; white-space: pre-wrap; }
</style>
</head>
<body>
<main>
<h1>Sandbox outbox</h1>
<p>Messages the sandbox gateway would have sent${to === undefined ? '' : ` to ${escapeHtml(to)}`}, newest first. Development only: nothing here left this machine.</p>
<p><a href="/sandbox/outbox">All messages</a> · <a href="">Refresh</a></p>
${messages.length === 0 ? '<p>No messages yet.</p>' : `<ol>\n${rows}\n</ol>`}
</main>
</body>
</html>`;
}

export async function sandboxMessageRoutes(app: FastifyInstance, { outbox }: { outbox: MessageOutbox }): Promise<void> {
  app.get<{ Querystring: OutboxQuery }>(
    '/sandbox/messages',
    {
      schema: {
        hide: true,
        querystring: QUERY_SCHEMA,
        response: {
          200: {
            type: 'object',
            properties: { object: { type: 'string', enum: ['list'] }, data: { type: 'array', items: MESSAGE_SCHEMA }, has_more: { type: 'boolean' } },
            required: ['object', 'data', 'has_more'],
          },
        },
      },
    },
    async (request) => {
      const messages = await outbox.list({ ...(request.query.to === undefined ? {} : { to: request.query.to }), limit: limitOf(request.query.limit) });
      return { object: 'list', data: messages.map(messageJson), has_more: false };
    },
  );

  app.get<{ Querystring: OutboxQuery }>(
    '/sandbox/outbox',
    { schema: { hide: true, querystring: QUERY_SCHEMA } },
    async (request, reply) => {
      const messages = await outbox.list({ ...(request.query.to === undefined ? {} : { to: request.query.to }), limit: limitOf(request.query.limit) });
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', OUTBOX_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(outboxPage(messages, request.query.to));
    },
  );
}
