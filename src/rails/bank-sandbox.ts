// The SANDBOX bank: a real HTTP server that behaves like a bank's credit-transfer API, for development
// and tests. It never moves money. A transfer is accepted (`ACCP`) and settles later (`ACSC`), or is
// rejected (`RJCT`) with an ISO 20022 reason code, depending on the creditor account:
//
//   000123456789   settles (so does any other valid account number or IBAN)
//   000111111116   accepted, then rejected with AC04 (closed account)
//   000111111113   rejected at once with AC01 (incorrect account number)
//   000222222227   the first request of each transfer is answered too late (after `slowResponseMs`),
//                  as if the answer were lost; a retry gets the transfer, which then settles
//
// The end-to-end id is an idempotency key: the same id with the same content answers the same transfer
// (200), with other content a 409. Settlement is decided when the status is read, `settlementDelayMs`
// after acceptance, so the sandbox needs no timers of its own.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { bankAccountProblem, type BankAccount } from './bank.ts';

export const SANDBOX_BANK_ACCOUNTS = {
  settles: '000123456789',
  closedAccount: '000111111116',
  incorrectAccount: '000111111113',
  timesOutOnce: '000222222227',
} as const;

export interface BankSandboxOptions {
  /** How long after acceptance a transfer settles (or is rejected). */
  settlementDelayMs: number;
  /** How late the first answer for the `timesOutOnce` account comes: more than the client's timeout. */
  slowResponseMs: number;
  /** Transfers remembered at most; the oldest are forgotten beyond it. */
  transfersMax?: number;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Run on its own: the server keeps the process alive (inside Micropay it never does by itself). */
  standalone?: boolean;
}

export interface BankSandbox {
  url: string;
  /** How many POSTs the sandbox received for this end-to-end id (tests use it to see retries). */
  submissionsOf(endToEndId: string): number;
  /** How many distinct transfers the sandbox holds. */
  transferCount(): number;
  close(): Promise<void>;
}

interface SandboxTransfer {
  paymentId: string;
  endToEndId: string;
  fingerprint: string;
  account: BankAccount;
  acceptedAtMs: number;
  /** Set when the transfer was refused at once. */
  rejectedAtOnce: { reasonCode: string; text: string } | null;
}

const BODY_BYTES_MAX = 16 * 1024;
const TRANSFERS_MAX_DEFAULT = 100_000;
const FINAL_REJECTIONS: Record<string, { reasonCode: string; text: string }> = {
  [SANDBOX_BANK_ACCOUNTS.closedAccount]: { reasonCode: 'AC04', text: 'Closed account number' },
};

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function formatError(response: ServerResponse, status: number, code: string, text: string): void {
  send(response, status, { tppMessages: [{ category: 'ERROR', code, text }] });
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_BYTES_MAX) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface ParsedRequest {
  endToEndId: string;
  account: BankAccount;
  fingerprint: string;
}

/** Checks a credit transfer request as a bank would; returns the problem as text, or the request. */
function parseTransfer(text: string): ParsedRequest | string {
  let body: Record<string, any>;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the body is not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'the body is not an object';
  const endToEndId = body.endToEndIdentification;
  if (typeof endToEndId !== 'string' || endToEndId.length < 1 || endToEndId.length > 35) return 'endToEndIdentification is 1 to 35 characters';
  const amount = body.instructedAmount;
  if (typeof amount?.currency !== 'string' || !/^[A-Z]{3}$/.test(amount.currency)) return 'instructedAmount.currency is an ISO 4217 code';
  if (typeof amount?.amount !== 'string' || !/^(0|[1-9]\d{0,17})(\.\d{1,3})?$/.test(amount.amount) || /^0(\.0*)?$/.test(amount.amount)) {
    return 'instructedAmount.amount is a positive decimal string';
  }
  const creditor = body.creditorAccount ?? {};
  const account: BankAccount | null =
    typeof creditor.iban === 'string' ? { type: 'iban', number: creditor.iban } : typeof creditor.accountNumber === 'string' ? { type: 'account_number', number: creditor.accountNumber } : null;
  if (!account) return 'creditorAccount needs an iban or an accountNumber';
  if (typeof body.creditorName !== 'string' || body.creditorName.length < 1 || body.creditorName.length > 70) return 'creditorName is 1 to 70 characters';
  const fingerprint = JSON.stringify([amount.currency, amount.amount, account.type, account.number, body.creditorName]);
  return { endToEndId, account, fingerprint };
}

