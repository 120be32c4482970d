// The payout dispatcher: claims payouts that are due (a bounded batch, FOR UPDATE SKIP LOCKED with a
// lease, so several processes share them), submits pending ones to the bank and asks about those in
// transit. Only a definitive answer of the bank changes the money: `settled` posts the hold, `rejected`
// voids it. No answer (a timeout after the connector's retries) never voids: the bank may have taken the
// transfer, so the payout keeps its hold and is tried again later with the same end-to-end id, which
// the bank treats as the same transfer.
//
// One dispatcher at a time talks to the bank about a payout. A pass claims its payouts under a random
// lease token; just before each request to the bank about a payout it renews that payout's lease, by a
// compare-and-set on the token, for longer than the request can take; and every write that follows
// (the answer, a release) applies only while the token is still there. A payout whose lease ran out
// while the pass was busy with others, and which another dispatcher (or this one's next pass) claimed
// meanwhile, carries that claim's token: this pass skips it and writes nothing to it.
import { randomUUID } from 'node:crypto';
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
  /** The lease of a claim before its payout's turn comes (default CLAIM_LEASE_SECONDS); renewed for
   * this plus the rails' request budget before each request to the bank. */
  leaseSeconds?: number;
}

export interface PayoutDispatcher {
  /** One pass over at most `payoutsMax` due payouts; returns how many changed state. */
  dispatch(payoutsMax: number): Promise<number>;
}

/** How long a claimed payout waits for its turn in a pass before another dispatcher may claim it, and the
 * margin (for recording the answer) added to the rails' request budget when its lease is renewed. */
const CLAIM_LEASE_SECONDS = 60;
/** Submissions without any answer before the dispatcher stops and leaves the payout to an operator. */
export const SUBMIT_ATTEMPTS_MAX = 12;
const RETRY_DELAY_MS_MAX = 3_600_000;
/** Payouts talked about with the bank at once by one process. */
export const CONCURRENCY_MAX = 8;

