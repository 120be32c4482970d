// Disputes: a buyer contests a payment; the disputed amount is held from the merchant's balance at once
// (a ledger hold from the merchant to the buyer's wallet); the merchant answers with evidence; the
// operator decides. Won: the hold is voided and the merchant keeps the money. Lost: the hold is posted
// to the buyer, and whatever the hold could not take when the dispute opened is paid from the
// merchant's balance as it is now, the rest advanced by the platform (docs/api/refunds-and-disputes.md).
//
// Opening a dispute writes the payment (only its version changes) over the version it was decided
// from, so a dispute and a refund decided at once from the same payment state cannot both land.
import type { Books } from '../books/service.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import type { Scope } from '../customers/service.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import { payerOf, type Payment } from '../payments/model.ts';
import type { PaymentService } from '../payments/service.ts';
import type { Database } from '../store/database.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor, ledgerId } from '../api/ids.ts';
import { eventWrite } from '../events/outbox.ts';
import type { DisputeFacts } from '../refunds/service.ts';
import { disputeJson, OPEN_DISPUTE_STATUSES, type Dispute, type DisputeEvidence, type DisputeReason } from './model.ts';
import * as store from './store.ts';
import { riskLabelWrite } from '../risk/store.ts';

/** A decided dispute over an unauthorised payment labels it for the risk model: lost is fraud (the buyer
 * was right that they did not make it), won is not. Other reasons are about the goods, not about who
 * paid, so they label nothing. */
function fraudLabelOf(dispute: Dispute, outcome: 'won' | 'lost'): UnitWrite[] {
  if (dispute.reason !== 'fraudulent') return [];
  return [riskLabelWrite({ subjectId: dispute.paymentId, source: 'dispute', fraud: outcome === 'lost', buyerId: dispute.buyerId })];
}

/** A change decided from a state another request changed first is decided again, this many times. */
const DECIDE_ATTEMPTS_MAX = 4;
/** How long a dispute decided against a buyer counts against their standing for automatic refunds. */
export const STRIKE_PERIOD_DAYS = 365;

export interface DisputeRequest {
  paymentId: string;
  /** The buyer disputing; null when a support agent of the operator acts for the payment's buyer. */
  buyerId: string | null;
  /** The disputed amount; what was captured and not refunded when absent. */
  amount?: bigint;
  reason: DisputeReason;
  description?: string | null;
  /** The operator's mode: a payment of the other mode is `resource_missing` (a buyer's own mode is their buyer's). */
  livemode?: boolean;
}

export type DisputeResult =
  | { ok: true; dispute: Dispute }
  | { ok: false; code: ApiErrorCode; param?: string; message?: string };

export interface DisputeService extends DisputeFacts {
  openByBuyer(input: DisputeRequest, idSeed?: string): Promise<DisputeResult>;
  submitEvidence(scope: Scope, id: string, evidence: DisputeEvidence): Promise<DisputeResult>;
  /** The operator's decision; `won` and `lost` are the merchant's outcome. */
  /** The operator's decision; a dispute of the other mode than `livemode` is `resource_missing`. */
  decide(id: string, outcome: 'won' | 'lost', livemode: boolean): Promise<DisputeResult>;
  get(scope: Scope, id: string): Promise<Dispute | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string; paymentId?: string; status?: string }): Promise<{ data: Dispute[]; hasMore: boolean }>;
  /** Every merchant's disputes in one mode (the operator's queue). */
  listAll(options: { livemode: boolean; merchantId?: string; status?: string; limit: number; startingAfter?: string }): Promise<{ data: Dispute[]; hasMore: boolean }>;
}

export interface DisputeDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  payments: PaymentService;
  /** Timeout of the hold on the merchant's balance; the operator decides well before it. */
  holdSeconds: number;
  /** A lost dispute takes back the loyalty points the payment earned and gives back points it spent,
   * as a refund of the disputed amount would (docs/loyalty.md), linked to the dispute's transfers. */
  loyalty?: { clawbackFor(refund: { id: string; amount: bigint }, payment: Payment): Promise<{ transfers: TransferInput[]; writes: UnitWrite[] } | null> };
}