export async function startBankSandbox(options: BankSandboxOptions): Promise<BankSandbox> {
  const transfersMax = options.transfersMax ?? TRANSFERS_MAX_DEFAULT;
  const byPaymentId = new Map<string, SandboxTransfer>();
  const byEndToEndId = new Map<string, SandboxTransfer>();
  const submissions = new Map<string, number>();
  const slowAnswers = new Set<ReturnType<typeof setTimeout>>();

  function statusBody(transfer: SandboxTransfer) {
    const settled = Date.now() - transfer.acceptedAtMs >= options.settlementDelayMs;
    const rejection = transfer.rejectedAtOnce ?? (settled ? FINAL_REJECTIONS[transfer.account.number] : undefined);
    return {
      paymentId: transfer.paymentId,
      endToEndIdentification: transfer.endToEndId,
      transactionStatus: rejection ? 'RJCT' : settled ? 'ACSC' : 'ACCP',
      ...(rejection ? { statusReasonInformation: { reasonCode: rejection.reasonCode, additionalInformation: rejection.text } } : {}),
      _links: { status: { href: `/v1/credit-transfers/${transfer.paymentId}/status` } },
    };
  }

  function remember(transfer: SandboxTransfer): void {
    if (byPaymentId.size >= transfersMax) {
      const oldest = byPaymentId.values().next().value!;
      byPaymentId.delete(oldest.paymentId);
      byEndToEndId.delete(oldest.endToEndId);
      submissions.delete(oldest.endToEndId);
    }
    byPaymentId.set(transfer.paymentId, transfer);
    byEndToEndId.set(transfer.endToEndId, transfer);
  }

  async function createTransfer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    if (text === null) return formatError(response, 413, 'FORMAT_ERROR', 'the body is too large');
    const parsed = parseTransfer(text);
    if (typeof parsed === 'string') return formatError(response, 400, 'FORMAT_ERROR', parsed);
    const count = (submissions.get(parsed.endToEndId) ?? 0) + 1;
    submissions.set(parsed.endToEndId, count);
    const existing = byEndToEndId.get(parsed.endToEndId);
    if (existing) {
      if (existing.fingerprint !== parsed.fingerprint) {
        return formatError(response, 409, 'DUPLICATE_END_TO_END_ID', 'this endToEndIdentification was used for another transfer');
      }
      return send(response, 200, statusBody(existing));
    }
    const problem = bankAccountProblem(parsed.account);
    const rejectedAtOnce =
      problem !== null || parsed.account.number === SANDBOX_BANK_ACCOUNTS.incorrectAccount
        ? { reasonCode: 'AC01', text: problem ?? 'Incorrect account number' }
        : null;
    const transfer: SandboxTransfer = {
      paymentId: `bnk_${randomBytes(12).toString('hex')}`,
      endToEndId: parsed.endToEndId,
      fingerprint: parsed.fingerprint,
      account: parsed.account,
      acceptedAtMs: Date.now(),
      rejectedAtOnce,
    };
    remember(transfer);
    if (parsed.account.number === SANDBOX_BANK_ACCOUNTS.timesOutOnce && count === 1) {
      // The transfer is taken, but its answer comes after the client stopped waiting.
      const timer = setTimeout(() => {
        slowAnswers.delete(timer);
        send(response, 201, statusBody(transfer));
      }, options.slowResponseMs);
      slowAnswers.add(timer);
      return;
    }
    send(response, 201, statusBody(transfer));
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const statusMatch = /^\/v1\/credit-transfers\/([A-Za-z0-9_]{1,64})\/status$/.exec(url.pathname);
    if (request.method === 'POST' && url.pathname === '/v1/credit-transfers') {
      createTransfer(request, response).catch(() => formatError(response, 500, 'INTERNAL_SERVER_ERROR', 'the sandbox failed'));
      return;
    }
    if (request.method === 'GET' && statusMatch) {
      const transfer = byPaymentId.get(statusMatch[1]!);
      if (!transfer) return formatError(response, 404, 'RESOURCE_UNKNOWN', 'no such payment');
      return send(response, 200, statusBody(transfer));
    }
    formatError(response, 404, 'RESOURCE_UNKNOWN', 'no such endpoint');
  });
  server.keepAliveTimeout = 5_000;
  if (!options.standalone) server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    submissionsOf: (endToEndId) => submissions.get(endToEndId) ?? 0,
    transferCount: () => byPaymentId.size,
    async close() {
      for (const timer of slowAnswers) clearTimeout(timer);
      slowAnswers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// Run on its own (`node --import tsx src/rails/bank-sandbox.ts [port] [host]`) to share one sandbox bank
// between several Micropay processes through BANK_SANDBOX_URL. It settles after
// BANK_SANDBOX_SETTLEMENT_DELAY_MS (default 2000) and answers the time-out-once account after
// BANK_SANDBOX_SLOW_RESPONSE_MS (default 10000, twice the connector's default timeout).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sandbox = await startBankSandbox({
    port: Number(process.argv[2] ?? 0),
    host: process.argv[3] ?? '127.0.0.1',
    settlementDelayMs: Number(process.env.BANK_SANDBOX_SETTLEMENT_DELAY_MS ?? 2000),
    slowResponseMs: Number(process.env.BANK_SANDBOX_SLOW_RESPONSE_MS ?? 10_000),
    standalone: true,
  });
  process.stdout.write(`sandbox bank listening at ${sandbox.url}\n`);
}
