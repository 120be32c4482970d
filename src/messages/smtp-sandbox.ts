// A sandbox SMTP relay for tests: a real SMTP server (smtp-server) on loopback that requires AUTH PLAIN
// or LOGIN with one user, accepts every recipient, and keeps each message it receives, parsed
// (mailparser), instead of delivering it. It speaks the protocol a provider's submission port does,
// without TLS (loopback), so the SMTP gateway is tested against the wire, not a stub.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** The envelope's sender and recipients, as the relay saw them (MAIL FROM, RCPT TO). */
  envelopeFrom: string;
  envelopeTo: string[];
  from: string;
  subject: string;
  text: string;
  /** The user that authenticated. */
  user: string;
}

export interface SmtpSandbox {
  /** smtp://user:password@127.0.0.1:port */
  url: string;
  received: ReceivedMail[];
  /** Refuse the next `count` messages with a 451 (a relay that is temporarily unavailable). */
  refuseNext(count: number): void;
  close(): Promise<void>;
}

export async function startSmtpSandbox(options: { user?: string; password?: string } = {}): Promise<SmtpSandbox> {
  const user = options.user ?? 'micropay';
  const password = options.password ?? 'sandbox-password';
  const received: ReceivedMail[] = [];
  let refusals = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    size: 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          if (refusals > 0) {
            refusals -= 1;
            const error = new Error('Try again later') as Error & { responseCode: number };
            error.responseCode = 451;
            return callback(error);
          }
          received.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
            from: mail.from?.text ?? '',
            subject: mail.subject ?? '',
            text: (mail.text ?? '').trim(),
            user: String(session.user ?? ''),
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    received,
    refuseNext: (count) => {
      refusals = count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