type Attempt = DisputeResult | { retry: true; holdGone?: boolean };

function failure(code: ApiErrorCode, message: string, param?: string): DisputeResult {
  return { ok: false, code, message, ...(param === undefined ? {} : { param }) };
}

function isConflict(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'concurrent_modification';
}

const moved = (results: CreateTransferResult[]) => results.every((result) => result.result === 'created' || result.result === 'exists');
const holdExpired = (results: CreateTransferResult[]) =>
  results.some((result) => result.result === 'pending_transfer_expired' || result.result === 'pending_transfer_already_expired');

export function createDisputeService(deps: DisputeDependencies): DisputeService {
  const { db, ledger, books, payments } = deps;

  async function get(scope: Scope, id: string): Promise<Dispute | null> {
    const dispute = await store.getDispute(db, id);
    if (!dispute || dispute.merchantId !== scope.merchantId || dispute.livemode !== scope.livemode) return null;
    return dispute;
  }

  function accountsOf(dispute: { buyerId: string; merchantId: string; livemode: boolean; currency: string }) {
    return {
      wallet: books.account('wallet', dispute.buyerId, dispute.livemode, dispute.currency),
      merchant: books.account('merchant', dispute.merchantId, dispute.livemode, dispute.currency),
      platform: books.account('platform_fee', 'platform', dispute.livemode, dispute.currency),
    };
  }

  async function merchantAvailable(accounts: ReturnType<typeof accountsOf>): Promise<bigint> {
    await books.ensure(Object.values(accounts));
    const available = (await books.balance(accounts.merchant)).available;
    return available > 0n ? available : 0n;
  }

  async function decided(attempt: (holdGone: boolean) => Promise<Attempt>): Promise<DisputeResult> {
    let holdGone = false;
    for (let index = 0; index < DECIDE_ATTEMPTS_MAX; index += 1) {
      const outcome = await attempt(holdGone);
      if (!('retry' in outcome)) return outcome;
      holdGone ||= outcome.holdGone === true;
    }
    return failure('concurrent_modification', 'The dispute or its payment kept changing while it was decided; retry.');
  }

  /** Commits `transfers` with the dispute's next state and its event (plus `extra` writes); a result
   * the state cannot follow (short funds that arrived meanwhile, a hold resolved by a concurrent
   * decision) is decided again. */
  async function commit(
    before: Dispute | null,
    transfers: TransferInput[],
    next: (results: CreateTransferResult[]) => { dispute: Dispute; event: string } | { retry: true; holdGone?: boolean },
    extra: UnitWrite[] = [],
  ): Promise<Attempt> {
    const outcome = await ledger
      .commit<Attempt>({
        transfers,
        finish: (results) => {
          const decision = next(results);
          if ('retry' in decision) return { value: decision, writes: [] };
          const shown = { ...decision.dispute, version: before ? before.version + 1 : 0 };
          const writes: UnitWrite[] = [
            store.disputeWrite(decision.dispute, before ? before.version : null),
            ...extra,
            eventWrite({ merchantId: shown.merchantId, livemode: shown.livemode, type: decision.event, object: disputeJson(shown), occurrence: String(shown.version) }),
          ];
          return { value: { ok: true, dispute: shown }, writes };
        },
      })
      .catch((error: unknown) => {
        if (isConflict(error)) return { retry: true } as const;
        throw error;
      });
    return outcome;
  }

  async function openOnce(input: DisputeRequest, id: string): Promise<Attempt> {
    const existing = await store.getDispute(db, id);
    if (existing) return { ok: true, dispute: existing };
    // The payment is read before its dispute: a dispute committed after this read bumped the payment's
    // version, so the write below (over the version read here) fails and the dispute is decided again.
    const payment = await payments.find(input.paymentId);
    if (!payment || (input.buyerId !== null && payment.buyerId !== input.buyerId) || (input.livemode !== undefined && payment.livemode !== input.livemode)) {
      return failure('resource_missing', `No such payment: ${input.paymentId}.`, 'payment');
    }
    if (payment.status !== 'succeeded') {
      return failure('payment_unexpected_state', `The payment is ${payment.status}; only a succeeded payment can be disputed.`, 'payment');
    }
    if (await store.getDisputeOfPayment(db, payment.id)) {
      return failure('dispute_exists', 'The payment already has a dispute; a payment is disputed once.', 'payment');
    }
    const disputable = payment.amountCaptured - payment.amountRefunded;
    const amount = input.amount ?? disputable;
    if (disputable <= 0n) return failure('dispute_amount_too_large', 'The payment was refunded in full; nothing remains to dispute.', 'amount');
    if (amount > disputable) {
      return failure('dispute_amount_too_large', `The amount ${amount} is more than the ${disputable} captured and not refunded.`, 'amount');
    }
    const accounts = accountsOf({ ...payment, buyerId: payerOf(payment) });
    // Hold what the merchant's balance holds now, up to the disputed amount; the rest is settled if the
    // dispute is lost (see the header).
    const available = await merchantAvailable(accounts);
    const held = amount < available ? amount : available;
    const dispute = newDispute(id, payment, { amount, reason: input.reason, description: input.description ?? null, amountHeld: held });
    const transfers: TransferInput[] =
      held === 0n
        ? []
        : [
            {
              id: ledgerId(`${id}:hold`),
              debitAccountId: accounts.merchant.id,
              creditAccountId: accounts.wallet.id,
              amount: held,
              pending: true,
              timeoutSeconds: deps.holdSeconds,
              code: TRANSFER_CODES.dispute_hold,
              metadata: { dispute: id, payment: payment.id },
            },
          ];
    return commit(
      null,
      transfers,
      // Short funds here mean the balance fell since it was read: decide again from the new balance.
      (results) => (moved(results) ? { dispute, event: 'dispute.created' } : { retry: true }),
      [payments.unitWrite(payment)],
    );
  }

  function newDispute(id: string, payment: Payment, fields: { amount: bigint; reason: DisputeReason; description: string | null; amountHeld: bigint }): Dispute {
    const now = new Date();
    return {
      id,
      merchantId: payment.merchantId,
      livemode: payment.livemode,
      paymentId: payment.id,
      buyerId: payerOf(payment),
      currency: payment.currency,
      status: 'needs_response',
      amountFromMerchant: 0n,
      amountFromPlatform: 0n,
      evidence: null,
      evidenceSubmittedAt: null,
      closedAt: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
      ...fields,
    };
  }

  async function evidenceOnce(scope: Scope, id: string, evidence: DisputeEvidence): Promise<Attempt> {
    const dispute = await get(scope, id);
    if (!dispute) return failure('resource_missing', `No such dispute: ${id}.`, 'id');
    if (dispute.status !== 'needs_response') {
      return failure('dispute_unexpected_state', `The dispute is ${dispute.status}; evidence is accepted once, while it needs a response.`);
    }
    const next: Dispute = { ...dispute, status: 'under_review', evidence, evidenceSubmittedAt: new Date() };
    return commit(dispute, [], () => ({ dispute: next, event: 'dispute.updated' }));
  }

  async function decideOnce(id: string, outcome: 'won' | 'lost', livemode: boolean, holdGone: boolean): Promise<Attempt> {
    const dispute = await store.getDispute(db, id);
    if (!dispute || dispute.livemode !== livemode) return failure('resource_missing', `No such dispute: ${id}.`, 'id');
    if (!OPEN_DISPUTE_STATUSES.includes(dispute.status)) {
      return failure('dispute_unexpected_state', `The dispute is ${dispute.status}; it was already decided.`);
    }
    const closedAt = new Date();
    const holdId = ledgerId(`${id}:hold`);
    const hasHold = dispute.amountHeld > 0n && !holdGone;
    if (outcome === 'won') {
      const transfers: TransferInput[] = hasHold ? [{ id: ledgerId(`${id}:release`), voidPendingId: holdId, code: TRANSFER_CODES.dispute_hold }] : [];
      return commit(
        dispute,
        transfers,
        (results) => (moved(results) || holdExpired(results) ? { dispute: { ...dispute, status: 'won', closedAt }, event: 'dispute.closed' } : { retry: true }),
        fraudLabelOf(dispute, 'won'),
      );
    }
    const accounts = accountsOf(dispute);
    const fromHold = hasHold ? dispute.amountHeld : 0n;
    const shortfall = dispute.amount - fromHold;
    const available = shortfall > 0n ? await merchantAvailable(accounts) : 0n;
    const fromBalance = shortfall < available ? shortfall : available;
    const fromPlatform = shortfall - fromBalance;
    const metadata = { dispute: id, payment: dispute.paymentId };
    const transfers: TransferInput[] = [];
    if (fromHold > 0n) transfers.push({ id: ledgerId(`${id}:settle`), postPendingId: holdId, code: TRANSFER_CODES.dispute_lost });
    if (fromBalance > 0n) {
      transfers.push({ id: ledgerId(`${id}:merchant_shortfall`), debitAccountId: accounts.merchant.id, creditAccountId: accounts.wallet.id, amount: fromBalance, code: TRANSFER_CODES.dispute_lost, metadata });
    }
    if (fromPlatform > 0n) {
      transfers.push({ id: ledgerId(`${id}:platform_advance`), debitAccountId: accounts.platform.id, creditAccountId: accounts.wallet.id, amount: fromPlatform, code: TRANSFER_CODES.dispute_lost, metadata });
    }
    // The points go with the money: linked after it, so neither moves without the other. A concurrent
    // spend failing the claw-back fails the group, which is decided again from fresh balances.
    const payment = deps.loyalty ? await payments.find(dispute.paymentId) : null;
    const points = payment && deps.loyalty ? await deps.loyalty.clawbackFor({ id, amount: dispute.amount }, payment) : null;
    transfers.push(...(points?.transfers ?? []));
    const linked = transfers.map((transfer, index) => (index < transfers.length - 1 ? { ...transfer, linked: true } : transfer));
    const lost: Dispute = { ...dispute, status: 'lost', closedAt, amountFromMerchant: fromHold + fromBalance, amountFromPlatform: fromPlatform };
    return commit(
      dispute,
      linked,
      (results) => {
        if (moved(results)) return { dispute: lost, event: 'dispute.closed' };
        // An expired hold returned its money to the merchant: settle the whole amount without it.
        return { retry: true, holdGone: holdExpired(results) };
      },
      [...(points?.writes ?? []), ...fraudLabelOf(dispute, 'lost')],
    );
  }

  return {
    openByBuyer: (input, idSeed) => {
      const id = idFor('dp', idSeed);
      return decided(() => openOnce(input, id));
    },
    submitEvidence: (scope, id, evidence) => decided(() => evidenceOnce(scope, id, evidence)),
    decide: (id, outcome, livemode) => decided((holdGone) => decideOnce(id, outcome, livemode, holdGone)),
    get,
    list: (scope, options) => store.listDisputes(db, scope, options),
    listAll: (options) => store.listAllDisputes(db, options),

    async disputeOfPayment(paymentId) {
      const dispute = await store.getDisputeOfPayment(db, paymentId);
      return dispute ? { status: dispute.status, amount: dispute.amount } : null;
    },

    buyerHasDisputeStrikes: (buyerId) => store.buyerHasStrikes(db, buyerId, new Date(Date.now() - STRIKE_PERIOD_DAYS * 24 * 3600 * 1000)),
  };
}
