// Payouts: a merchant's available balance leaves the platform in one bank transfer, on demand (above a
// minimum) or by schedule. Creating a payout asks the risk hook, then holds the amount in the ledger
// (merchant → payout_clearing) in the same group commit that writes the payout, its risk decision and its
// `payout.created` event, so the money cannot be spent twice. The dispatcher (dispatcher.ts) sends it to
// the bank and, when the bank answers for good, posts the hold (paid) or voids it (failed).
import type { Books } from '../books/service.ts';
import type { Scope } from '../customers/service.ts';
import type { CreateTransferResult } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Logger } from '../log/logger.ts';
import type { RiskHook } from '../risk/hook.ts';
import { reviewOpenWrite, riskDecisionWrite } from '../risk/hook.ts';
import type { Database } from '../store/database.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor } from '../api/ids.ts';
import { bankAccountProblem } from '../rails/bank.ts';
import { createPayoutDispatcher } from './dispatcher.ts';
import { payoutAccounts, payoutEvent, holdTransfer, voidTransfer } from './moves.ts';
import { type Destination, type Payout, type PayoutSchedule, type PayoutSettings } from './model.ts';
import type { BankRails } from './rails.ts';
import { nextRunAfter, periodOf } from './schedule.ts';
import * as store from './store.ts';
import type { FieldSealer } from '../vault/fields.ts';

export interface PayoutInput {
  /** Minor units; the whole available balance when absent. */
  amount?: bigint;
  currency: string;
  description?: string | null;
  metadata?: Record<string, string> | null;
}

export interface PayoutSettingsInput {
  bankAccount?: { number: string; holderName: string };
  schedule?: PayoutSchedule;
  weeklyAnchor?: number;
  minimumAmounts?: Record<string, bigint>;
}

export type PayoutResult = { ok: true; payout: Payout } | { ok: false; code: ApiErrorCode; param?: string; message?: string; payout?: Payout };

export type PayoutSettingsView = { settings: PayoutSettings; minimums: Record<string, bigint> };
export type PayoutSettingsResult = ({ ok: true } & PayoutSettingsView) | { ok: false; code: ApiErrorCode; param?: string; message?: string };

export interface PayoutService {
  settings(scope: Scope): Promise<PayoutSettingsView>;
  updateSettings(scope: Scope, input: PayoutSettingsInput): Promise<PayoutSettingsResult>;
  create(scope: Scope, input: PayoutInput, idSeed?: string): Promise<PayoutResult>;
  get(scope: Scope, id: string): Promise<Payout | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string; status?: string; currency?: string }): Promise<{ data: Payout[]; hasMore: boolean }>;
  /** Creates the payouts of the scheduled runs due at `asOf` (default now); returns how many it created. */
  runSchedule(options?: { asOf?: Date; merchantsMax?: number }): Promise<number>;
  /** Submits pending payouts to the bank and polls those in transit; returns how many changed state. */
  dispatch(payoutsMax: number): Promise<number>;
  /** Settles a payout the risk engine held for review: approve releases it to the bank, reject voids
   * its hold (the balance is the merchant's again) and fails it. `writes` (the review's decision and
   * label) commit with it, only when the payout followed them. */
  settleReview(id: string, approve: boolean, writes: UnitWrite[]): Promise<PayoutResult>;
  /** Stops the in-process sandbox bank if one was started. */
  close(): Promise<void>;
}

export interface PayoutDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  risk: RiskHook;
  rails: BankRails;
  /** The installation's minimum payout per currency (minor units); merchants may only raise it. */
  minimumDefaults: Record<string, bigint>;
  /** How long to wait before asking the bank again about a payout in transit. */
  pollIntervalMs: number;
  logger?: Logger;
  /** Seals bank account numbers at rest. */
  sealer: FieldSealer;
}

/** A currency without a configured default has a minimum of ten major units (USD 10.00 is 1000). */
const FALLBACK_MINIMUM_MAJOR_UNITS = 10n;
const SCHEDULE_MERCHANTS_MAX = 100;
/** Long enough for one scheduler pass over a claimed batch; a crashed scheduler's claim lapses after it. */
const SCHEDULE_LEASE_SECONDS = 120;

