// The payout dispatcher: claims payouts that are due (a bounded batch, FOR UPDATE SKIP LOCKED with a
// lease, so several processes share them), submits pending ones to the bank and asks about those in
// transit. Only a definitive answer of the bank changes the money: `settled` posts the hold, `rejected`
// voids it. No answer (a timeout after the connector's retries) never voids: the bank may have taken the
// transfer, so the payout keeps its hold and is tried again later with the same end-to-end id, which
// the bank treats as the same transfer.
import type { Books } from '../books/service.ts';
import type { CreateTransferResult, TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { Logger } from '../log/logger.ts';
import type { Database } from '../store/database.ts';
import type { BankAnswer, BankRail } from '../rails/bank.ts';
import { PAYOUT_FAILURE_CODES, type Payout } from './model.ts';
import { payoutAccounts, payoutEvent, settleTransfers, voidTransfer } from './moves.ts';
import type { BankRails } from './rails.ts';
import * as store from './store.ts';
import type { FieldSealer } from '../vault/fields.ts';

export interface PayoutDispatcherDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  rails: BankRails;
  pollIntervalMs: number;
  logger?: Logger;
  sealer: FieldSealer;
}

export interface PayoutDispatcher {
  /** One pass over at most `payoutsMax` due payouts; returns how many changed state. */
  dispatch(payoutsMax: number): Promise<number>;
}

/** Longer than one payout's talk with the bank (the connector's timeout × attempts, and backoff). */
const CLAIM_LEASE_SECONDS = 60;
/** Submissions without any answer before the dispatcher stops and leaves the payout to an operator. */
export const SUBMIT_ATTEMPTS_MAX = 12;
const RETRY_DELAY_MS_MAX = 3_600_000;
/** Payouts talked about with the bank at once by one process. */
const CONCURRENCY_MAX = 8;

export function createPayoutDispatcher(deps: PayoutDispatcherDependencies): PayoutDispatcher {
  const { db, ledger, books } = deps;
  const later = (delayMs: number) => new Date(Date.now() + delayMs);

  function remittanceOf(payout: Payout): string {
    return `Micropay payout ${payout.id}${payout.period ? ` for ${payout.period}` : ''}`;
  }

  async function submit(rail: BankRail, payout: Payout): Promise<BankAnswer> {
    return rail.submit({
      endToEndId: payout.id,
      amount: payout.amount,
      currency: payout.currency,
      exponent: (await books.exponentOf(payout.currency)) ?? 2,
      account: { type: payout.destination.type, number: payout.destination.number },
      creditorName: payout.destination.holderName.slice(0, 70),
      remittance: remittanceOf(payout),
    });
  }

  /** Commits a money-moving end of a payout with its new state and event; false when someone else did. */
  async function conclude(payout: Payout, transfers: TransferInput[], next: Payout, type: 'payout.paid' | 'payout.failed'): Promise<boolean> {
    await books.ensure(Object.values(payoutAccounts(books, payout)));
    const shown = { ...next, version: payout.version + 1 };
    const outcome = await ledger
      .commit({
        transfers,
        finish: (results: CreateTransferResult[]) => {
          const moved = results.every((result) => result.result === 'created' || result.result === 'exists');
          if (!moved) return { value: results.map((result): string => result.result), writes: [] };
          return { value: null, writes: [store.payoutUpdateWrite(next), payoutEvent(shown, type)] };
        },
      })
      .catch((error: unknown) => {
        if (error instanceof store.PayoutChangedError) return ['changed'] as string[];
        throw error;
      });
    if (outcome === null) return true;
    if (!outcome.includes('changed')) deps.logger?.error({ payout: payout.id, results: outcome }, 'the ledger refused to conclude a payout');
    return false;
  }

  function settle(payout: Payout, reference: string): Promise<boolean> {
    const next: Payout = { ...payout, status: 'paid', bankReference: reference, paidAt: new Date(), nextAttemptAt: null };
    return conclude(payout, settleTransfers(books, next), next, 'payout.paid');
  }

  function fail(payout: Payout, answer: Extract<BankAnswer, { kind: 'answered' }>): Promise<boolean> {
    const reasonCode = answer.reasonCode;
    const failureCode = (reasonCode && PAYOUT_FAILURE_CODES[reasonCode as keyof typeof PAYOUT_FAILURE_CODES]) || 'bank_rejected';
    const next: Payout = {
      ...payout,
      status: 'failed',
      bankReference: answer.reference,
      bankReasonCode: reasonCode,
      failureCode,
      failureMessage: answer.reasonText ?? 'The bank rejected the transfer.',
      nextAttemptAt: null,
    };
    return conclude(payout, [voidTransfer(payout)], next, 'payout.failed');
  }

  /** Acts on what the bank said about `payout`; returns whether its state changed. */
  async function apply(rail: BankRail, payout: Payout, answer: BankAnswer, resubmitted = false): Promise<boolean> {
    if (answer.kind === 'unknown' && payout.status === 'in_transit' && !resubmitted) {
      // The bank lost it (a sandbox restarted, another process's sandbox): the same end-to-end id again.
      return apply(rail, payout, await submit(rail, payout), true);
    }
    if (answer.kind !== 'answered') return retryLater(payout, answer.kind === 'unknown' ? 'the bank does not know the transfer' : answer.problem);
    if (answer.state === 'settled') return settle(payout, answer.reference);
    if (answer.state === 'rejected') return fail(payout, answer);
    if (payout.status === 'pending' || payout.bankReference !== answer.reference) {
      return store.updatePayoutState(db, { ...payout, status: 'in_transit', bankReference: answer.reference, nextAttemptAt: later(deps.pollIntervalMs) });
    }
    await store.releasePayout(db, payout, later(deps.pollIntervalMs));
    return false;
  }

  async function retryLater(payout: Payout, problem: string): Promise<boolean> {
    const attempts = Math.max(payout.submitAttempts, 1);
    if (payout.status === 'pending' && attempts >= SUBMIT_ATTEMPTS_MAX) {
      deps.logger?.error({ payout: payout.id, problem, attempts }, 'payout could not be submitted; it keeps its hold and needs an operator');
      await store.releasePayout(db, payout, null);
      return false;
    }
    deps.logger?.warn({ payout: payout.id, problem, attempts }, 'bank rail gave no answer; trying again later');
    await store.releasePayout(db, payout, later(Math.min(Math.max(deps.pollIntervalMs, 1000) * 2 ** (attempts - 1), RETRY_DELAY_MS_MAX)));
    return false;
  }

  async function handle(payout: Payout): Promise<boolean> {
    const rail = await deps.rails.forMode(payout.livemode);
    if (!rail) return retryLater(payout, 'no bank rail is configured for this mode');
    const answer = payout.status === 'pending' || !payout.bankReference ? await submit(rail, payout) : await rail.status(payout.bankReference);
    return apply(rail, payout, answer);
  }

  return {
    async dispatch(payoutsMax) {
      const claimed = await store.claimDuePayouts(db, deps.sealer, CLAIM_LEASE_SECONDS, payoutsMax);
      let changed = 0;
      for (let start = 0; start < claimed.length; start += CONCURRENCY_MAX) {
        const outcomes = await Promise.allSettled(claimed.slice(start, start + CONCURRENCY_MAX).map(handle));
        for (const [index, outcome] of outcomes.entries()) {
          if (outcome.status === 'fulfilled') changed += outcome.value ? 1 : 0;
          else deps.logger?.error({ err: outcome.reason, payout: claimed[start + index]!.id }, 'payout dispatch failed');
        }
      }
      return changed;
    },
  };
}
