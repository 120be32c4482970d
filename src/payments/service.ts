// Payments: create, confirm (risk first, then the ledger), capture, cancel. A confirmed payment and its
// platform fee are one linked group of transfers; the payment's new state, its risk decision and its
// events are written in the same group commit as the transfers.
import type { Books, BookAccount } from '../books/service.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import type { CustomerService, Scope } from '../customers/service.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { RiskDecision, RiskHook, RiskReason, RiskVerdict } from '../risk/hook.ts';
import type { BuyerContext, LoyaltyRiskFacts } from '../risk/model.ts';
import { reviewOpenWrite, riskDecisionWrite } from '../risk/hook.ts';
import type { Database } from '../store/database.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor, ledgerId } from '../api/ids.ts';
import { eventWrite } from '../events/outbox.ts';
import { LOYALTY_TRANSFER_CODES } from '../loyalty/model.ts';
import { plainRefusal } from '../checkout/messages.ts';
import { moneyAmountOf, paymentJson, payerOf, type LineItem, type Payment, type PaymentStatus } from './model.ts';
import * as store from './store.ts';

export interface PaymentInput {
  /** Null or absent: the payment waits for a buyer to pay it at the checkout (it cannot be confirmed before). */
  customerId?: string | null;
  amount: bigint;
  currency: string;
  description?: string | null;
  lineItems: LineItem[];
  captureMethod?: 'automatic' | 'manual';
  metadata?: Record<string, string> | null;
  /** Confirm at once: the payment is inserted already decided, in the same group commit as its transfers. */
  confirm?: boolean;
  /** The buyer's device, network and place, for the risk engine. */
  buyerContext?: BuyerContext | null;
}

export type PaymentResult =
  /** `answered`: the commit stored the caller's answer too (CommitHow.answer). */
  | { ok: true; payment: Payment; answered?: true }
  | { ok: false; code: ApiErrorCode; param?: string; message?: string; payment?: Payment };

/** How a commit writes the payment: `inserted`, the payment is new and inserted in its decided state;
 * `answer`, a write of the caller's answer from the payment as the commit leaves it (an
 * Idempotency-Key's stored response), added to the same commit when the outcome is a success. */
interface CommitHow {
  inserted?: boolean;
  answer?: (payment: Payment) => UnitWrite;
}

/** Asked by the checkout when risk allows a payment: whether the buyer is spared a confirmation (the
 * low-value exemption), with what to record in the commit that moves the money if so. */
export type StepUpPolicy = (payment: Payment, decision: RiskDecision) => Promise<{ exempt: true; writes: UnitWrite[] } | { exempt: false }>;

export interface CheckoutConfirmInput {
  /** The signed-in buyer's customer at the payment's merchant (found or created by the checkout). */
  customer: { id: string; buyerId: string; createdAt: Date };
  /** When the buyer signed up (their account's age is a risk signal; the customer may be minutes old). */
  buyerCreatedAt: Date | null;
  buyerContext: BuyerContext | null;
  stepUp: StepUpPolicy;
  /** Loyalty points to pay part of the payment with (docs/loyalty.md); 0 or absent: none. */
  pointsToRedeem?: bigint;
}

export interface CheckoutConfirmation {
  result: PaymentResult;
  /** What risk decided and why (null when the payment was refused before scoring). */
  decision: { verdict: RiskVerdict; reasons: RiskReason[] } | null;
  /** Risk allowed the payment but the exemption did not cover it: the buyer must confirm it. */
  exemptionExceeded: boolean;
}

