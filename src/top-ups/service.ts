// Top-ups: a buyer's wallet funded from a card. The order of a top-up is fixed: check the request,
// tokenise the card (if it came in clear), record the top-up as `processing`, ask the risk hook, ask the
// card processor to authorise, then commit the outcome. A success moves money from the `card_settlement`
// account to the buyer's wallet in the same group commit as the top-up's new state, its risk decision
// and its event. The processor is asked with the top-up id as its Idempotency-Key and the ledger
// transfer id is derived from the top-up id, so a request re-run with its Idempotency-Key (after a
// timeout, a crash or a 503 of ours) lands on the same authorization and the same credit.
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor, ledgerId } from '../api/ids.ts';
import type { Books } from '../books/service.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import type { CustomerService, Customer, Scope } from '../customers/service.ts';
import { eventWrite } from '../events/outbox.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { RiskDecision, RiskHook } from '../risk/hook.ts';
import { riskDecisionWrite } from '../risk/hook.ts';
import { plainRefusal } from '../checkout/messages.ts';
import type { Database } from '../store/database.ts';
import { CardProcessorError, type CardProcessor, type ProcessorAnswer, type ProcessorOutcome } from '../rails/card.ts';
import type { CardInput } from '../vault/card.ts';
import type { CardVault } from '../vault/service.ts';
import { topUpJson, type PaymentMethod, type TopUp, type TopUpStatus } from './model.ts';
import * as store from './store.ts';

/** A top-up still `processing` after this long lost its request; reconciliation asks the processor. */
export const TOP_UP_RECONCILE_AFTER_SECONDS = 600;

export interface TopUpInput {
  customerId: string;
  amount: bigint;
  currency: string;
  paymentMethodId?: string;
  card?: CardInput;
  metadata?: Record<string, string> | null;
}

export type Failure = { ok: false; code: ApiErrorCode; param?: string; message?: string };
export type TopUpResult = { ok: true; topUp: TopUp } | Failure;
export type PaymentMethodResult = { ok: true; paymentMethod: PaymentMethod } | Failure;

export interface TopUpService {
  createPaymentMethod(scope: Scope, input: { customerId: string; card: CardInput }, idSeed?: string): Promise<PaymentMethodResult>;
  getPaymentMethod(scope: Scope, id: string): Promise<PaymentMethod | null>;
  listPaymentMethods(scope: Scope, options: { customerId: string; limit: number; startingAfter?: string }): Promise<{ data: PaymentMethod[]; hasMore: boolean }>;
  create(scope: Scope, input: TopUpInput, idSeed?: string): Promise<TopUpResult>;
  get(scope: Scope, id: string): Promise<TopUp | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string; customerId?: string; status?: string }): Promise<{ data: TopUp[]; hasMore: boolean }>;
  /** Finishes a top-up after the buyer completed its 3-D Secure challenge. */
  confirm(scope: Scope, id: string): Promise<TopUpResult>;
  /** Settles top-ups left `processing` since before `before` from what the processor holds; returns how many. */
  reconcileStale(limit: number, before?: Date): Promise<number>;
  minimumFor(currency: string): bigint;
  /** A keyed digest of card fields, for recognising a repeated request without storing a reversible hash. */
  cardDigest(card: CardInput): string;
}

export interface TopUpDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  customers: CustomerService;
  risk: RiskHook;
  vault: CardVault;
  /** `available`: whether cards of a mode have a processor (live mode only with CARD_PROCESSOR_URL). */
  cards: { available(livemode: boolean): boolean; processorFor(livemode: boolean): CardProcessor };
  /** Minimum per currency in minor units; currencies not listed have none beyond 1. */
  minimums: Record<string, bigint>;
}

/** Another request changed the top-up between our read and our write (nothing of this one was written). */
const CHANGED_MEANWHILE: TopUpResult = Object.freeze({
  ok: false,
  code: 'concurrent_modification',
  message: 'The top-up was changed by another request at the same time; retrieve it to see its state.',
});

