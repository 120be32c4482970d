// Refunds: the merchant's own (at once, full or partial, several per payment), and the buyer's requests,
// which the automatic policy completes at once when they are small, recent and from a buyer in good
// standing, and otherwise leaves pending for the merchant to approve or decline.
//
// A refund moves money as one linked group: the pro-rata platform fee goes back to the merchant, and the
// refund goes from the merchant to the buyer's wallet. The refund's row, the payment's new
// `amountRefunded` (written only over the payment version the refund was decided from), the risk
// decision and the events are written in the same group commit, so two refunds decided at once from the
// same payment state cannot both land: the second is decided again from the new state.
import type { Books } from '../books/service.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import type { Scope } from '../customers/service.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Payment } from '../payments/model.ts';
import { paymentJson, payerOf } from '../payments/model.ts';
import type { PaymentService } from '../payments/service.ts';
import type { RiskDecision, RiskHook } from '../risk/hook.ts';
import { riskDecisionWrite } from '../risk/hook.ts';
import type { Database } from '../store/database.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor, ledgerId } from '../api/ids.ts';
import { eventWrite } from '../events/outbox.ts';
import { feeReversalFor, refundJson, type PendingReason, type Refund, type RefundReason } from './model.ts';
import * as store from './store.ts';

/** A change decided from a state another request changed first is decided again, this many times. */
const DECIDE_ATTEMPTS_MAX = 4;
/** The period over which a buyer's automatic refunds are counted for their standing. */
export const STANDING_PERIOD_DAYS = 30;

export interface RefundPolicy {
  /** Largest amount completed without a human, per currency (minor units); a currency absent is never automatic. */
  automaticMax: Record<string, bigint>;
  /** How long after the payment a request may still complete automatically. */
  automaticWindowSeconds: number;
  /** Automatic refunds a buyer may receive per `STANDING_PERIOD_DAYS` while in good standing. */
  automaticPerBuyerMax: number;
}

/** What refunds need to know about disputes (the disputes service provides it). */
export interface DisputeFacts {
  /** The dispute of a payment, if it has one. */
  disputeOfPayment(paymentId: string): Promise<{ status: 'needs_response' | 'under_review' | 'won' | 'lost'; amount: bigint } | null>;
  /** Whether the buyer has a dispute open, or one decided against them recently. */
  buyerHasDisputeStrikes(buyerId: string): Promise<boolean>;
}

export interface RefundInput {
  paymentId: string;
  /** The amount to refund; what remains refundable when absent. */
  amount?: bigint;
  reason?: RefundReason;
  description?: string | null;
  metadata?: Record<string, string> | null;
}

export interface BuyerRefundRequest {
  paymentId: string;
  /** The buyer asking; null when a support agent of the operator asks on behalf of the payment's buyer. */
  buyerId: string | null;
  amount?: bigint;
  reason: RefundReason;
  description?: string | null;
}

export type RefundResult =
  | { ok: true; refund: Refund }
  | { ok: false; code: ApiErrorCode; param?: string; message?: string; refund?: Refund };

export interface RefundService {
  create(scope: Scope, input: RefundInput, idSeed?: string): Promise<RefundResult>;
  requestByBuyer(input: BuyerRefundRequest, idSeed?: string): Promise<RefundResult>;
  approve(scope: Scope, id: string): Promise<RefundResult>;
  decline(scope: Scope, id: string, cancellationReason?: string): Promise<RefundResult>;
  get(scope: Scope, id: string): Promise<Refund | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string; paymentId?: string; status?: string }): Promise<{ data: Refund[]; hasMore: boolean }>;
}

export interface RefundDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  payments: PaymentService;
  risk: RiskHook;
  disputes: DisputeFacts;
  policy: RefundPolicy;
  /** Claws back the loyalty points a refunded payment earned, unlinked to the refund's transfers (a
   * buyer who already spent the points does not block the refund): docs/loyalty.md. */
  loyalty?: { clawbackFor(refund: { id: string; amount: bigint }, payment: Payment): Promise<{ transfers: TransferInput[]; writes: UnitWrite[] } | null> };
}

/** The outcome of one attempt: final, or to be decided again from fresh state. */
type Attempt = RefundResult | { retry: true };

const CONFLICT: Attempt = { retry: true };

function isConflict(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'concurrent_modification';
}