export interface PaymentService {
  /** `resumed`: a keyed request re-run after its first run never answered; the payment may exist. */
  /** `answer`: see CommitHow (only a payment confirmed at once is created by a commit). */
  create(scope: Scope, input: PaymentInput, idSeed?: string, resumed?: boolean, answer?: (payment: Payment) => UnitWrite): Promise<PaymentResult>;
  get(scope: Scope, id: string): Promise<Payment | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string; customerId?: string; status?: string }): Promise<{ data: Payment[]; hasMore: boolean }>;
  confirm(scope: Scope, id: string, buyerContext?: BuyerContext | null): Promise<PaymentResult>;
  /** Confirms a payment at the checkout for a signed-in buyer: attaches the buyer's customer (a payment
   * created without one) in the same write as the confirmation, scores it, and either moves the money
   * (risk allows and the step-up policy exempts), asks for the buyer's confirmation (`requires_action`),
   * holds it for review, or refuses it. */
  confirmAtCheckout(scope: Scope, id: string, input: CheckoutConfirmInput): Promise<CheckoutConfirmation>;
  /** Carries out the allow path of a `requires_action` payment once its buyer confirmed it; `writes`
   * (the record of the confirmation) commit with the money's movement, and only if the money moved. */
  completeAction(id: string, writes: UnitWrite[]): Promise<PaymentResult>;
  capture(scope: Scope, id: string, amountToCapture?: bigint): Promise<PaymentResult>;
  cancel(scope: Scope, id: string, reason?: string): Promise<PaymentResult>;
  /** Settles a payment held for risk review: approve captures it (with its fee), or for a manual-capture
   * payment leaves the hold to the merchant (`requires_capture` until the hold expires); reject releases
   * the hold back to the buyer and cancels it as fraudulent. `writes` (the review's decision and its label)
   * commit in the same group commit. */
  settleReview(id: string, approve: boolean, writes: UnitWrite[]): Promise<PaymentResult>;
  /** Cancels payments whose hold passed its capture deadline; returns how many. */
  cancelOverdueCaptures(limit: number): Promise<number>;
  /** Added for refunds and disputes: a payment by id whatever its merchant, for operator routes and
   * buyer requests, whose callers check that the payment is theirs to act on. */
  find(id: string): Promise<Payment | null>;
  /** Added for refunds and disputes: the unit-of-work write of a payment's new state, applied only over
   * the version it was read at, so that another module's group commit is serialised with every other
   * change of the payment (a refund raises `amountRefunded`; opening a dispute only bumps the version). */
  unitWrite(payment: Payment): UnitWrite;
}

export interface PaymentDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  merchants: MerchantService;
  customers: CustomerService;
  risk: RiskHook;
  /** How long a manual-capture hold lasts before it is released. */
  captureWindowSeconds: number;
  /** How long funds of a payment in review stay held. */
  reviewHoldSeconds: number;
  /** Loyalty points earned when a payment succeeds, linked to its transfers (docs/loyalty.md). */
  loyalty?: PaymentLoyalty;
}

/** What payments ask of loyalty (src/loyalty/service.ts). */
export interface PaymentLoyalty {
  earnFor(payment: Payment, amountCaptured: bigint): Promise<{ transfers: TransferInput[]; writes: UnitWrite[] } | null>;
  redemptionFor(payment: Payment, buyerId: string, points: bigint): Promise<{ ok: true; value: { amountInPoints: bigint } } | { ok: false; code: ApiErrorCode; param?: string; message?: string }>;
  redeemTransfer(payment: Payment, hold: { timeoutSeconds: number } | null): TransferInput;
  spendGuardWrite(payment: Payment): UnitWrite;
  riskFacts(payment: Payment): Promise<LoyaltyRiskFacts | null>;
}

const FAILURE_MESSAGES: Partial<Record<string, string>> = {
  exceeds_credits: 'The wallet does not hold enough to pay.',
};

/** Decisions waiting for the buyer's confirmation, kept so that the outcome can be reported to the risk
 * engine when the confirmation comes to this process (a confirmation arriving at another process is not
 * reported: the engine's counters then miss that payment). Bounded; the oldest are dropped first. */
const AWAITING_DECISIONS_MAX = 10_000;

/** The points a payment carries could not be spent (the ledger's limit or the spend guard). */
const POINTS_SHORT = { code: 'points_insufficient', message: 'You do not have that many spendable points.' };

/** What `commit` answers when the spend guard failed the commit (nothing was written); `move` then
 * writes the same reset as when the ledger refuses the points. */
const OVERSPENT: PaymentResult = Object.freeze({ ok: false, code: 'points_insufficient', param: 'points_to_redeem', message: POINTS_SHORT.message });

/** A payment that ends without moving any points shows none (docs/loyalty.md): they were only chosen. */
const NO_POINTS = Object.freeze({ pointsRedeemed: 0n, amountPaidInPoints: 0n });

const noCustomer = (id: string): PaymentResult => ({
  ok: false,
  code: 'parameter_missing',
  param: 'customer',
  message: `The payment ${id} has no customer; a buyer pays it at the checkout (docs/api/checkout.md), or create it with a customer.`,
});