export function createPayoutService(deps: PayoutDependencies): PayoutService {
  const { db, ledger, books } = deps;

  async function minimumOf(currency: string, settings: PayoutSettings | null): Promise<bigint> {
    const own = settings?.minimumAmounts[currency];
    if (own !== undefined) return own;
    return deps.minimumDefaults[currency] ?? FALLBACK_MINIMUM_MAJOR_UNITS * 10n ** BigInt((await books.exponentOf(currency)) ?? 2);
  }

  async function view(scope: Scope, settings: PayoutSettings | null): Promise<PayoutSettingsView> {
    const shown = settings ?? { ...scope, bankAccount: null, schedule: 'daily', weeklyAnchor: 1, minimumAmounts: {}, nextRunAt: null, updatedAt: null };
    const minimums: Record<string, bigint> = {};
    for (const currency of await books.currencies()) minimums[currency] = await minimumOf(currency, settings);
    return { settings: shown, minimums };
  }

  async function get(scope: Scope, id: string): Promise<Payout | null> {
    const payout = await store.getPayout(db, deps.sealer, id);
    if (!payout || payout.merchantId !== scope.merchantId || payout.livemode !== scope.livemode) return null;
    return payout;
  }

  /** The answer of the run that created `payout`, for the state it is in now: a payout refused by risk
   * at its creation (failed, never changed since: every later change raises its version) is that
   * refusal again; any other payout is the answer as it is. */
  function answerFor(payout: Payout): PayoutResult {
    if (payout.status === 'failed' && payout.failureCode === 'payout_blocked' && payout.version === 0) {
      return { ok: false, code: 'payout_blocked', message: payout.failureMessage ?? undefined, payout };
    }
    return { ok: true, payout };
  }

  /** Asks the risk hook, then holds the money and writes the payout; `draft` is the payout to create.
   * `created`: whether this call wrote the payout (false when an earlier run had written it). */
  async function open(draft: Payout): Promise<{ result: PayoutResult; created: boolean }> {
    const decision = await deps.risk.score({
      action: 'payout',
      merchantId: draft.merchantId,
      livemode: draft.livemode,
      subjectType: 'payout',
      subjectId: draft.id,
      buyerId: null,
      amount: draft.amount,
      currency: draft.currency,
      categories: [],
    });
    await books.ensure(Object.values(payoutAccounts(books, draft)));
    const payout: Payout = { ...draft, riskDecisionId: decision.id };
    // A payout in review holds the money like any payout but waits (no next attempt) until an operator
    // approves it; anything else but allow refuses it.
    const inReview = decision.decision === 'review';
    const allowed = decision.decision === 'allow' || inReview;
    const held: Payout = inReview ? { ...payout, nextAttemptAt: null } : payout;
    const decisionWrites = [riskDecisionWrite(decision), ...(inReview ? [reviewOpenWrite(decision)] : [])];
    let outcome: OpenOutcome;
    let taken = false;
    try {
      outcome = await ledger.commit({
        transfers: allowed ? [holdTransfer(books, held)] : [],
        finish: (results: CreateTransferResult[]) => finishOpen(held, allowed, results, decisionWrites),
      });
    } catch (error) {
      // The payout's id (or its scheduled run) was written by an earlier run while this one decided,
      // perhaps otherwise (a hold where it refused, or the reverse): nothing of this run committed.
      if (!(error instanceof store.PayoutExistsError)) throw error;
      outcome = { kind: 'not_created' };
      taken = true;
    }
    if (outcome.kind === 'created') {
      const result: PayoutResult = outcome.error
        ? { ok: false, code: outcome.error, message: outcome.payout.failureMessage ?? undefined, payout: outcome.payout }
        : { ok: true, payout: outcome.payout };
      return { result, created: true };
    }
    // The hold is there already (a retried request or a second scheduler), or its id was taken with
    // another amount by an earlier attempt: the payout of that attempt is the answer.
    const stored = await get({ merchantId: draft.merchantId, livemode: draft.livemode }, payout.id);
    if (stored) return { result: answerFor(stored), created: false };
    if (taken) return { result: { ok: false, code: 'concurrent_modification', message: 'Another request created a payout with this id; retry.' }, created: false };
    return { result: { ok: false, code: 'insufficient_funds', param: 'amount', message: `The available balance is less than ${payout.amount} ${payout.currency}.` }, created: false };
  }

  type OpenOutcome = { kind: 'created'; payout: Payout; error?: ApiErrorCode } | { kind: 'not_created' };

  function finishOpen(payout: Payout, allowed: boolean, results: CreateTransferResult[], decisionWrites: UnitWrite[]) {
    const result = results[0]?.result;
    if (allowed && result !== 'created') return { value: { kind: 'not_created' } as OpenOutcome, writes: [] };
    const written: Payout = allowed
      ? payout
      : { ...payout, status: 'failed', failureCode: 'payout_blocked',
          // The merchant sees this: the decision's reasons (a rule's source, a model score) stay in
          // risk_decisions, which only the operator reads, so that nobody can probe the rules.
          failureMessage: 'Refused by risk controls. Contact support if you think this is a mistake.', nextAttemptAt: null };
    const events = allowed ? (['payout.created'] as const) : (['payout.created', 'payout.failed'] as const);
    const writes: UnitWrite[] = [store.payoutInsertWrite(deps.sealer, written), ...decisionWrites, ...events.map((type) => payoutEvent(written, type))];
    return { value: { kind: 'created', payout: written, error: allowed ? undefined : 'payout_blocked' } as OpenOutcome, writes };
  }

  function draftOf(scope: Scope, id: string, amount: bigint, currency: string, destination: Destination, extra: Partial<Payout>): Payout {
    const now = new Date();
    return {
      id,
      merchantId: scope.merchantId,
      livemode: scope.livemode,
      amount,
      currency,
      status: 'pending',
      automatic: false,
      period: null,
      description: null,
      destination,
      bankReference: null,
      bankReasonCode: null,
      failureCode: null,
      failureMessage: null,
      riskDecisionId: null,
      metadata: null,
      nextAttemptAt: now,
      submitAttempts: 0,
      paidAt: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
      ...extra,
    };
  }

  async function availableOf(scope: Scope, currency: string): Promise<bigint> {
    const balance = await books.balanceIfOpen(books.account('merchant', scope.merchantId, scope.livemode, currency));
    return balance?.available ?? 0n;
  }

  const dispatcher = createPayoutDispatcher({ db, ledger, books, sealer: deps.sealer, rails: deps.rails, pollIntervalMs: deps.pollIntervalMs, logger: deps.logger });

  async function scheduledRun(settings: PayoutSettings): Promise<number> {
    const scope = { merchantId: settings.merchantId, livemode: settings.livemode };
    const period = periodOf(settings.nextRunAt!);
    let created = 0;
    if (settings.bankAccount && deps.rails.available(settings.livemode)) {
      for (const currency of await books.currencies()) {
        const available = await availableOf(scope, currency);
        if (available <= 0n || available < (await minimumOf(currency, settings))) continue;
        // The id is named after the run, so two schedulers paying the same run land on the same payout.
        const id = idFor('po', `schedule:${scope.merchantId}:${scope.livemode}:${currency}:${period}`);
        if (await store.getPayout(db, deps.sealer, id)) continue;
        const opened = await open(draftOf(scope, id, available, currency, settings.bankAccount, { automatic: true, period }));
        if (opened.created && opened.result.ok) created += 1;
      }
    }
    await store.finishRun(db, settings, nextRunAfter(settings.schedule, settings.weeklyAnchor, new Date(Math.max(Date.now(), settings.nextRunAt!.getTime()))));
    return created;
  }

  return {
    async settings(scope) {
      return view(scope, await store.getSettings(db, deps.sealer, scope));
    },

    async updateSettings(scope, input) {
      const current = await store.getSettings(db, deps.sealer, scope);
      let bankAccount = current?.bankAccount ?? null;
      if (input.bankAccount) {
        const number = input.bankAccount.number.replace(/[\s-]/g, '').toUpperCase();
        const type = /^[A-Z]{2}/.test(number) ? 'iban' : 'account_number';
        const problem = bankAccountProblem({ type, number });
        if (problem) return { ok: false, code: 'parameter_invalid', param: 'bank_account.account_number', message: `Invalid bank account: ${problem}.` };
        bankAccount = { type, number, holderName: input.bankAccount.holderName };
      }
      const minimumAmounts = { ...current?.minimumAmounts };
      for (const [currency, amount] of Object.entries(input.minimumAmounts ?? {})) {
        if (!(await books.isCurrency(currency))) return { ok: false, code: 'currency_unsupported', param: `minimum_amounts.${currency}`, message: `Currency ${currency} is not supported.` };
        const floor = await minimumOf(currency, null);
        if (amount < floor) return { ok: false, code: 'parameter_invalid', param: `minimum_amounts.${currency}`, message: `The minimum payout in ${currency} is at least ${floor} on this installation.` };
        minimumAmounts[currency] = amount;
      }
      const schedule = input.schedule ?? current?.schedule ?? 'daily';
      const weeklyAnchor = input.weeklyAnchor ?? current?.weeklyAnchor ?? 1;
      const unchanged = current?.nextRunAt && current.schedule === schedule && current.weeklyAnchor === weeklyAnchor;
      const nextRunAt = !bankAccount ? null : unchanged ? current.nextRunAt : nextRunAfter(schedule, weeklyAnchor, new Date());
      const saved = await store.saveSettings(db, deps.sealer, { ...scope, bankAccount, schedule, weeklyAnchor, minimumAmounts, nextRunAt, updatedAt: null });
      return { ok: true, ...(await view(scope, saved)) };
    },

    async create(scope, input, idSeed) {
      const id = idFor('po', idSeed);
      // A keyed request run again (its first run ended without an answer) lands on the first run's
      // payout: that payout is the answer, as it is now. Balance and risk are not decided again, so a
      // rerun that would decide otherwise cannot commit a second outcome next to the first.
      if (idSeed !== undefined) {
        const existing = await get(scope, id);
        if (existing) return answerFor(existing);
      }
      if (!(await books.isCurrency(input.currency))) return { ok: false, code: 'currency_unsupported', param: 'currency', message: `Currency ${input.currency} is not supported.` };
      const settings = await store.getSettings(db, deps.sealer, scope);
      if (!settings?.bankAccount) return { ok: false, code: 'bank_account_missing', message: 'Set a bank account with POST /v1/payout_settings before paying out.' };
      if (!deps.rails.available(scope.livemode)) return { ok: false, code: 'payouts_unavailable' };
      const available = await availableOf(scope, input.currency);
      const minimum = await minimumOf(input.currency, settings);
      const amount = input.amount ?? available;
      if (amount < minimum) {
        const what = input.amount === undefined ? `The available balance (${available})` : `The amount ${amount}`;
        return { ok: false, code: 'amount_too_small', param: 'amount', message: `${what} is below the minimum payout of ${minimum} ${input.currency}.` };
      }
      if (amount > available) {
        return { ok: false, code: 'insufficient_funds', param: 'amount', message: `The available balance is ${available} ${input.currency}; the payout asks for ${amount}.` };
      }
      const draft = draftOf(scope, id, amount, input.currency, settings.bankAccount, {
        description: input.description ?? null,
        metadata: input.metadata ?? null,
      });
      return (await open(draft)).result;
    },

    get,
    list: (scope, options) => store.listPayouts(db, deps.sealer, scope, options),

    async runSchedule(options = {}) {
      const claimed = await store.claimDueSettings(db, deps.sealer, options.asOf ?? new Date(), SCHEDULE_LEASE_SECONDS, options.merchantsMax ?? SCHEDULE_MERCHANTS_MAX);
      let created = 0;
      for (const settings of claimed) {
        try {
          created += await scheduledRun(settings);
        } catch (error) {
          // One merchant's failure must not stop the others; its claim lapses and the run is retried.
          deps.logger?.error({ err: error, merchant: settings.merchantId }, 'scheduled payout run failed');
        }
      }
      return created;
    },

    dispatch: (payoutsMax) => dispatcher.dispatch(payoutsMax),
    async settleReview(id, approve, writes) {
      const payout = await store.getPayout(db, deps.sealer, id);
      if (!payout) return { ok: false, code: 'resource_missing', param: 'id', message: `No such payout: ${id}.` };
      if (payout.status !== 'pending' || payout.nextAttemptAt !== null) {
        return { ok: false, code: 'review_unexpected_state', message: `The payout is ${payout.status} and not held for review.`, payout };
      }
      const next: Payout = approve
        ? { ...payout, nextAttemptAt: new Date() }
        : { ...payout, status: 'failed', failureCode: 'payout_blocked', failureMessage: 'Refused after a risk review.' };
      const shown = { ...next, version: payout.version + 1 };
      const outcome = await ledger
        .commit({
          transfers: approve ? [] : [voidTransfer(payout)],
          finish: (results: CreateTransferResult[]) => {
            const moved = results.every((result) => result.result === 'created' || result.result === 'exists');
            if (!moved) return { value: false, writes: [] };
            return { value: true, writes: [store.payoutUpdateWrite(next, null), ...writes, ...(approve ? [] : [payoutEvent(shown, 'payout.failed')])] };
          },
        })
        .catch((error: unknown) => {
          if (error instanceof store.PayoutChangedError) return null;
          throw error;
        });
      if (outcome === null) return { ok: false, code: 'concurrent_modification', message: 'The payout changed while the review was being decided.' };
      if (!outcome) return { ok: false, code: 'review_unexpected_state', message: 'The ledger refused to release the payout hold.', payout };
      return { ok: true, payout: shown };
    },

    close: () => deps.rails.close(),
  };
}