function failure(code: ApiErrorCode, message: string | undefined, param?: string, refund?: Refund): RefundResult {
  return {
    ok: false,
    code,
    ...(message === undefined ? {} : { message }),
    ...(param === undefined ? {} : { param }),
    ...(refund ? { refund } : {}),
  };
}

export function createRefundService(deps: RefundDependencies): RefundService {
  const { db, ledger, books, payments } = deps;

  async function get(scope: Scope, id: string): Promise<Refund | null> {
    const refund = await store.getRefund(db, id);
    if (!refund || refund.merchantId !== scope.merchantId || refund.livemode !== scope.livemode) return null;
    return refund;
  }

  /** Runs `attempt` until it is final; a conflict with a concurrent change decides again from fresh state. */
  async function decided(attempt: () => Promise<Attempt>): Promise<RefundResult> {
    for (let index = 0; index < DECIDE_ATTEMPTS_MAX; index += 1) {
      const outcome = await attempt();
      if (!('retry' in outcome)) return outcome;
    }
    return failure('concurrent_modification', 'The payment kept changing while the refund was decided; retry.');
  }

  /** What remains refundable on `payment` (a lost dispute already gave part of it back), or an error. */
  async function refundable(payment: Payment): Promise<{ ok: true; remaining: bigint } | RefundResult> {
    if (payment.status !== 'succeeded') {
      return failure('payment_unexpected_state', `The payment is ${payment.status}; only a succeeded payment can be refunded.`, 'payment');
    }
    const dispute = await deps.disputes.disputeOfPayment(payment.id);
    if (dispute && (dispute.status === 'needs_response' || dispute.status === 'under_review')) {
      return failure('payment_disputed', 'The payment is disputed; it cannot be refunded until the dispute is decided.', 'payment');
    }
    const lost = dispute?.status === 'lost' ? dispute.amount : 0n;
    return { ok: true, remaining: payment.amountCaptured - payment.amountRefunded - lost };
  }

  function checkAmount(amount: bigint, remaining: bigint): RefundResult | null {
    if (remaining <= 0n) return failure('refund_amount_too_large', 'Nothing remains to refund on this payment.', 'amount');
    if (amount > remaining) {
      return failure('refund_amount_too_large', `The amount ${amount} is more than the ${remaining} that remains refundable.`, 'amount');
    }
    return null;
  }

  function accountsOf(payment: Payment) {
    return {
      wallet: books.account('wallet', payerOf(payment), payment.livemode, payment.currency),
      merchant: books.account('merchant', payment.merchantId, payment.livemode, payment.currency),
      fee: books.account('platform_fee', 'platform', payment.livemode, payment.currency),
    };
  }

  /** The linked group of a refund: the fee reversal first (so the merchant needs only the net amount),
   * then the refund from the merchant to the buyer's wallet. */
  function refundTransfers(refund: Refund, payment: Payment, feeReversed: bigint): TransferInput[] {
    const accounts = accountsOf(payment);
    const refundTransfer: TransferInput = {
      id: ledgerId(`${refund.id}:refund`),
      debitAccountId: accounts.merchant.id,
      creditAccountId: accounts.wallet.id,
      amount: refund.amount,
      code: TRANSFER_CODES.refund,
      metadata: { refund: refund.id, payment: payment.id },
    };
    if (feeReversed === 0n) return [refundTransfer];
    const reversal: TransferInput = {
      id: ledgerId(`${refund.id}:fee_reversal`),
      debitAccountId: accounts.fee.id,
      creditAccountId: accounts.merchant.id,
      amount: feeReversed,
      code: TRANSFER_CODES.fee_reversal,
      linked: true,
      metadata: { refund: refund.id, payment: payment.id },
    };
    return [reversal, refundTransfer];
  }

  function moved(results: CreateTransferResult[]): boolean {
    return results.every((result) => result.result === 'created' || result.result === 'exists');
  }

  function shortOfFunds(results: CreateTransferResult[]): boolean {
    return results.some((result) => result.result === 'exceeds_credits');
  }

  interface Decision {
    refund: Refund;
    /** The payment's new state; null when only its version changes. */
    payment: Payment | null;
    events: string[];
    error?: ApiErrorCode;
    message?: string;
    /** Other modules' rows committed with this decision (the loyalty claw-back's record). */
    writes?: UnitWrite[];
  }

  /** Commits `transfers` with the refund's next state (decided from their results by `next`), the
   * payment's, the risk decision and the events, in one group commit. The payment the refund was
   * decided from (`readPayment`) is always written over the version it was read at, even when only its
   * version changes: a refund decided from a stale payment (another refund landed meanwhile) fails
   * as a whole, whatever it decided, and is decided again from the new state. */
  async function commit(
    before: Refund | null,
    readPayment: Payment | null,
    transfers: TransferInput[],
    next: (results: CreateTransferResult[]) => Decision,
    decision: RiskDecision | null,
  ): Promise<Attempt> {
    const outcome = await ledger
      .commit({
        transfers,
        finish: (results) => {
          const decidedState = next(results);
          const writes: UnitWrite[] = [store.refundWrite(decidedState.refund, before ? before.version : null)];
          if (decision) writes.push(riskDecisionWrite(decision));
          writes.push(...(decidedState.writes ?? []));
          const shownRefund = { ...decidedState.refund, version: before ? before.version + 1 : 0 };
          const paymentState = decidedState.payment ?? readPayment;
          let shownPayment: Payment | null = null;
          if (paymentState) {
            writes.push(payments.unitWrite(paymentState));
            shownPayment = { ...paymentState, version: paymentState.version + 1 };
          }
          for (const type of decidedState.events) {
            const isPayment = type.startsWith('payment.');
            const object = isPayment ? paymentJson(shownPayment!) : refundJson(shownRefund);
            const occurrence = isPayment ? String(shownPayment!.version) : String(shownRefund.version);
            writes.push(eventWrite({ merchantId: shownRefund.merchantId, livemode: shownRefund.livemode, type, object, occurrence }));
          }
          return { value: { refund: shownRefund, error: decidedState.error, message: decidedState.message }, writes };
        },
      })
      .catch((error: unknown) => {
        if (isConflict(error)) return null;
        throw error;
      });
    if (outcome === null) return CONFLICT;
    if (outcome.error) return failure(outcome.error, outcome.message, undefined, outcome.refund);
    return { ok: true, refund: outcome.refund };
  }

  function scoreRefund(refund: Refund, payment: Payment): Promise<RiskDecision> {
    return deps.risk.score({
      action: 'refund',
      merchantId: payment.merchantId,
      livemode: payment.livemode,
      subjectType: 'refund',
      subjectId: refund.id,
      buyerId: payment.buyerId,
      amount: refund.amount,
      currency: payment.currency,
      categories: [...new Set(payment.lineItems.map((item) => item.category))],
    });
  }

  const BLOCKED_MESSAGE = 'The refund was refused by risk controls.';
  const SHORT_MESSAGE = (refund: Refund) =>
    `The merchant's balance does not cover refund ${refund.id}; add funds (or wait for incoming payments) and try again.`;

  /** Moves the money of `refund` (new, or pending and approved). `onShort` says what a merchant balance
   * too small to pay it does: the refund fails, or (a buyer's request) it waits for the merchant. */
  async function settle(
    before: Refund | null,
    refund: Refund,
    payment: Payment,
    decision: RiskDecision,
    options: { automatic: boolean; onShort: 'fail' | 'stay_pending'; createdEvent: boolean },
  ): Promise<Attempt> {
    const created = options.createdEvent ? ['refund.created'] : [];
    const withDecision: Refund = { ...refund, riskDecisionId: decision.id };
    if (decision.decision === 'block') {
      return commit(
        before,
        payment,
        [],
        () => ({
          refund: { ...withDecision, status: 'failed', failureReason: 'refund_blocked', pendingReason: null },
          payment: null,
          events: [...created, 'refund.failed'],
          error: 'refund_blocked',
          message: BLOCKED_MESSAGE,
        }),
        decision,
      );
    }
    await books.ensure(Object.values(accountsOf(payment)));
    const feeReversed = feeReversalFor(payment.feeAmount, payment.amountCaptured, payment.amountRefunded, refund.amount);
    const ownTransfers = refundTransfers(withDecision, payment, feeReversed);
    const clawback = deps.loyalty ? await deps.loyalty.clawbackFor(refund, payment) : null;
    return commit(
      before,
      payment,
      clawback && clawback.transfers.length > 0
        ? [...ownTransfers.map((transfer, index) => (index === ownTransfers.length - 1 ? { ...transfer, linked: true } : transfer)), ...clawback.transfers]
        : ownTransfers,
      (allResults) => {
        // The claw-back is linked after the refund's own transfers (neither without the other). It takes
        // at most what the buyer held when read; a concurrent spend failing it redecides from fresh state.
        const clawbackResult = allResults[ownTransfers.length];
        if (clawbackResult && clawbackResult.result !== 'created' && clawbackResult.result !== 'exists' && clawbackResult.result !== 'linked_event_failed') {
          throw Object.assign(new Error(`the points claw-back of refund ${refund.id} failed: ${clawbackResult.result}`), { code: 'concurrent_modification' });
        }
        const results = allResults.slice(0, ownTransfers.length);
        if (moved(results)) {
          const succeeded: Refund = { ...withDecision, status: 'succeeded', feeReversed, automatic: options.automatic, pendingReason: null };
          // An automatic refund is counted against the buyer's limit again inside the commit: concurrent
          // requests each read fewer before them (store.guardAutomaticRefunds).
          const guard: UnitWrite[] = options.automatic
            ? [{ writer: store.AUTOMATIC_REFUNDS_GUARD_WRITER, row: { buyer_id: payerOf(payment), since: standingSince().toISOString(), max: deps.policy.automaticPerBuyerMax } }]
            : [];
          return {
            refund: succeeded,
            payment: { ...payment, amountRefunded: payment.amountRefunded + refund.amount },
            events: [...created, 'refund.succeeded', 'payment.refunded'],
            writes: [...(clawback?.writes ?? []), ...guard],
          };
        }
        if (!shortOfFunds(results)) throw new Error(`the ledger refused refund ${refund.id}: ${results.map((result) => result.result).join(', ')}`);
        if (options.onShort === 'stay_pending') {
          const waiting: Refund = { ...withDecision, status: 'pending', pendingReason: 'merchant_balance_insufficient' };
          // A request the merchant approves without the funds stays pending, and the approval is refused.
          return before
            ? { refund: waiting, payment: null, events: [], error: 'merchant_balance_insufficient', message: SHORT_MESSAGE(refund) }
            : { refund: waiting, payment: null, events: created };
        }
        return {
          refund: { ...withDecision, status: 'failed', failureReason: 'merchant_balance_insufficient', pendingReason: null },
          payment: null,
          events: [...created, 'refund.failed'],
          error: 'merchant_balance_insufficient',
          message: SHORT_MESSAGE(refund),
        };
      },
      decision,
    );
  }

  function newRefund(
    id: string,
    payment: Payment,
    fields: { amount: bigint; reason: RefundReason; description: string | null; initiatedBy: Refund['initiatedBy']; metadata: Record<string, string> | null },
  ): Refund {
    const now = new Date();
    return {
      id,
      merchantId: payment.merchantId,
      livemode: payment.livemode,
      paymentId: payment.id,
      buyerId: payerOf(payment),
      currency: payment.currency,
      feeReversed: 0n,
      status: 'pending',
      automatic: false,
      pendingReason: null,
      failureReason: null,
      cancellationReason: null,
      riskDecisionId: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
      ...fields,
    };
  }

  /** Why a buyer's request cannot complete at once, or null when the automatic policy allows it. */
  const standingSince = () => new Date(Date.now() - STANDING_PERIOD_DAYS * 24 * 3600 * 1000);

  async function policyHold(payment: Payment, amount: bigint): Promise<PendingReason | null> {
    const limit = deps.policy.automaticMax[payment.currency] ?? 0n;
    if (amount > limit) return 'over_automatic_limit';
    if (Date.now() - payment.createdAt.getTime() > deps.policy.automaticWindowSeconds * 1000) return 'outside_automatic_window';
    const recent = await store.countAutomaticSince(db, payerOf(payment), standingSince());
    if (recent >= deps.policy.automaticPerBuyerMax || (await deps.disputes.buyerHasDisputeStrikes(payerOf(payment)))) return 'buyer_standing';
    return null;
  }

  async function createOnce(scope: Scope, input: RefundInput, id: string): Promise<Attempt> {
    const existing = await store.getRefund(db, id);
    if (existing) return { ok: true, refund: existing };
    const payment = await payments.get(scope, input.paymentId);
    if (!payment) return failure('resource_missing', `No such payment: ${input.paymentId}.`, 'payment');
    const state = await refundable(payment);
    if (!('remaining' in state)) return state;
    const amount = input.amount ?? state.remaining;
    const refused = checkAmount(amount, state.remaining);
    if (refused) return refused;
    const refund = newRefund(id, payment, {
      amount,
      reason: input.reason ?? 'requested_by_customer',
      description: input.description ?? null,
      initiatedBy: 'merchant',
      metadata: input.metadata ?? null,
    });
    const decision = await scoreRefund(refund, payment);
    return settle(null, refund, payment, decision, { automatic: false, onShort: 'fail', createdEvent: true });
  }

  async function requestOnce(input: BuyerRefundRequest, id: string): Promise<Attempt> {
    const existing = await store.getRefund(db, id);
    if (existing) return { ok: true, refund: existing };
    const payment = await payments.find(input.paymentId);
    if (!payment || (input.buyerId !== null && payment.buyerId !== input.buyerId)) {
      return failure('resource_missing', `No such payment: ${input.paymentId}.`, 'payment');
    }
    const state = await refundable(payment);
    if (!('remaining' in state)) return state;
    // Requests already waiting for the merchant are counted, so a buyer cannot ask twice for the same money.
    const remaining = state.remaining - (await store.pendingAmountOf(db, payment.id));
    const amount = input.amount ?? remaining;
    const refused = checkAmount(amount, remaining);
    if (refused) return refused;
    const refund = newRefund(id, payment, {
      amount,
      reason: input.reason,
      description: input.description ?? null,
      initiatedBy: 'buyer',
      metadata: null,
    });
    const decision = await scoreRefund(refund, payment);
    const held = decision.decision === 'review' || decision.decision === 'challenge' ? 'risk_review' : await policyHold(payment, amount);
    if (held === null || decision.decision === 'block') {
      return settle(null, refund, payment, decision, { automatic: true, onShort: 'stay_pending', createdEvent: true });
    }
    const waiting: Refund = { ...refund, pendingReason: held, riskDecisionId: decision.id };
    return commit(null, payment, [], () => ({ refund: waiting, payment: null, events: ['refund.created'] }), decision);
  }

  async function approveOnce(scope: Scope, id: string): Promise<Attempt> {
    const refund = await get(scope, id);
    if (!refund) return failure('resource_missing', `No such refund: ${id}.`, 'id');
    if (refund.status !== 'pending') {
      return failure('refund_unexpected_state', `The refund is ${refund.status}; only a pending refund can be approved.`, undefined, refund);
    }
    const payment = (await payments.find(refund.paymentId))!;
    const state = await refundable(payment);
    if (!('remaining' in state)) return state;
    const refused = checkAmount(refund.amount, state.remaining);
    if (refused) return refused;
    const decision = await scoreRefund(refund, payment);
    return settle(refund, refund, payment, decision, { automatic: false, onShort: 'stay_pending', createdEvent: false });
  }

  async function declineOnce(scope: Scope, id: string, cancellationReason: string | undefined): Promise<Attempt> {
    const refund = await get(scope, id);
    if (!refund) return failure('resource_missing', `No such refund: ${id}.`, 'id');
    if (refund.status !== 'pending') {
      return failure('refund_unexpected_state', `The refund is ${refund.status}; only a pending refund can be declined.`, undefined, refund);
    }
    const canceled: Refund = { ...refund, status: 'canceled', pendingReason: null, cancellationReason: cancellationReason ?? 'declined_by_merchant' };
    return commit(refund, null, [], () => ({ refund: canceled, payment: null, events: ['refund.canceled'] }), null);
  }

  return {
    create: (scope, input, idSeed) => {
      const id = idFor('ref', idSeed);
      return decided(() => createOnce(scope, input, id));
    },
    requestByBuyer: (input, idSeed) => {
      const id = idFor('ref', idSeed);
      return decided(() => requestOnce(input, id));
    },
    approve: (scope, id) => decided(() => approveOnce(scope, id)),
    decline: (scope, id, cancellationReason) => decided(() => declineOnce(scope, id, cancellationReason)),
    get,
    list: (scope, options) => store.listRefunds(db, scope, options),
  };
}