export function createPaymentService(deps: PaymentDependencies): PaymentService {
  const { db, ledger, books } = deps;
  const awaiting = new Map<string, RiskDecision>();

  function awaitConfirmation(decision: RiskDecision): void {
    if (awaiting.size >= AWAITING_DECISIONS_MAX) awaiting.delete(awaiting.keys().next().value!);
    awaiting.set(decision.id, decision);
  }

  async function get(scope: Scope, id: string): Promise<Payment | null> {
    const payment = await store.getPayment(db, id);
    if (!payment || payment.merchantId !== scope.merchantId || payment.livemode !== scope.livemode) return null;
    return payment;
  }

  function accountsOf(payment: Payment) {
    return {
      wallet: books.account('wallet', payerOf(payment), payment.livemode, payment.currency),
      merchant: books.account('merchant', payment.merchantId, payment.livemode, payment.currency),
      fee: books.account('platform_fee', 'platform', payment.livemode, payment.currency),
    };
  }

  /** Commits `transfers` with the payment's next state, decided from their results by `next`. */
  async function commit(
    payment: Payment,
    transfers: TransferInput[],
    next: (results: CreateTransferResult[]) => { payment: Payment; events: string[]; error?: ApiErrorCode; writes?: UnitWrite[] },
    extraWrites: UnitWrite[] = [],
    how: CommitHow = {},
  ): Promise<PaymentResult> {
    const inserted = how.inserted === true;
    const outcome = await ledger.commit({
      transfers,
      finish: (results) => {
        const decided = next(results);
        const writes: UnitWrite[] = [store.paymentWrite(decided.payment, { inserted }), ...extraWrites, ...(decided.writes ?? [])];
        const shown = { ...decided.payment, version: decided.payment.version + (inserted ? 0 : 1) };
        // The caller's answer (an Idempotency-Key's, see CommitHow) is stored with a success.
        const answer = decided.error === undefined ? how.answer?.(shown) : undefined;
        if (answer) writes.push(answer);
        const answered = answer !== undefined;
        for (const type of decided.events) {
          writes.push(
            eventWrite({
              merchantId: payment.merchantId,
              livemode: payment.livemode,
              type,
              object: paymentJson(shown),
              occurrence: String(shown.version),
            }),
          );
        }
        return { value: { payment: shown, error: decided.error, answered }, writes };
      },
    }).catch((error: unknown) => {
      if (error instanceof store.ConcurrentModificationError) return null;
      // The commit would have spent points still held or owed (a concurrent spend read the same state).
      if ((error as { code?: unknown } | null)?.code === 'points_insufficient') return 'points_insufficient' as const;
      throw error;
    });
    if (outcome === null) return { ok: false, code: 'concurrent_modification' };
    if (outcome === 'points_insufficient') return OVERSPENT;
    if (outcome.error) return { ok: false, code: outcome.error, payment: outcome.payment };
    return outcome.answered ? { ok: true, payment: outcome.payment, answered: true } : { ok: true, payment: outcome.payment };
  }

  /** Appends the points `payment` earns to its transfers, linked so that both commit or neither. */
  async function withEarn(payment: Payment, amountCaptured: bigint, transfers: TransferInput[]): Promise<{ transfers: TransferInput[]; writes: UnitWrite[] }> {
    const earn = deps.loyalty ? await deps.loyalty.earnFor(payment, amountCaptured) : null;
    if (!earn || earn.transfers.length === 0) return { transfers, writes: earn?.writes ?? [] };
    const last = transfers.length - 1;
    return { transfers: [...transfers.map((transfer, index) => (index === last ? { ...transfer, linked: true } : transfer)), ...earn.transfers], writes: earn.writes };
  }

  /** The transfer spending the points `payment` carries (a hold while in review); null without points. */
  function pointsTransfer(payment: Payment, reviewHoldSeconds: number | null): TransferInput | null {
    if (payment.pointsRedeemed <= 0n) return null;
    if (!deps.loyalty) throw new Error(`payment ${payment.id} carries points but loyalty is not wired`);
    if (payment.captureMethod === 'manual') throw new Error(`payment ${payment.id} is captured manually and carries points`);
    return deps.loyalty.redeemTransfer(payment, reviewHoldSeconds === null ? null : { timeoutSeconds: reviewHoldSeconds });
  }

  function pointsShort(results: CreateTransferResult[], pointsId: string): boolean {
    return results.some((result) => result.id === pointsId && result.result === 'exceeds_credits');
  }

  function moved(results: CreateTransferResult[]): boolean {
    return results.every((result) => result.result === 'created' || result.result === 'exists');
  }

  function failureOf(results: CreateTransferResult[]): { code: string; message: string } {
    const failed = results.find((result) => result.result !== 'created' && result.result !== 'exists' && result.result !== 'linked_event_failed');
    const code = failed?.result ?? 'ledger_refused';
    return { code: code === 'exceeds_credits' ? 'insufficient_funds' : code, message: FAILURE_MESSAGES[code] ?? `The ledger refused the transfer: ${code}.` };
  }

  function chargeTransfers(payment: Payment, accounts: Record<'wallet' | 'merchant' | 'fee', BookAccount>, fee: bigint): TransferInput[] {
    const charge: TransferInput = {
      id: ledgerId(`${payment.id}:charge`),
      debitAccountId: accounts.wallet.id,
      creditAccountId: accounts.merchant.id,
      amount: moneyAmountOf(payment),
      code: TRANSFER_CODES.payment,
      metadata: { payment: payment.id },
    };
    if (fee === 0n) return [charge];
    return [{ ...charge, linked: true }, feeTransfer(payment, accounts, fee)];
  }

  function feeTransfer(payment: Payment, accounts: Record<'merchant' | 'fee', BookAccount>, fee: bigint): TransferInput {
    return {
      id: ledgerId(`${payment.id}:fee`),
      debitAccountId: accounts.merchant.id,
      creditAccountId: accounts.fee.id,
      amount: fee,
      code: TRANSFER_CODES.platform_fee,
      metadata: { payment: payment.id },
    };
  }

  function holdTransfer(payment: Payment, accounts: Record<'wallet' | 'merchant', BookAccount>, timeoutSeconds: number, code: number): TransferInput {
    return {
      id: ledgerId(`${payment.id}:hold`),
      debitAccountId: accounts.wallet.id,
      creditAccountId: accounts.merchant.id,
      amount: moneyAmountOf(payment),
      pending: true,
      timeoutSeconds,
      code,
      metadata: { payment: payment.id },
    };
  }

  async function score(payment: Payment, buyerContext: BuyerContext | null, customerCreatedAt: Date | null): Promise<RiskDecision> {
    // The balance this process last committed is good enough for a risk signal and costs no read. A
    // wallet met for the first time is opened (or read) now, which the payment needs anyway, and that
    // one statement gives its balance too.
    const walletAccount = books.account('wallet', payerOf(payment), payment.livemode, payment.currency);
    let wallet = deps.ledger.peekBalance(walletAccount.id);
    if (!wallet) {
      await books.ensure([walletAccount]);
      wallet = deps.ledger.peekBalance(walletAccount.id) ?? (await books.balanceIfOpen(walletAccount));
    }
    return deps.risk.score({
      action: payment.lineItems.some((item) => item.category === 'tip') ? 'tip' : 'payment',
      merchantId: payment.merchantId,
      livemode: payment.livemode,
      subjectType: 'payment',
      subjectId: payment.id,
      buyerId: payment.buyerId,
      amount: payment.amount,
      currency: payment.currency,
      categories: [...new Set(payment.lineItems.map((item) => item.category))],
      buyerContext,
      method: 'wallet',
      walletBalance: wallet?.available ?? 0n,
      // The buyer's age as this merchant's customer: the customer record is cached, the buyer's is not.
      buyerCreatedAt: customerCreatedAt,
      loyalty: deps.loyalty ? await deps.loyalty.riskFacts(payment) : null,
    });
  }

  /** Carries out the risk decision and tells the engine whether the money moved. */
  async function decide(payment: Payment, decision: RiskDecision, how: CommitHow): Promise<PaymentResult> {
    const result = await carryOut(payment, decision, how);
    if (decision.decision === 'challenge') awaitConfirmation(decision);
    else await report(decision, result);
    return result;
  }

  async function report(decision: RiskDecision, result: PaymentResult): Promise<void> {
    if (!deps.risk.report) return;
    const moved = result.ok && ['succeeded', 'requires_capture', 'processing'].includes(result.payment.status);
    await deps.risk.report(decision, moved);
  }

  /** `how`: see CommitHow. `onMoved`: written with the money's movement, only if it moved. */
  async function carryOut(payment: Payment, decision: RiskDecision, how: CommitHow, onMoved: UnitWrite[] = []): Promise<PaymentResult> {
    const withDecision = { ...payment, riskDecisionId: decision.id, lastError: null };
    const decisionWrite = [riskDecisionWrite(decision)];
    if (decision.decision === 'block') {
      // The merchant (and its webhooks) get a plain sentence chosen by the first reason's code only: a
      // reason's own message may quote an operator's rule or a model score (docs/risk.md). The reasons
      // themselves stay in risk_decisions, for operators. Nothing moved, points included.
      const lastError = { code: 'payment_blocked', message: plainRefusal(decision.reasons[0]?.code) };
      return commit(payment, [], () => ({ payment: { ...withDecision, ...NO_POINTS, status: 'failed', lastError }, events: ['payment.failed'], error: 'payment_blocked' }), decisionWrite, how);
    }
    if (decision.decision === 'challenge') return requireAction(payment, withDecision, decisionWrite, how);
    return move(withDecision, decision.decision === 'review' ? decision : null, decisionWrite, how, onMoved);
  }

  function requireAction(payment: Payment, withDecision: Payment, decisionWrite: UnitWrite[], how: CommitHow): Promise<PaymentResult> {
    return commit(payment, [], () => ({ payment: { ...withDecision, status: 'requires_action' }, events: ['payment.requires_action'] }), decisionWrite, how);
  }

  /** Moves the money of an allowed payment, or holds it while `review` is open. */
  async function move(payment: Payment, review: RiskDecision | null, extraWrites: UnitWrite[], how: CommitHow, onMoved: UnitWrite[]): Promise<PaymentResult> {
    const merchant = (await deps.merchants.get(payment.merchantId))!;
    const accounts = accountsOf(payment);
    await books.ensure(Object.values(accounts));
    const state = (status: PaymentStatus, extra: Partial<Payment> = {}): Payment => ({ ...payment, status, ...extra });
    const hold = review !== null || payment.captureMethod === 'manual';
    const money = moneyAmountOf(payment);
    const fee = deps.merchants.feeFor(merchant, money, payment.currency);
    const earned = hold ? { transfers: [], writes: [] } : await withEarn(payment, money, chargeTransfers(payment, accounts, fee));
    const own = hold
      ? [holdTransfer(payment, accounts, review ? deps.reviewHoldSeconds : deps.captureWindowSeconds, review ? TRANSFER_CODES.review_hold : TRANSFER_CODES.payment)]
      : earned.transfers;
    // Points paying part of it move first, linked to the money: both or neither, in this one commit. A
    // payment held for review holds the points the same way (posted or voided with the money).
    const points = pointsTransfer(payment, review ? deps.reviewHoldSeconds : null);
    const transfers = points ? [{ ...points, linked: true }, ...own] : own;
    // The points were not spent: the payment goes back to `requires_confirmation` without them, and the
    // buyer chooses again when they confirm again.
    const unpaid = (lastError: { code: string; message: string }, code: ApiErrorCode) => ({
      payment: state('requires_confirmation', { lastError: { ...lastError }, pointsRedeemed: 0n, amountPaidInPoints: 0n }),
      events: ['payment.payment_failed'],
      error: code,
    });
    const result = await commit(
      payment,
      transfers,
      (results) => {
        if (!moved(results)) {
          const lastError = points && pointsShort(results, points.id) ? POINTS_SHORT : failureOf(results);
          const code: ApiErrorCode = lastError.code === 'insufficient_funds' || lastError.code === 'points_insufficient' ? lastError.code : 'payment_blocked';
          return unpaid(lastError, code);
        }
        const guard = points ? [deps.loyalty!.spendGuardWrite(payment)] : [];
        if (review) return { payment: state('processing'), events: ['payment.processing'], writes: [reviewOpenWrite(review), ...onMoved, ...guard] };
        if (hold) {
          const captureBefore = new Date(Date.now() + deps.captureWindowSeconds * 1000);
          return { payment: state('requires_capture', { captureBefore }), events: ['payment.requires_capture'], writes: onMoved };
        }
        return { payment: state('succeeded', { amountCaptured: money, feeAmount: fee }), events: ['payment.succeeded'], writes: [...onMoved, ...earned.writes, ...guard] };
      },
      extraWrites,
      how,
    );
    if (result !== OVERSPENT) return result;
    // The spend guard failed the whole commit (held or owed points would have been spent): nothing was
    // written. The same reset as when the ledger refuses the points, so that a payment waiting for its
    // buyer's confirmation does not stay in `requires_action` with points it can never spend.
    const reset = await commit(payment, [], () => unpaid(POINTS_SHORT, 'points_insufficient'), extraWrites, how);
    return reset.ok || reset.code !== 'points_insufficient' ? reset : { ...reset, param: 'points_to_redeem', message: POINTS_SHORT.message };
  }

  async function confirmAtCheckout(scope: Scope, id: string, input: CheckoutConfirmInput): Promise<CheckoutConfirmation> {
    const refused = (result: PaymentResult): CheckoutConfirmation => ({ result, decision: null, exemptionExceeded: false });
    const payment = await get(scope, id);
    if (!payment) return refused({ ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` });
    if (payment.customerId !== null && payment.customerId !== input.customer.id) {
      return refused({ ok: false, code: 'checkout_buyer_mismatch', message: 'This payment is for another buyer.' });
    }
    if (payment.status !== 'requires_confirmation') {
      return refused({ ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment that requires confirmation can be confirmed.`, payment });
    }
    // The customer is attached by the write that confirms the payment (the version check makes it once).
    let attached: Payment = { ...payment, customerId: input.customer.id, buyerId: input.customer.buyerId, pointsRedeemed: 0n, amountPaidInPoints: 0n };
    const points = input.pointsToRedeem ?? 0n;
    if (points > 0n) {
      const redemption = deps.loyalty ? await deps.loyalty.redemptionFor(attached, input.customer.buyerId, points) : null;
      if (!redemption) return refused({ ok: false, code: 'points_redemption_unavailable', param: 'points_to_redeem' });
      if (!redemption.ok) return refused(redemption);
      attached = { ...attached, pointsRedeemed: points, amountPaidInPoints: redemption.value.amountInPoints };
    }
    const decision = await score(attached, input.buyerContext, input.buyerCreatedAt ?? input.customer.createdAt);
    const decided = { verdict: decision.decision, reasons: decision.reasons };
    if (decision.decision !== 'allow') return { result: await decide(attached, decision, {}), decision: decided, exemptionExceeded: false };
    const exemption = await input.stepUp(attached, decision);
    if (!exemption.exempt) {
      const result = await requireAction(attached, { ...attached, riskDecisionId: decision.id, lastError: null }, [riskDecisionWrite(decision)], {});
      awaitConfirmation(decision);
      return { result, decision: decided, exemptionExceeded: true };
    }
    const result = await carryOut(attached, decision, {}, exemption.writes);
    await report(decision, result);
    return { result, decision: decided, exemptionExceeded: false };
  }

  async function completeAction(id: string, writes: UnitWrite[]): Promise<PaymentResult> {
    const payment = await store.getPayment(db, id);
    if (!payment) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` };
    if (payment.status !== 'requires_action') {
      return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment that requires action can be completed.`, payment };
    }
    const result = await move({ ...payment, lastError: null }, null, [], {}, writes);
    const decision = payment.riskDecisionId === null ? undefined : awaiting.get(payment.riskDecisionId);
    if (decision) {
      awaiting.delete(decision.id);
      await report(decision, result);
    }
    return result;
  }

  const service: PaymentService = {
    async create(scope, input, idSeed, resumed = false, answer) {
      const customerId = input.customerId ?? null;
      const customer = customerId === null ? null : await deps.customers.get(scope, customerId);
      if (customerId !== null && !customer) return { ok: false, code: 'resource_missing', param: 'customer', message: `No such customer: ${customerId}.` };
      if (!(await books.isCurrency(input.currency))) {
        return { ok: false, code: 'currency_unsupported', param: 'currency', message: `Currency ${input.currency} is not supported.` };
      }
      const total = input.lineItems.reduce((sum, item) => sum + item.unitAmount * BigInt(item.quantity), 0n);
      if (input.lineItems.length > 0 && total !== input.amount) {
        return { ok: false, code: 'line_items_mismatch', param: 'line_items', message: `The line items add up to ${total}, not to the amount ${input.amount}.` };
      }
      const now = new Date();
      const id = idFor('pay', idSeed);
      if (idSeed !== undefined && resumed) {
        // A keyed request re-run after a crash finds the payment its first run created.
        const existing = await store.getPayment(db, id);
        if (existing) return { ok: true, payment: existing };
      }
      const payment: Payment = {
        id,
        merchantId: scope.merchantId,
        livemode: scope.livemode,
        customerId: customer?.id ?? null,
        buyerId: customer?.buyerId ?? null,
        amount: input.amount,
        currency: input.currency,
        description: input.description ?? null,
        lineItems: input.lineItems,
        captureMethod: input.captureMethod ?? 'automatic',
        status: 'requires_confirmation',
        amountCaptured: 0n,
        amountRefunded: 0n,
        pointsRedeemed: 0n,
        amountPaidInPoints: 0n,
        feeAmount: 0n,
        captureBefore: null,
        riskDecisionId: null,
        lastError: null,
        cancellationReason: null,
        metadata: input.metadata ?? null,
        version: 0,
        createdAt: now,
        updatedAt: now,
      };
      if (input.confirm && !customer) {
        return { ok: false, code: 'parameter_missing', param: 'customer', message: 'confirm: true needs a customer; without one, a buyer pays the payment at the checkout (docs/api/checkout.md).' };
      }
      if (input.confirm) return decide(payment, await score(payment, input.buyerContext ?? null, customer!.createdAt), { inserted: true, answer });
      return { ok: true, payment: await store.insertPayment(db, payment) };
    },

    get,
    confirmAtCheckout,
    completeAction,
    list: (scope, options) => store.listPayments(db, scope, options),
    find: (id) => store.getPayment(db, id),
    unitWrite: (payment) => store.paymentWrite(payment),

    async confirm(scope, id, buyerContext) {
      const payment = await get(scope, id);
      if (!payment) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` };
      if (payment.status !== 'requires_confirmation') {
        return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment that requires confirmation can be confirmed.`, payment };
      }
      if (payment.customerId === null) return noCustomer(id);
      const customer = await deps.customers.get(scope, payment.customerId);
      return decide(payment, await score(payment, buyerContext ?? null, customer?.createdAt ?? null), {});
    },

    async capture(scope, id, amountToCapture) {
      const payment = await get(scope, id);
      if (!payment) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` };
      if (payment.status !== 'requires_capture') {
        return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment that requires capture can be captured.`, payment };
      }
      const amount = amountToCapture ?? payment.amount;
      if (amount > payment.amount) {
        return { ok: false, code: 'capture_amount_invalid', param: 'amount_to_capture', message: `amount_to_capture ${amount} is more than the ${payment.amount} held.` };
      }
      const merchant = (await deps.merchants.get(payment.merchantId))!;
      const accounts = accountsOf(payment);
      const fee = deps.merchants.feeFor(merchant, amount, payment.currency);
      const post: TransferInput = { id: ledgerId(`${payment.id}:capture`), postPendingId: ledgerId(`${payment.id}:hold`), amount, code: TRANSFER_CODES.payment };
      const earned = await withEarn(payment, amount, fee === 0n ? [post] : [{ ...post, linked: true }, feeTransfer(payment, accounts, fee)]);
      return commit(payment, earned.transfers, (results) => {
        if (moved(results)) {
          return { payment: { ...payment, status: 'succeeded', amountCaptured: amount, feeAmount: fee, captureBefore: null }, events: ['payment.succeeded'], writes: earned.writes };
        }
        const lastError = failureOf(results);
        if (lastError.code === 'pending_transfer_expired' || lastError.code === 'pending_transfer_already_expired') {
          return { payment: { ...payment, status: 'canceled', cancellationReason: 'expired', captureBefore: null }, events: ['payment.canceled'], error: 'payment_unexpected_state' };
        }
        return { payment: { ...payment, lastError }, events: [], error: 'payment_unexpected_state' };
      });
    },

    async cancel(scope, id, reason) {
      const payment = await get(scope, id);
      if (!payment) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` };
      if (!['requires_confirmation', 'requires_action', 'requires_capture'].includes(payment.status)) {
        return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status} and cannot be canceled.`, payment };
      }
      const transfers: TransferInput[] =
        payment.status === 'requires_capture'
          ? [{ id: ledgerId(`${payment.id}:void`), voidPendingId: ledgerId(`${payment.id}:hold`), code: TRANSFER_CODES.payment }]
          : [];
      // A payment canceled before it moved money moved no points either (a manual-capture hold carries none).
      const points = payment.status === 'requires_capture' ? {} : NO_POINTS;
      return commit(payment, transfers, (results) => {
        const released = moved(results) || results.some((result) => result.result === 'pending_transfer_already_expired' || result.result === 'pending_transfer_expired');
        if (!released) return { payment: { ...payment, lastError: failureOf(results) }, events: [], error: 'payment_unexpected_state' };
        return { payment: { ...payment, ...points, status: 'canceled', cancellationReason: reason ?? 'requested_by_customer', captureBefore: null }, events: ['payment.canceled'] };
      });
    },

    async settleReview(id, approve, writes) {
      const payment = await store.getPayment(db, id);
      if (!payment) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payment: ${id}.` };
      if (payment.status !== 'processing') {
        return { ok: false, code: 'payment_unexpected_state', message: `The payment is ${payment.status}; only a payment in review can be settled by its review.`, payment };
      }
      const hold = ledgerId(`${payment.id}:hold`);
      const expired = (results: CreateTransferResult[]) => results.some((result) => result.result === 'pending_transfer_expired' || result.result === 'pending_transfer_already_expired');
      const pointsHold = payment.pointsRedeemed > 0n ? ledgerId(`${payment.id}:points_hold`) : null;
      if (!approve) {
        const voidMoney: TransferInput = { id: ledgerId(`${payment.id}:void`), voidPendingId: hold, code: TRANSFER_CODES.review_hold };
        const transfers: TransferInput[] = pointsHold
          ? [{ id: ledgerId(`${payment.id}:points_void`), voidPendingId: pointsHold, code: LOYALTY_TRANSFER_CODES.redeem, linked: true }, voidMoney]
          : [voidMoney];
        return commit(payment, transfers, (results) => {
          if (!moved(results) && !expired(results)) return { payment: { ...payment, lastError: failureOf(results) }, events: [], error: 'payment_unexpected_state' };
          // The points' hold was released with the money's: none were spent.
          return { payment: { ...payment, ...NO_POINTS, status: 'canceled', cancellationReason: 'fraudulent' }, events: ['payment.canceled'], writes };
        });
      }
      // The review found nothing wrong with a manual-capture payment: the merchant captures it (all or
      // part) or cancels it, as if risk had allowed it at once. The review's hold stays as it is (the
      // pending `<payment>:hold` that capture posts and cancel voids), so approval moves no money, and
      // the capture deadline is that hold's own expiry. Manual-capture payments carry no points.
      if (payment.captureMethod === 'manual') {
        const expiresAt = (await ledger.getTransfer(hold))?.expiresAt ?? null;
        if (expiresAt === null) throw new Error(`the review hold of payment ${payment.id} is missing`);
        return commit(payment, [], () => {
          if (expiresAt.getTime() <= Date.now()) {
            return { payment: { ...payment, status: 'canceled', cancellationReason: 'expired' }, events: ['payment.canceled'], error: 'payment_unexpected_state' };
          }
          return { payment: { ...payment, status: 'requires_capture', captureBefore: expiresAt, lastError: null }, events: ['payment.requires_capture'], writes };
        });
      }
      const merchant = (await deps.merchants.get(payment.merchantId))!;
      const money = moneyAmountOf(payment);
      const fee = deps.merchants.feeFor(merchant, money, payment.currency);
      const post: TransferInput = { id: ledgerId(`${payment.id}:capture`), postPendingId: hold, amount: money, code: TRANSFER_CODES.payment };
      const earned = await withEarn(payment, money, fee === 0n ? [post] : [{ ...post, linked: true }, feeTransfer(payment, accountsOf(payment), fee)]);
      const postPoints: TransferInput[] = pointsHold
        ? [{ id: ledgerId(`${payment.id}:points_capture`), postPendingId: pointsHold, amount: payment.pointsRedeemed, code: LOYALTY_TRANSFER_CODES.redeem, linked: true }]
        : [];
      return commit(payment, [...postPoints, ...earned.transfers], (results) => {
        // The review's decision and label are written only when the payment followed it.
        if (moved(results)) return { payment: { ...payment, status: 'succeeded', amountCaptured: money, feeAmount: fee }, events: ['payment.succeeded'], writes: [...writes, ...earned.writes] };
        if (expired(results)) return { payment: { ...payment, ...NO_POINTS, status: 'canceled', cancellationReason: 'expired' }, events: ['payment.canceled'], error: 'payment_unexpected_state' };
        return { payment: { ...payment, lastError: failureOf(results) }, events: [], error: 'payment_unexpected_state' };
      });
    },

    async cancelOverdueCaptures(limit) {
      let canceled = 0;
      for (const payment of await store.listCaptureOverdue(db, limit)) {
        const result = await service.cancel({ merchantId: payment.merchantId, livemode: payment.livemode }, payment.id, 'expired');
        if (result.ok) canceled += 1;
      }
      return canceled;
    },
  };
  return service;
}
