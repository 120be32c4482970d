// Loyalty: merchants' earn rules, and points as a ledger asset. Points are earned in the same group
// commit as the payment that earns them (payments asks `earnFor` for the linked transfer), clawed back
// in the refund's group commit (`clawbackFor`), and expired by correcting transfers (`expirePoints`).
import { ledgerId } from '../api/ids.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import type { CustomerService, Scope } from '../customers/service.ts';
import type { TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Payment } from '../payments/model.ts';
import type { Database } from '../store/database.ts';
import { LOYALTY_TRANSFER_CODES, POINTS_ASSET, type LoyaltyProgram, type LoyaltyProgramInput, type PointsBalance } from './model.ts';
import * as store from './store.ts';

/** Lots shown as upcoming expiries. */
const UPCOMING_EXPIRIES_MAX = 10;
/** Every payment asks for its merchant's program: it is cached this long (a PUT in this process
 * replaces it at once; other processes see it within this time). */
const PROGRAM_CACHE_MS = 5000;
const PROGRAM_CACHE_SIZE_MAX = 10_000;

export type LoyaltyResult<T> = { ok: true; value: T } | { ok: false; code: ApiErrorCode; param?: string; message?: string };

export interface PointsMovement {
  transfers: TransferInput[];
  writes: UnitWrite[];
}

export interface LoyaltyService {
  getProgram(scope: Scope): Promise<LoyaltyProgram | null>;
  putProgram(scope: Scope, input: LoyaltyProgramInput): Promise<LoyaltyResult<LoyaltyProgram>>;
  /** The points transfer (and its lot) for `payment` succeeding with `amountCaptured`; null when it earns none. */
  earnFor(payment: Payment, amountCaptured: bigint): Promise<PointsMovement | null>;
  /** The claw-back of the points `payment` earned, in proportion to `refundAmount` (floored), never more
   * than the buyer still holds; null when there is nothing to claw back. */
  clawbackFor(refund: { id: string; amount: bigint }, payment: Payment): Promise<PointsMovement | null>;
  balanceOfCustomer(scope: Scope, customerId: string): Promise<PointsBalance | null>;
  balanceOfBuyer(scope: Scope, buyerId: string): Promise<PointsBalance>;
  /** Expires due points of up to `limit` accounts by correcting transfers; returns how many it wrote. */
  expirePoints(now: Date, limit: number): Promise<number>;
}

export interface LoyaltyDependencies {
  db: Database;
  ledger: LedgerService;
  customers: CustomerService;
}

const modeOf = (livemode: boolean) => (livemode ? 'live' : 'test');

export function issuanceAccountId(merchantId: string, livemode: boolean): string {
  return ledgerId(`loyalty:issuance:${merchantId}:${modeOf(livemode)}`);
}

export function pointsAccountId(merchantId: string, buyerId: string, livemode: boolean): string {
  return ledgerId(`loyalty:points:${merchantId}:${buyerId}:${modeOf(livemode)}`);
}