export function createPayoutDispatcher(deps: PayoutDispatcherDependencies): PayoutDispatcher {
  const { db, ledger, books } = deps;
  const later = (delayMs: number) => new Date(Date.now() + delayMs);
  const claimLeaseSeconds = deps.leaseSeconds ?? CLAIM_LEASE_SECONDS;
  /** A renewed lease outlasts the request it is renewed for, and leaves time to record the answer. */
  const requestLeaseSeconds = claimLeaseSeconds + Math.ceil(deps.rails.requestBudgetMs / 1000);

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

  /**
   * Renews this pass's lease on `payout` just before a request to the bank about it (and counts the
   * submission of a pending one); null when the lease was lost to another claim, and then nothing may be
   * sent or written about the payout by this pass.
   */
  async function renew(payout: Payout, leaseToken: string): Promise<Payout | null> {
    const attempts = await store.renewPayoutLease(db, payout, leaseToken, requestLeaseSeconds);
    if (attempts === null) {
      deps.logger?.warn({ payout: payout.id }, 'payout lease lost to another dispatcher; not asking the bank about it');
      return null;
    }
    return { ...payout, submitAttempts: attempts };
  }

  /** Commits a money-moving end of a payout with its new state and event; false when someone else did. */
  async function conclude(payout: Payout, leaseToken: string, transfers: TransferInput[], next: Payout, type: 'payout.paid' | 'payout.failed'): Promise<boolean> {
    await books.ensure(Object.values(payoutAccounts(books, payout)));
    const shown = { ...next, version: payout.version + 1 };
    const outcome = await ledger
      .commit({
        transfers,
        finish: (results: CreateTransferResult[]) => {
          const moved = results.every((result) => result.result === 'created' || result.result === 'exists');
          if (!moved) return { value: results.map((result): string => result.result), writes: [] };
          return { value: null, writes: [store.payoutUpdateWrite(next, leaseToken), payoutEvent(shown, type)] };
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

  function settle(payout: Payout, leaseToken: string, reference: string): Promise<boolean> {
    const next: Payout = { ...payout, status: 'paid', bankReference: reference, paidAt: new Date(), nextAttemptAt: null };
    return conclude(payout, leaseToken, settleTransfers(books, next), next, 'payout.paid');
  }

  function fail(payout: Payout, leaseToken: string, answer: Extract<BankAnswer, { kind: 'answered' }>): Promise<boolean> {
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
    return conclude(payout, leaseToken, [voidTransfer(payout)], next, 'payout.failed');
  }

  /** Acts on what the bank said about `payout`; returns whether its state changed. */
  async function apply(rail: BankRail, payout: Payout, leaseToken: string, answer: BankAnswer, resubmitted = false): Promise<boolean> {
    if (answer.kind === 'unknown' && payout.status === 'in_transit' && !resubmitted) {
      // The bank lost it (a sandbox restarted, another process's sandbox): the same end-to-end id again,
      // under a renewed lease.
      const held = await renew(payout, leaseToken);
      if (!held) return false;
      return apply(rail, held, leaseToken, await submit(rail, held), true);
    }
    if (answer.kind !== 'answered') return retryLater(payout, leaseToken, answer.kind === 'unknown' ? 'the bank does not know the transfer' : answer.problem);
    if (answer.state === 'settled') return settle(payout, leaseToken, answer.reference);
    if (answer.state === 'rejected') return fail(payout, leaseToken, answer);
    if (payout.status === 'pending' || payout.bankReference !== answer.reference) {
      return store.updatePayoutState(db, { ...payout, status: 'in_transit', bankReference: answer.reference, nextAttemptAt: later(deps.pollIntervalMs) }, leaseToken);
    }
    await store.releasePayout(db, payout, leaseToken, later(deps.pollIntervalMs));
    return false;
  }

  async function retryLater(payout: Payout, leaseToken: string, problem: string): Promise<boolean> {
    const attempts = Math.max(payout.submitAttempts, 1);
    if (payout.status === 'pending' && attempts >= SUBMIT_ATTEMPTS_MAX) {
      deps.logger?.error({ payout: payout.id, problem, attempts }, 'payout could not be submitted; it keeps its hold and needs an operator');
      await store.releasePayout(db, payout, leaseToken, null);
      return false;
    }
    deps.logger?.warn({ payout: payout.id, problem, attempts }, 'bank rail gave no answer; trying again later');
    await store.releasePayout(db, payout, leaseToken, later(Math.min(Math.max(deps.pollIntervalMs, 1000) * 2 ** (attempts - 1), RETRY_DELAY_MS_MAX)));
    return false;
  }

  async function handle(claimed: Payout, leaseToken: string): Promise<boolean> {
    // Its turn may come after its claim's lease ran out: only a payout still held by this claim is sent.
    const payout = await renew(claimed, leaseToken);
    if (!payout) return false;
    const rail = await deps.rails.forMode(payout.livemode);
    if (!rail) return retryLater(payout, leaseToken, 'no bank rail is configured for this mode');
    const answer = payout.status === 'pending' || !payout.bankReference ? await submit(rail, payout) : await rail.status(payout.bankReference);
    return apply(rail, payout, leaseToken, answer);
  }

  return {
    async dispatch(payoutsMax) {
      // One token per pass: a later pass of this dispatcher is another claim, like another process's.
      const leaseToken = randomUUID();
      const claimed = await store.claimDuePayouts(db, deps.sealer, leaseToken, claimLeaseSeconds, payoutsMax);
      let changed = 0;
      for (let start = 0; start < claimed.length; start += CONCURRENCY_MAX) {
        const outcomes = await Promise.allSettled(claimed.slice(start, start + CONCURRENCY_MAX).map((payout) => handle(payout, leaseToken)));
        for (const [index, outcome] of outcomes.entries()) {
          if (outcome.status === 'fulfilled') changed += outcome.value ? 1 : 0;
          else deps.logger?.error({ err: outcome.reason, payout: claimed[start + index]!.id }, 'payout dispatch failed');
        }
      }
      return changed;
    },
  };
}
