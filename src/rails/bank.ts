// The bank rail connector: sends credit transfers (a payout leaving the platform) to a bank's payments
// API and asks for their status. It speaks the shape of an ISO 20022 pain.001 credit transfer over JSON
// (end-to-end id, instructed amount, creditor account, ISO status and reason codes), with a timeout on
// every request and a bounded number of retries. The end-to-end id is our payout id, and the bank treats
// it as an idempotency key, so a retry after a lost answer cannot pay twice. Connectors never touch the
// ledger: they report what the bank said, and the payouts module decides what it means for the money.

export type BankAccountType = 'iban' | 'account_number';

export interface BankAccount {
  type: BankAccountType;
  number: string;
}

export interface CreditTransferRequest {
  /** Our payout id: unique per transfer, at most 35 characters (ISO 20022 Max35Text). */
  endToEndId: string;
  amount: bigint;
  currency: string;
  /** Digits after the decimal point of the currency, to write the amount as the bank expects. */
  exponent: number;
  account: BankAccount;
  creditorName: string;
  remittance: string;
}

/** What a credit transfer is at the bank: taken for processing, paid into the account, or refused. */
export type CreditTransferState = 'accepted' | 'settled' | 'rejected';

export type BankAnswer =
  | { kind: 'answered'; state: CreditTransferState; reference: string; reasonCode: string | null; reasonText: string | null }
  /** The bank does not know this reference (a status asked of a bank that lost or never had it). */
  | { kind: 'unknown' }
  /** No usable answer after the retries: a timeout, a network error, a 5xx, or a refusal of our request
   * that says nothing about the money (the transfer may or may not exist at the bank). */
  | { kind: 'unavailable'; problem: string };

export interface BankRail {
  submit(request: CreditTransferRequest): Promise<BankAnswer>;
  status(reference: string): Promise<BankAnswer>;
}

export interface BankConnectorOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Attempts after the first one, for timeouts, network errors, 429 and 5xx answers. */
  retriesMax: number;
  /** Wait before the first retry; doubled for each further one, never above RETRY_DELAY_MS_MAX. */
  retryDelayMs?: number;
}

const RETRY_DELAY_MS_DEFAULT = 100;
const RETRY_DELAY_MS_MAX = 2_000;
const RESPONSE_BYTES_MAX = 64 * 1024;

/** ISO 20022 ExternalPaymentTransactionStatus1Code values and what they mean for us. */
const STATUS_STATES: Record<string, CreditTransferState> = {
  RCVD: 'accepted',
  ACTC: 'accepted',
  ACCP: 'accepted',
  ACSP: 'accepted',
  PDNG: 'accepted',
  ACSC: 'settled',
  ACCC: 'settled',
  RJCT: 'rejected',
};

/** Writes minor units as the decimal string banks take (`1234n`, exponent 2 → `"12.34"`). */
export function decimalAmount(amount: bigint, exponent: number): string {
  if (exponent === 0) return amount.toString();
  const digits = amount.toString().padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** Why `number` is not a bank account of `type`, or null when it is one. IBANs are checked with their
 * ISO 13616 mod-97 check digits; other account numbers are 4 to 17 digits (as in the US). */
export function bankAccountProblem(account: BankAccount): string | null {
  if (account.type === 'account_number') {
    return /^\d{4,17}$/.test(account.number) ? null : 'an account number is 4 to 17 digits';
  }
  const iban = account.number;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return 'an IBAN is a country code, two check digits and 11 to 30 letters or digits, without spaces';
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const character of rearranged) {
    const value = /\d/.test(character) ? character : String(character.charCodeAt(0) - 55);
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1 ? null : 'the IBAN check digits do not match';
}

interface WireStatus {
  paymentId?: unknown;
  transactionStatus?: unknown;
  statusReasonInformation?: { reasonCode?: unknown; additionalInformation?: unknown };
}

function answerOf(body: WireStatus): BankAnswer {
  const state = typeof body.transactionStatus === 'string' ? STATUS_STATES[body.transactionStatus] : undefined;
  if (!state || typeof body.paymentId !== 'string') {
    return { kind: 'unavailable', problem: `the bank answered an unknown status: ${JSON.stringify(body).slice(0, 200)}` };
  }
  const reason = body.statusReasonInformation;
  return {
    kind: 'answered',
    state,
    reference: body.paymentId,
    reasonCode: typeof reason?.reasonCode === 'string' ? reason.reasonCode : null,
    reasonText: typeof reason?.additionalInformation === 'string' ? reason.additionalInformation : null,
  };
}

type Attempt = { retry: true; problem: string } | { retry: false; answer: BankAnswer };

export function createBankConnector(options: BankConnectorOptions): BankRail {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const retryDelayMs = options.retryDelayMs ?? RETRY_DELAY_MS_DEFAULT;

  async function once(method: 'GET' | 'POST', path: string, body: unknown): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      return { retry: true, problem: name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `network error: ${(error as Error).message}` };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return { retry: true, problem: `the answer was cut off: ${(error as Error).message}` };
    }
    if (response.status === 429 || response.status >= 500) return { retry: true, problem: `the bank answered ${response.status}` };
    if (response.status === 404) return { retry: false, answer: { kind: 'unknown' } };
    if (text.length > RESPONSE_BYTES_MAX) return { retry: false, answer: { kind: 'unavailable', problem: 'the answer is too large' } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { retry: false, answer: { kind: 'unavailable', problem: `the bank answered ${response.status} with a body that is not JSON` } };
    }
    if (response.status === 200 || response.status === 201) return { retry: false, answer: answerOf(parsed as WireStatus) };
    // A 4xx says our request was refused, not what became of the money: it is reported, never retried.
    return { retry: false, answer: { kind: 'unavailable', problem: `the bank refused the request (${response.status}): ${text.slice(0, 300)}` } };
  }

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<BankAnswer> {
    let problem = '';
    for (let attempt = 0; attempt <= options.retriesMax; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(retryDelayMs * 2 ** (attempt - 1), RETRY_DELAY_MS_MAX)));
      const outcome = await once(method, path, body);
      if (!outcome.retry) return outcome.answer;
      problem = outcome.problem;
    }
    return { kind: 'unavailable', problem: `${problem} (after ${options.retriesMax + 1} attempts)` };
  }

  return {
    submit(request) {
      return call('POST', '/v1/credit-transfers', {
        endToEndIdentification: request.endToEndId,
        instructedAmount: { currency: request.currency, amount: decimalAmount(request.amount, request.exponent) },
        creditorAccount: request.account.type === 'iban' ? { iban: request.account.number } : { accountNumber: request.account.number },
        creditorName: request.creditorName,
        remittanceInformationUnstructured: request.remittance,
      });
    },
    status(reference) {
      return call('GET', `/v1/credit-transfers/${encodeURIComponent(reference)}/status`);
    },
  };
}