export function createLoyaltyService(deps: LoyaltyDependencies): LoyaltyService {
  const { db, ledger } = deps;
  const opened = new Set<string>();
  const programs = new Map<string, { program: LoyaltyProgram | null; readAtMs: number }>();

  async function programOf(merchantId: string, livemode: boolean): Promise<LoyaltyProgram | null> {
    const key = `${merchantId}:${livemode}`;
    const cached = programs.get(key);
    if (cached && Date.now() - cached.readAtMs < PROGRAM_CACHE_MS) return cached.program;
    const program = await store.getProgram(db, merchantId, livemode);
    if (programs.size >= PROGRAM_CACHE_SIZE_MAX) programs.clear();
    programs.set(key, { program, readAtMs: Date.now() });
    return program;
  }

  async function ensureAccounts(merchantId: string, buyerId: string, livemode: boolean): Promise<{ issuance: string; points: string }> {
    const issuance = issuanceAccountId(merchantId, livemode);
    const points = pointsAccountId(merchantId, buyerId, livemode);
    const missing = [issuance, points].filter((id) => !opened.has(id));
    if (missing.length > 0) {
      const results = await ledger.createAccounts([
        { id: issuance, asset: POINTS_ASSET, kind: 'points_issuance', metadata: { role: 'points_issuance', owner: merchantId, livemode } },
        // The buyer's points can never go below zero.
        { id: points, asset: POINTS_ASSET, kind: 'points', flags: { debitsMustNotExceedCredits: true }, metadata: { role: 'points', owner: buyerId, merchant: merchantId, livemode } },
      ]);
      for (const result of results) {
        if (result.result !== 'created' && result.result !== 'exists') throw new Error(`loyalty account ${result.id} could not be opened: ${result.result}`);
        opened.add(result.id);
      }
    }
    return { issuance, points };
  }

  function pointsEarned(program: LoyaltyProgram, payment: Payment, amountCaptured: bigint): bigint {
    // Weighted amount in hundredths: each line at its category's multiplier (1 by default).
    let weighted = payment.lineItems.length === 0 ? payment.amount * 100n : 0n;
    for (const item of payment.lineItems) {
      weighted += item.unitAmount * BigInt(item.quantity) * BigInt(program.bonusCategories[item.category] ?? 100);
    }
    if (amountCaptured < payment.amount) weighted = (weighted * amountCaptured) / payment.amount;
    return (weighted * program.points) / (program.perAmount * 100n);
  }

  async function balanceOf(accountId: string, now: Date): Promise<PointsBalance> {
    const [account, lots] = await Promise.all([ledger.getAccount(accountId), store.lotsOf(db, accountId)]);
    if (!account) return { balance: 0n, upcomingExpiries: [] };
    const balance = account.creditsPosted - account.debitsPosted;
    // FIFO: everything the account gave (spent, clawed back, expired) consumed the oldest lots first.
    let consumed = account.debitsPosted + account.debitsPending;
    const upcomingExpiries: PointsBalance['upcomingExpiries'] = [];
    for (const lot of lots) {
      const used = consumed < lot.points ? consumed : lot.points;
      consumed -= used;
      const left = lot.points - used;
      if (left === 0n || lot.expiresAt === null || lot.expiresAt <= now) continue;
      upcomingExpiries.push({ points: left, expiresAt: lot.expiresAt });
      if (upcomingExpiries.length >= UPCOMING_EXPIRIES_MAX) break;
    }
    return { balance, upcomingExpiries };
  }

  return {
    getProgram: (scope) => store.getProgram(db, scope.merchantId, scope.livemode),

    async putProgram(scope, input) {
      const exponent = (await ledger.listAssets()).find((asset) => asset.code === input.currency && asset.kind === 'currency');
      if (!exponent) return { ok: false, code: 'currency_unsupported', param: 'earn[currency]', message: `Currency ${input.currency} is not supported.` };
      const program = await store.putProgram(db, scope.merchantId, scope.livemode, input);
      programs.set(`${scope.merchantId}:${scope.livemode}`, { program, readAtMs: Date.now() });
      return { ok: true, value: program };
    },

    async earnFor(payment, amountCaptured) {
      if (payment.buyerId === null) return null;
      const program = await programOf(payment.merchantId, payment.livemode);
      if (!program || !program.enabled || program.currency !== payment.currency) return null;
      const points = pointsEarned(program, payment, amountCaptured);
      if (points <= 0n) return null;
      const accounts = await ensureAccounts(payment.merchantId, payment.buyerId, payment.livemode);
      const transferId = ledgerId(`${payment.id}:points_earn`);
      const row: store.EarningRow = {
        transfer_id: transferId,
        account_id: accounts.points,
        merchant_id: payment.merchantId,
        livemode: payment.livemode,
        buyer_id: payment.buyerId,
        payment_id: payment.id,
        points: points.toString(),
        expiry_days: program.expiryDays,
      };
      return {
        transfers: [{ id: transferId, debitAccountId: accounts.issuance, creditAccountId: accounts.points, amount: points, asset: POINTS_ASSET, code: LOYALTY_TRANSFER_CODES.earn, metadata: { payment: payment.id } }],
        writes: [{ writer: store.LOYALTY_EARNINGS_WRITER, row }],
      };
    },

    async clawbackFor(refund, payment) {
      if (payment.buyerId === null || payment.amountCaptured <= 0n) return null;
      const earned = await store.earnedBy(db, payment.id);
      if (earned === 0n) return null;
      const after = payment.amountRefunded + refund.amount;
      const wanted = (earned * after) / payment.amountCaptured - (earned * payment.amountRefunded) / payment.amountCaptured;
      if (wanted <= 0n) return null;
      const accounts = await ensureAccounts(payment.merchantId, payment.buyerId, payment.livemode);
      const available = (await ledger.getBalance(accounts.points))?.available ?? 0n;
      const clawed = wanted < available ? wanted : available > 0n ? available : 0n;
      const row: store.ClawbackRow = { refund_id: refund.id, payment_id: payment.id, account_id: accounts.points, wanted: wanted.toString(), clawed: clawed.toString() };
      const writes = [{ writer: store.LOYALTY_CLAWBACKS_WRITER, row }];
      if (clawed === 0n) return { transfers: [], writes };
      const transfer: TransferInput = {
        id: ledgerId(`${refund.id}:points_clawback`),
        debitAccountId: accounts.points,
        creditAccountId: accounts.issuance,
        amount: clawed,
        asset: POINTS_ASSET,
        code: LOYALTY_TRANSFER_CODES.clawback,
        metadata: { refund: refund.id, payment: payment.id, wanted: wanted.toString() },
      };
      return { transfers: [transfer], writes };
    },

    async balanceOfCustomer(scope, customerId) {
      const customer = await deps.customers.get(scope, customerId);
      if (!customer) return null;
      return balanceOf(pointsAccountId(scope.merchantId, customer.buyerId, scope.livemode), new Date());
    },

    balanceOfBuyer: (scope, buyerId) => balanceOf(pointsAccountId(scope.merchantId, buyerId, scope.livemode), new Date()),

    async expirePoints(now, limit) {
      const due = await store.dueExpiries(db, now, limit);
      if (due.length === 0) return 0;
      const accounts = await ledger.getBalances(due.map((entry) => entry.accountId));
      const transfers: TransferInput[] = [];
      for (const entry of due) {
        const account = await ledger.getAccount(entry.accountId);
        const balance = accounts.find((candidate) => candidate.accountId === entry.accountId);
        if (!account || !balance) continue;
        const given = account.debitsPosted + account.debitsPending;
        const over = entry.due - given;
        const amount = over < balance.available ? over : balance.available;
        if (amount <= 0n) continue;
        const issuance = (account.metadata as { merchant?: string; livemode?: boolean } | null) ?? {};
        if (typeof issuance.merchant !== 'string' || typeof issuance.livemode !== 'boolean') continue;
        transfers.push({
          // Derived from what it corrects: two workers expiring the same state write it once.
          id: ledgerId(`${entry.accountId}:points_expiry:${entry.due}:${given}`),
          debitAccountId: entry.accountId,
          creditAccountId: issuanceAccountId(issuance.merchant, issuance.livemode),
          amount,
          asset: POINTS_ASSET,
          code: LOYALTY_TRANSFER_CODES.expiry,
          metadata: { expired_through: now.toISOString() },
        });
      }
      if (transfers.length === 0) return 0;
      const results = await ledger.createTransfers(transfers);
      return results.filter((result) => result.result === 'created').length;
    },
  };
}