/** Live mode without a card processor (CARD_PROCESSOR_URL unset): nothing is recorded or charged. */
const NO_PROCESSOR: Failure = Object.freeze({
  ok: false,
  code: 'top_ups_unavailable',
  message: 'No card processor is configured for live top-ups (CARD_PROCESSOR_URL); nothing was recorded or charged.',
});

/** A card ready for the processor: in memory for this request only. */
interface ChargeableCard {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string | null;
}

const EVENT_OF: Partial<Record<TopUpStatus, string>> = {
  succeeded: 'top_up.succeeded',
  failed: 'top_up.failed',
  requires_action: 'top_up.requires_action',
};

export function createTopUpService(deps: TopUpDependencies): TopUpService {
  const { db, ledger, books, vault } = deps;

  const scoped = <T extends { merchantId: string; livemode: boolean }>(scope: Scope, object: T | null): T | null =>
    object && object.merchantId === scope.merchantId && object.livemode === scope.livemode ? object : null;

  function minimumFor(currency: string): bigint {
    return deps.minimums[currency] ?? 1n;
  }

  /** Tokenises a checked card and attaches it to the customer, in one transaction. */
  async function tokenize(scope: Scope, customer: Customer, card: CardInput, idSeed: string | undefined): Promise<{ ok: true; method: PaymentMethod; chargeable: ChargeableCard } | Failure> {
    const checked = vault.check(card);
    if (!checked.ok) return { ok: false, code: checked.code, param: checked.param, message: checked.message };
    const token = idFor('card', idSeed);
    const method = await db.transaction(async (tx) => {
      const tokenized = await vault.tokenize(scope, checked.card, token, tx);
      return store.insertPaymentMethod(tx, {
        id: token,
        merchantId: scope.merchantId,
        livemode: scope.livemode,
        customerId: customer.id,
        brand: tokenized.brand,
        last4: tokenized.last4,
        expMonth: tokenized.expMonth,
        expYear: tokenized.expYear,
        fingerprint: tokenized.fingerprint,
      });
    });
    const { number, expMonth, expYear, cvc } = checked.card;
    return { ok: true, method, chargeable: { number, expMonth, expYear, cvc } };
  }

  /** The card of a saved payment method, from the vault (without a security code: it was never kept). */
  async function savedCard(scope: Scope, method: PaymentMethod): Promise<ChargeableCard> {
    const revealed = await vault.reveal(scope, method.id);
    if (!revealed) throw new Error(`payment method ${method.id} has no vault record`);
    return { ...revealed, cvc: null };
  }

  function fundTransfer(topUp: TopUp): TransferInput {
    return {
      id: ledgerId(`${topUp.id}:fund`),
      debitAccountId: books.account('card_settlement', 'platform', topUp.livemode, topUp.currency).id,
      creditAccountId: books.account('wallet', topUp.buyerId, topUp.livemode, topUp.currency).id,
      amount: topUp.amount,
      code: TRANSFER_CODES.top_up,
      metadata: { top_up: topUp.id },
    };
  }

  /** The state a processor outcome leads to, and the transfers it needs. */
  function nextOf(topUp: TopUp, outcome: ProcessorOutcome): { next: TopUp; transfers: TransferInput[] } {
    const base = { ...topUp, processorAuthorizationId: outcome.authorizationId, threeDSecureUrl: null, failureCode: null, failureMessage: null };
    switch (outcome.status) {
      case 'authorized':
        return { next: { ...base, status: 'succeeded' }, transfers: [fundTransfer(topUp)] };
      case 'declined':
        return { next: { ...base, status: 'failed', failureCode: outcome.declineCode, failureMessage: outcome.declineMessage }, transfers: [] };
      case 'requires_challenge':
        return { next: { ...base, status: 'requires_action', threeDSecureUrl: outcome.challengeUrl }, transfers: [] };
    }
  }

  /** Commits a top-up's next state with its transfers, risk decision and event in one group commit. */
  async function commit(topUp: TopUp, next: TopUp, transfers: TransferInput[], decision: RiskDecision | null): Promise<TopUpResult> {
    if (transfers.length > 0) {
      await books.ensure([
        books.account('card_settlement', 'platform', topUp.livemode, topUp.currency),
        books.account('wallet', topUp.buyerId, topUp.livemode, topUp.currency),
      ]);
    }
    const shown: TopUp = { ...next, riskDecisionId: decision?.id ?? next.riskDecisionId, version: topUp.version + 1 };
    const outcome = await ledger
      .commit({
        transfers,
        finish: (results: CreateTransferResult[]) => {
          const refused = results.find((result) => result.result !== 'created' && result.result !== 'exists');
          // The card was charged but the wallet credit was refused: a bug, not a state. Nothing of this
          // unit is written; the error answers 500, which frees the Idempotency-Key for a retry.
          if (refused) throw new Error(`the ledger refused the credit of top-up ${topUp.id}: ${refused.result}`);
          const writes: UnitWrite[] = [store.topUpWrite({ ...shown, version: topUp.version })];
          if (decision) writes.push(riskDecisionWrite(decision));
          const type = EVENT_OF[shown.status];
          if (type) {
            writes.push(eventWrite({ merchantId: topUp.merchantId, livemode: topUp.livemode, type, object: topUpJson(shown), occurrence: String(shown.version) }));
          }
          return { value: shown, writes };
        },
      })
      .catch((error: unknown) => {
        if (error instanceof store.TopUpChangedError) return null;
        throw error;
      });
    if (outcome === null) return CHANGED_MEANWHILE;
    return { ok: true, topUp: outcome };
  }

  function settle(topUp: TopUp, answer: ProcessorAnswer, decision: RiskDecision | null): Promise<TopUpResult> | TopUpResult {
    if (!answer.ok) return { ok: false, code: 'card_processor_unavailable', message: `${answer.message} The top-up is still processing; retry with the same Idempotency-Key.` };
    const { next, transfers } = nextOf(topUp, answer.outcome);
    return commit(topUp, next, transfers, decision);
  }

  /**
   * A re-run of a top-up still `processing` (its first request died, or answered 503 after the processor
   * may have charged the card). It is claimed first (`store.claimProcessing`: the stale reconciler cannot
   * settle it meanwhile, and one that settled it first wins), then the processor is asked for what it did
   * with this reference: an outcome is settled as it is, without scoring risk again (a second score may
   * differ, and blocking a top-up whose card was charged would keep the money from the wallet). Only a
   * top-up the processor never saw goes on to `authorize`.
   */
  async function resume(topUp: TopUp): Promise<{ done: true; result: TopUpResult } | { done: false; topUp: TopUp }> {
    const claimed = await store.claimProcessing(db, topUp);
    if (!claimed) {
      const now = await store.getTopUp(db, topUp.id);
      if (now && now.status !== 'processing') return { done: true, result: { ok: true, topUp: now } };
      return { done: true, result: CHANGED_MEANWHILE };
    }
    const found = await deps.cards.processorFor(claimed.livemode).findByReference(claimed.id);
    if (!found.ok) return { done: true, result: await settle(claimed, found, null) };
    const last = found.outcomes.at(-1);
    if (last) return { done: true, result: await settle(claimed, { ok: true, outcome: last }, null) };
    return { done: false, topUp: claimed };
  }

  /** Risk first, then the processor, then the commit; for a top-up that is `processing`. */
  async function authorize(topUp: TopUp, card: ChargeableCard, fingerprint: string | null): Promise<TopUpResult> {
    const decision = await deps.risk.score({
      action: 'top_up',
      merchantId: topUp.merchantId,
      livemode: topUp.livemode,
      subjectType: 'top_up',
      subjectId: topUp.id,
      buyerId: topUp.buyerId,
      amount: topUp.amount,
      currency: topUp.currency,
      categories: [],
      method: 'card',
      cardFingerprint: fingerprint,
      cardBin: card.number.slice(0, 6),
    });
    if (decision.decision === 'block') {
      // Said by the first reason's code only: a reason's message may quote an operator's rule or a model
      // score, which the merchant must not read; risk_decisions keeps the reasons for operators.
      const reason = plainRefusal(decision.reasons[0]?.code, 'top-up');
      await deps.risk.report?.(decision, false);
      return commit(topUp, { ...topUp, status: 'failed', failureCode: 'top_up_blocked', failureMessage: reason }, [], decision);
    }
    // Elevated risk (challenge or review) asks the issuer to authenticate the cardholder.
    const threeDSecure = decision.decision === 'allow' ? 'automatic' : 'required';
    const answer = await deps.cards.processorFor(topUp.livemode).authorize({
      reference: topUp.id,
      amount: topUp.amount,
      currency: topUp.currency,
      card,
      threeDSecure,
    });
    const settled = await settle(topUp, answer, decision);
    // The engine learns the issuer's answer (declines feed the card-testing signals); a top-up waiting
    // for 3-D Secure has no outcome yet and is not reported.
    if (settled.ok && settled.topUp.status !== 'requires_action') await deps.risk.report?.(decision, settled.topUp.status === 'succeeded');
    else if (!settled.ok && settled.code !== 'card_processor_unavailable') await deps.risk.report?.(decision, false);
    return settled;
  }

  async function resolveCard(
    scope: Scope,
    customer: Customer,
    input: TopUpInput,
    idSeed: string | undefined,
  ): Promise<{ ok: true; method: PaymentMethod; chargeable: ChargeableCard } | Failure> {
    if (input.card !== undefined) return tokenize(scope, customer, input.card, idSeed);
    const method = scoped(scope, await store.getPaymentMethod(db, input.paymentMethodId!));
    if (!method || method.customerId !== customer.id) {
      return { ok: false, code: 'resource_missing', param: 'payment_method', message: `No such payment method for customer ${customer.id}: ${input.paymentMethodId}.` };
    }
    return { ok: true, method, chargeable: await savedCard(scope, method) };
  }

  const service: TopUpService = {
    async createPaymentMethod(scope, input, idSeed) {
      const customer = await deps.customers.get(scope, input.customerId);
      if (!customer) return { ok: false, code: 'resource_missing', param: 'customer', message: `No such customer: ${input.customerId}.` };
      const tokenized = await tokenize(scope, customer, input.card, idSeed);
      if (!tokenized.ok) return tokenized;
      return { ok: true, paymentMethod: tokenized.method };
    },

    getPaymentMethod: async (scope, id) => scoped(scope, await store.getPaymentMethod(db, id)),
    listPaymentMethods: (scope, options) => store.listPaymentMethods(db, scope, options),

    async create(scope, input, idSeed) {
      if (!deps.cards.available(scope.livemode)) return NO_PROCESSOR;
      const customer = await deps.customers.get(scope, input.customerId);
      if (!customer) return { ok: false, code: 'resource_missing', param: 'customer', message: `No such customer: ${input.customerId}.` };
      if (!(await books.isCurrency(input.currency))) {
        return { ok: false, code: 'currency_unsupported', param: 'currency', message: `Currency ${input.currency} is not supported.` };
      }
      const minimum = minimumFor(input.currency);
      if (input.amount < minimum) {
        return { ok: false, code: 'amount_too_small', param: 'amount', message: `The smallest top-up in ${input.currency} is ${minimum} (minor units); smaller ones would be eaten by card fees.` };
      }
      if (input.card !== undefined && input.paymentMethodId !== undefined) {
        return { ok: false, code: 'parameter_invalid', param: 'card', message: 'Give either payment_method or card, not both.' };
      }
      if (input.card === undefined && input.paymentMethodId === undefined) {
        return { ok: false, code: 'parameter_missing', param: 'payment_method', message: 'Give payment_method (a saved card) or card.' };
      }
      const id = idFor('top', idSeed);
      // A request re-run with its Idempotency-Key finds its top-up: finished ones are answered as they
      // are; one still processing is taken over, and the processor is asked what it did before anything
      // is decided again (see `resume`).
      const found = scoped(scope, await store.getTopUp(db, id));
      if (found && found.status !== 'processing') return { ok: true, topUp: found };
      let existing: TopUp | null = null;
      if (found) {
        const resumed = await resume(found);
        if (resumed.done) return resumed.result;
        existing = resumed.topUp;
      }
      const card = await resolveCard(scope, customer, input, idSeed);
      if (!card.ok) return card;
      const now = new Date();
      const topUp =
        existing ??
        (await store.insertTopUp(db, {
          id,
          merchantId: scope.merchantId,
          livemode: scope.livemode,
          customerId: customer.id,
          buyerId: customer.buyerId,
          paymentMethodId: card.method.id,
          amount: input.amount,
          currency: input.currency,
          status: 'processing',
          processorAuthorizationId: null,
          threeDSecureUrl: null,
          failureCode: null,
          failureMessage: null,
          riskDecisionId: null,
          metadata: input.metadata ?? null,
          version: 0,
          createdAt: now,
          updatedAt: now,
        }));
      if (topUp.status !== 'processing') return { ok: true, topUp };
      return authorize(topUp, card.chargeable, card.method.fingerprint);
    },

    get: async (scope, id) => scoped(scope, await store.getTopUp(db, id)),
    list: (scope, options) => store.listTopUps(db, scope, options),

    async confirm(scope, id) {
      const topUp = scoped(scope, await store.getTopUp(db, id));
      if (!topUp) return { ok: false, code: 'resource_missing', param: 'id', message: `No such top-up: ${id}.` };
      if (topUp.status !== 'requires_action') {
        return { ok: false, code: 'top_up_unexpected_state', message: `The top-up is ${topUp.status}; only a top-up that requires action can be confirmed.` };
      }
      if (!deps.cards.available(topUp.livemode)) return NO_PROCESSOR;
      const answer = await deps.cards
        .processorFor(topUp.livemode)
        .confirm(topUp.processorAuthorizationId!)
        .catch((error: unknown) => {
          // A processor that no longer knows the authorization (a restarted development sandbox forgets
          // them) will never complete it: the top-up fails instead of answering 500 forever.
          if (error instanceof CardProcessorError && error.status === 404) return null;
          throw error;
        });
      if (answer === null) {
        const failureMessage = 'The card processor does not know this authorization any more; nothing was credited.';
        return commit(topUp, { ...topUp, status: 'failed', threeDSecureUrl: null, failureCode: 'processing_error', failureMessage }, [], null);
      }
      if (answer.ok && answer.outcome.status === 'requires_challenge') {
        return { ok: false, code: 'three_d_secure_incomplete', message: 'The buyer has not completed the 3-D Secure challenge yet; send them to next_action.url.' };
      }
      return settle(topUp, answer, null);
    },

    async reconcileStale(limit, before = new Date(Date.now() - TOP_UP_RECONCILE_AFTER_SECONDS * 1000)) {
      let settled = 0;
      let firstError: unknown = null;
      for (const topUp of await store.listStaleProcessing(db, before, limit)) {
        // One top-up the processor answers oddly for must not stop the ones behind it (they are taken
        // oldest first, so it would come first on every pass): its error is kept and thrown at the end.
        try {
          const found = await deps.cards.processorFor(topUp.livemode).findByReference(topUp.id);
          if (!found.ok) continue;
          const last = found.outcomes.at(-1);
          const result = last
            ? await settle(topUp, { ok: true, outcome: last }, null)
            : await commit(topUp, { ...topUp, status: 'failed', failureCode: 'processing_error', failureMessage: 'The card processor never received the authorization; nothing was charged.' }, [], null);
          if (result.ok) settled += 1;
        } catch (error) {
          firstError ??= error;
        }
      }
      if (firstError !== null) throw firstError;
      return settled;
    },

    minimumFor,
    cardDigest: (card) => vault.digestOf([card.number, String(card.expMonth), String(card.expYear), card.cvc ?? '']),
  };
  return service;
}
