// A sandbox SMS API for tests: an HTTP server on loopback answering the shape of Twilio's Messages
// resource (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To, From or
// MessagingServiceSid, and Body, HTTP Basic with the account id and auth token). It keeps what it
// accepts instead of texting anyone. It refuses as the real API does: 401 (code 20003) for bad
// credentials, 400 (code 21211) for a To that is not an E.164 number, 400 (21602) without a Body.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedText {
  to: string;
  from: string;
  body: string;
}

export interface SmsSandbox {
  /** http://SID:TOKEN@127.0.0.1:port, to use as SMS_URL. */
  url: string;
  accountSid: string;
  received: ReceivedText[];
  close(): Promise<void>;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function formOf(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startSmsSandbox(): Promise<SmsSandbox> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const received: ReceivedText[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      if (request.method !== 'POST' || request.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
        return answer(response, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });
      }
      if (request.headers.authorization !== expected) return answer(response, 401, { code: 20003, message: 'Authenticate', status: 401 });
      const form = await formOf(request);
      const to = form.get('To') ?? '';
      const from = form.get('From') ?? form.get('MessagingServiceSid') ?? '';
      const body = form.get('Body') ?? '';
      if (!/^\+[1-9]\d{6,14}$/.test(to)) return answer(response, 400, { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 });
      if (body === '') return answer(response, 400, { code: 21602, message: 'Message body is required.', status: 400 });
      received.push({ to, from, body });
      answer(response, 201, { sid: `SM${randomBytes(16).toString('hex')}`, account_sid: accountSid, to, from, body, status: 'queued' });
    })().catch(() => answer(response, 500, { code: 20500, message: 'Internal Server Error', status: 500 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${accountSid}:${authToken}@127.0.0.1:${port}`,
    accountSid,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
