// Loyalty: merchants' earn rules, and points as a ledger asset. Points are earned in the same group
// commit as the payment that earns them (payments asks `earnFor` for the linked transfer), clawed back
// in the refund's group commit (`clawbackFor`), and expired by correcting transfers (`expirePoints`).
import { ledgerId } from '../api/ids.ts';
import { pointsAccountOf, pointsIssuanceAccountOf, type Books } from '../books/service.ts';
import type { ApiErrorCode } from '../api/errors.ts';
import type { CustomerService, Scope } from '../customers/service.ts';
import type { TransferInput } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { Payment } from '../payments/model.ts';
import type { Database } from '../store/database.ts';
import { LOYALTY_TRANSFER_CODES, POINTS_ASSET, type LoyaltyProgram, type LoyaltyProgramInput, type PointsBalance, type RedemptionTerms } from './model.ts';
import * as store from './store.ts';
import { badgeId, badgeJson, badgeRevocationWrite, badgesEarned, badgeWrite, STREAK_DAYS_MAX, type Badge } from './badges.ts';
import { eventWrite } from '../events/outbox.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { LoyaltyRiskFacts } from '../risk/model.ts';

export type BadgeJson = ReturnType<typeof badgeJson>;
type TakenBack = Awaited<ReturnType<typeof store.takenBackState>>;
const DAY_MS = 24 * 3600 * 1000;
/** The period of the farming facts given to the risk engine. */
const RISK_PERIOD_DAYS = 30;

/** Lots shown as upcoming expiries. */
const UPCOMING_EXPIRIES_MAX = 10;
/** Every payment asks for its merchant's program: it is cached this long (a PUT in this process
 * replaces it at once; other processes see it within this time). */
const PROGRAM_CACHE_MS = 5000;
const PROGRAM_CACHE_SIZE_MAX = 10_000;

export type LoyaltyResult<T> = { ok: true; value: T } | { ok: false; code: ApiErrorCode; param?: string; message?: string };

export interface RedemptionQuote {
  balance: bigint;
  spendable: bigint;
  valuePerPoint: bigint;
  minimumPoints: bigint;
  /** The most points this payment can take: its share limit and the buyer's spendable points. */
  maxPoints: bigint;
}

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
  /** What the buyer could spend on `payment` at the checkout; null when its merchant's program does not
   * redeem points in its currency (or it is captured manually). */
  redemptionQuote(payment: Payment, buyerId: string): Promise<RedemptionQuote | null>;
  /** Checks spending `points` on `payment` and answers what they are worth in its currency. */
  redemptionFor(payment: Payment, buyerId: string, points: bigint): Promise<LoyaltyResult<{ amountInPoints: bigint }>>;
  /** The transfer spending `payment.pointsRedeemed` (a hold with `timeoutSeconds` while the payment is
   * in review), to link with the payment's own transfers. */
  redeemTransfer(payment: Payment, hold: { timeoutSeconds: number } | null): TransferInput;
  /** The write that checks, inside the commit spending `payment`'s points, that no held or owed points
   * were spent (store.guardSpends); it fails the commit with `points_insufficient` otherwise. */
  spendGuardWrite(payment: Payment): UnitWrite;
  balanceOfCustomer(scope: Scope, customerId: string): Promise<PointsBalance | null>;
  balanceOfBuyer(scope: Scope, buyerId: string): Promise<PointsBalance>;
  /** The buyer's badges within a reach: at one merchant, or (merchantId null, the wallet key) at every merchant; newest first (their own view). */
  badgesOfBuyer(reach: { livemode: boolean; merchantId: string | null }, buyerId: string, limit: number): Promise<{ data: BadgeJson[]; hasMore: boolean }>;
  /** A customer's badges at this merchant; null when the customer is not the merchant's. */
  badgesOfCustomer(scope: Scope, customerId: string, limit: number): Promise<{ data: BadgeJson[]; hasMore: boolean } | null>;
  /** Farming facts for the risk engine about the buyer of `payment` at its merchant; null when the
   * merchant runs no enabled program (nothing to farm) or the payment has no buyer yet. */
  riskFacts(payment: Payment): Promise<LoyaltyRiskFacts | null>;
  /** Expires due points of up to `limit` accounts by correcting transfers; returns how many it wrote. */
  expirePoints(now: Date, limit: number): Promise<number>;
}

export interface LoyaltyDependencies {
  db: Database;
  ledger: LedgerService;
  books: Books;
  customers: CustomerService;
  merchants: Pick<MerchantService, 'get'>;
}

export function issuanceAccountId(merchantId: string, livemode: boolean): string {
  return pointsIssuanceAccountOf(merchantId, livemode).id;
}

export function pointsAccountId(merchantId: string, buyerId: string, livemode: boolean): string {
  return pointsAccountOf(merchantId, buyerId, livemode).id;
}

export function createLoyaltyService(deps: LoyaltyDependencies): LoyaltyService {
  const { db, ledger, books } = deps;
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

  /** The points accounts of a buyer in a merchant's program, opened through the books on first use. */
  async function ensureAccounts(merchantId: string, buyerId: string, livemode: boolean): Promise<{ issuance: string; points: string }> {
    const issuance = books.pointsIssuanceAccount(merchantId, livemode);
    const points = books.pointsAccount(merchantId, buyerId, livemode);
    await books.ensure([issuance, points]);
    return { issuance: issuance.id, points: points.id };
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
    if (!account) return { balance: 0n, spendable: 0n, held: 0n, upcomingExpiries: [] };
    const balance = account.creditsPosted - account.debitsPosted;
    const spendable = await spendableOf(accountId, account.creditsPosted - account.debitsPosted - account.debitsPending, now);
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
    return { balance, spendable: spendable.spendable, held: spendable.held, upcomingExpiries };
  }

  /** `available` less points still held and the claw-back shortfall owed, never below zero. */
  async function spendableOf(accountId: string, available: bigint, now: Date): Promise<{ spendable: bigint; held: bigint }> {
    const locked = await store.lockedPoints(db, accountId, now);
    const spendable = available - locked.held - locked.owed;
    return { spendable: spendable > 0n ? spendable : 0n, held: locked.held };
  }

  /** The most points worth at most `maxSharePercent` of `amount`. */
  function shareLimit(terms: RedemptionTerms, value: bigint, amount: bigint): bigint {
    return (amount * BigInt(terms.maxSharePercent)) / 100n / value;
  }

  async function quote(payment: Payment, buyerId: string): Promise<(RedemptionQuote & { terms: RedemptionTerms }) | null> {
    if (payment.captureMethod === 'manual') return null;
    const program = await programOf(payment.merchantId, payment.livemode);
    const terms = program?.enabled ? program.redemption : null;
    const value = terms?.valuePerPoint[payment.currency];
    if (!terms || value === undefined) return null;
    const accountId = pointsAccountId(payment.merchantId, buyerId, payment.livemode);
    const account = await ledger.getAccount(accountId);
    const available = account ? account.creditsPosted - account.debitsPosted - account.debitsPending : 0n;
    const { spendable } = account ? await spendableOf(accountId, available, new Date()) : { spendable: 0n };
    const limit = shareLimit(terms, value, payment.amount);
    const maxPoints = spendable < limit ? spendable : limit;
    return { balance: account ? account.creditsPosted - account.debitsPosted : 0n, spendable, valuePerPoint: value, minimumPoints: terms.minimumPoints, maxPoints, terms };
  }

  async function earnMovement(payment: Payment, buyerId: string, amountCaptured: bigint): Promise<PointsMovement | null> {
    const program = await programOf(payment.merchantId, payment.livemode);
    if (!program || !program.enabled || program.currency !== payment.currency) return null;
    const points = pointsEarned(program, payment, amountCaptured);
    if (points <= 0n) return null;
    // Self-dealing never earns: the merchant's own staff paying the merchant (docs/loyalty.md).
    if (await store.isMerchantStaff(db, buyerId, payment.merchantId)) return null;
    const accounts = await ensureAccounts(payment.merchantId, buyerId, payment.livemode);
    const transferId = ledgerId(`${payment.id}:points_earn`);
    const row: store.EarningRow = {
      transfer_id: transferId,
      account_id: accounts.points,
      merchant_id: payment.merchantId,
      livemode: payment.livemode,
      buyer_id: buyerId,
      payment_id: payment.id,
      points: points.toString(),
      expiry_days: program.expiryDays,
      hold_days: program.holdDays,
      kind: 'earn',
    };
    return {
      transfers: [{ id: transferId, debitAccountId: accounts.issuance, creditAccountId: accounts.points, amount: points, asset: POINTS_ASSET, code: LOYALTY_TRANSFER_CODES.earn, metadata: { payment: payment.id } }],
      writes: [{ writer: store.LOYALTY_EARNINGS_WRITER, row }],
    };
  }

  /** The claw-back of what `payment` earned, so that its claw-backs together have wanted
   * floor(earned × taken back / captured) once `refund` is taken back too (`after`: the money taken back
   * by every refund and a lost dispute, this one included), less what of it already expired: expired
   * points went back to the issuance account, so they are neither taken back again nor owed. */
  async function clawbackMovement(refund: { id: string; amount: bigint }, payment: Payment, buyerId: string, state: TakenBack, after: bigint): Promise<PointsMovement | null> {
    if (state.earned === 0n) return null;
    const wanted = (state.earned * after) / payment.amountCaptured - state.expired - state.clawbackWanted;
    if (wanted <= 0n) return null;
    const accounts = await ensureAccounts(payment.merchantId, buyerId, payment.livemode);
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
  }

  /** The points `payment` spent, given back in proportion to the money taken back (`after`, as above;
   * floored over everything taken back so far, never more than is left to give back): a new lot, which
   * expires like earned points. */
  async function returnMovement(refund: { id: string; amount: bigint }, payment: Payment, buyerId: string, state: TakenBack, after: bigint): Promise<PointsMovement | null> {
    if (payment.pointsRedeemed <= 0n) return null;
    const redeemed = payment.pointsRedeemed;
    const wanted = (redeemed * after) / payment.amountCaptured - state.returned;
    const left = redeemed - state.returned;
    const points = wanted < left ? wanted : left;
    if (points <= 0n) return null;
    const accounts = await ensureAccounts(payment.merchantId, buyerId, payment.livemode);
    const program = await programOf(payment.merchantId, payment.livemode);
    const transferId = ledgerId(`${refund.id}:points_return`);
    const row: store.EarningRow = {
      transfer_id: transferId,
      account_id: accounts.points,
      merchant_id: payment.merchantId,
      livemode: payment.livemode,
      buyer_id: buyerId,
      payment_id: payment.id,
      points: points.toString(),
      expiry_days: program?.expiryDays ?? null,
      hold_days: 0,
      kind: 'return',
    };
    return {
      transfers: [{ id: transferId, debitAccountId: accounts.issuance, creditAccountId: accounts.points, amount: points, asset: POINTS_ASSET, code: LOYALTY_TRANSFER_CODES.redeem_return, metadata: { refund: refund.id, payment: payment.id } }],
      writes: [{ writer: store.LOYALTY_EARNINGS_WRITER, row }],
    };
  }

  /** The badges `payment` earns (rows and their `loyalty.badge_awarded` events), decided from the
   * buyer's badges and purchase days as read now; the unique key settles a race. */
  async function badgeWrites(payment: Payment, buyerId: string): Promise<UnitWrite[]> {
    const now = new Date();
    const since = new Date(now.getTime() - STREAK_DAYS_MAX * DAY_MS);
    const { held, days } = await store.badgeState(db, buyerId, payment.merchantId, payment.livemode, since);
    const codes = badgesEarned(payment, held, days, now);
    if (codes.length === 0) return [];
    const merchant = await deps.merchants.get(payment.merchantId);
    const writes: UnitWrite[] = [];
    for (const code of codes) {
      const badge: Badge = { id: badgeId(buyerId, payment.merchantId, payment.livemode, code), buyerId, merchantId: payment.merchantId, livemode: payment.livemode, code, paymentId: payment.id, earnedAt: now, revokedAt: null };
      writes.push(badgeWrite(badge));
      writes.push(
        eventWrite({
          merchantId: payment.merchantId,
          livemode: payment.livemode,
          type: 'loyalty.badge_awarded',
          object: badgeJson(badge, { id: payment.merchantId, name: merchant?.name ?? '' }, payment.customerId),
          occurrence: 'awarded',
        }),
      );
    }
    return writes;
  }

  async function badgesJson(badges: Badge[], customerId: string | null) {
    const names = new Map<string, string>();
    for (const merchantId of new Set(badges.map((badge) => badge.merchantId))) names.set(merchantId, (await deps.merchants.get(merchantId))?.name ?? '');
    return badges.map((badge) => badgeJson(badge, { id: badge.merchantId, name: names.get(badge.merchantId) ?? '' }, customerId));
  }

  return {
    getProgram: (scope) => store.getProgram(db, scope.merchantId, scope.livemode),

    async putProgram(scope, input) {
      // Points held as long as they live or longer would expire before they could ever be spent.
      if (input.expiryDays !== null && input.holdDays >= input.expiryDays) {
        return { ok: false, code: 'parameter_invalid', param: 'hold_days', message: `hold_days (${input.holdDays}) must be less than expiry_days (${input.expiryDays}): earned points would expire before they could be spent.` };
      }
      const exponent = (await ledger.listAssets()).find((asset) => asset.code === input.currency && asset.kind === 'currency');
      if (!exponent) return { ok: false, code: 'currency_unsupported', param: 'earn[currency]', message: `Currency ${input.currency} is not supported.` };
      for (const currency of Object.keys(input.redemption?.valuePerPoint ?? {})) {
        if (!(await books.isCurrency(currency))) {
          return { ok: false, code: 'currency_unsupported', param: `redemption[value_minor_per_point][${currency}]`, message: `Currency ${currency} is not supported.` };
        }
      }
      const program = await store.putProgram(db, scope.merchantId, scope.livemode, input);
      programs.set(`${scope.merchantId}:${scope.livemode}`, { program, readAtMs: Date.now() });
      return { ok: true, value: program };
    },

    async earnFor(payment, amountCaptured) {
      if (payment.buyerId === null) return null;
      // Badges, like points, belong to the merchant's loyalty program: a merchant without one (or with
      // it switched off) awards nothing and announces nothing.
      const program = await programOf(payment.merchantId, payment.livemode);
      if (!program || !program.enabled) return null;
      const [earn, badges] = await Promise.all([earnMovement(payment, payment.buyerId, amountCaptured), badgeWrites(payment, payment.buyerId)]);
      if (!earn && badges.length === 0) return null;
      return { transfers: earn?.transfers ?? [], writes: [...(earn?.writes ?? []), ...badges] };
    },

    async clawbackFor(refund, payment) {
      if (payment.buyerId === null || payment.amountCaptured <= 0n) return null;
      // Taken back before this one: the refunds, and a lost dispute, which `amountRefunded` does not count
      // (when the dispute itself is being lost, it is not lost yet: only the refunds before it count).
      const state = await store.takenBackState(db, payment.id);
      const taken = payment.amountRefunded + state.lostDispute + refund.amount;
      const after = taken < payment.amountCaptured ? taken : payment.amountCaptured;
      // A payment wholly taken back no longer qualifies for the badges it earned: they are kept, marked.
      const revocation = taken >= payment.amountCaptured ? [badgeRevocationWrite(payment.id)] : [];
      // The claw-back first: the refund service checks the first transfer after its own.
      const [clawback, returned] = await Promise.all([
        clawbackMovement(refund, payment, payment.buyerId, state, after),
        returnMovement(refund, payment, payment.buyerId, state, after),
      ]);
      if (!clawback && !returned && revocation.length === 0) return null;
      // Linked to each other (the caller links the refund's own transfers to the first): all or none.
      const transfers = [...(clawback?.transfers ?? []), ...(returned?.transfers ?? [])];
      return {
        transfers: transfers.map((transfer, index) => (index < transfers.length - 1 ? { ...transfer, linked: true } : transfer)),
        writes: [...(clawback?.writes ?? []), ...(returned?.writes ?? []), ...revocation],
      };
    },

    async redemptionQuote(payment, buyerId) {
      const found = await quote(payment, buyerId);
      if (!found) return null;
      const { terms: _terms, ...shown } = found;
      return shown;
    },

    async redemptionFor(payment, buyerId, points) {
      const param = 'points_to_redeem';
      const found = await quote(payment, buyerId);
      if (!found) return { ok: false, code: 'points_redemption_unavailable', param };
      if (points < found.minimumPoints) {
        return { ok: false, code: 'points_redemption_invalid', param, message: `points_to_redeem must be at least ${found.minimumPoints}.` };
      }
      const limit = shareLimit(found.terms, found.valuePerPoint, payment.amount);
      if (points > limit) {
        return { ok: false, code: 'points_redemption_invalid', param, message: `At most ${limit} points (${found.terms.maxSharePercent}% of the payment) can pay this payment.` };
      }
      if (points > found.spendable) {
        return { ok: false, code: 'points_insufficient', param, message: `You can spend ${found.spendable} points now; ${points} were asked.` };
      }
      await ensureAccounts(payment.merchantId, buyerId, payment.livemode);
      return { ok: true, value: { amountInPoints: points * found.valuePerPoint } };
    },

    spendGuardWrite: (payment) => ({ writer: store.LOYALTY_SPEND_GUARD_WRITER, row: { account_id: pointsAccountId(payment.merchantId, payment.buyerId!, payment.livemode) } }),

    redeemTransfer(payment, hold) {
      const buyerId = payment.buyerId!;
      const transfer: TransferInput = {
        id: ledgerId(`${payment.id}:${hold ? 'points_hold' : 'points_redeem'}`),
        debitAccountId: pointsAccountId(payment.merchantId, buyerId, payment.livemode),
        creditAccountId: issuanceAccountId(payment.merchantId, payment.livemode),
        amount: payment.pointsRedeemed,
        asset: POINTS_ASSET,
        code: LOYALTY_TRANSFER_CODES.redeem,
        metadata: { payment: payment.id, amount_paid_in_points: payment.amountPaidInPoints.toString() },
      };
      return hold ? { ...transfer, pending: true, timeoutSeconds: hold.timeoutSeconds } : transfer;
    },

    async balanceOfCustomer(scope, customerId) {
      const customer = await deps.customers.get(scope, customerId);
      if (!customer) return null;
      return balanceOf(pointsAccountId(scope.merchantId, customer.buyerId, scope.livemode), new Date());
    },

    balanceOfBuyer: (scope, buyerId) => balanceOf(pointsAccountId(scope.merchantId, buyerId, scope.livemode), new Date()),

    async riskFacts(payment) {
      if (payment.buyerId === null) return null;
      const program = await programOf(payment.merchantId, payment.livemode);
      if (!program?.enabled) return null;
      const since = new Date(Date.now() - RISK_PERIOD_DAYS * DAY_MS);
      const facts = await store.riskFacts(db, pointsAccountId(payment.merchantId, payment.buyerId, payment.livemode), payment.buyerId, payment.merchantId, since);
      return {
        earningPayments30d: facts.earning,
        refundedPayments30d: facts.refunded,
        fastRefunds30d: facts.fast,
        pointsOwed: Number(facts.owed),
        buyerIsMerchantStaff: facts.staff,
      };
    },

    async badgesOfBuyer(reach, buyerId, limit) {
      const page = await store.badgesOfBuyer(db, buyerId, reach.livemode, { ...(reach.merchantId === null ? {} : { merchantId: reach.merchantId }), limit });
      return { data: await badgesJson(page.data, null), hasMore: page.hasMore };
    },

    async badgesOfCustomer(scope, customerId, limit) {
      const customer = await deps.customers.get(scope, customerId);
      if (!customer) return null;
      const page = await store.badgesOfBuyer(db, customer.buyerId, scope.livemode, { merchantId: scope.merchantId, limit });
      return { data: await badgesJson(page.data, customer.id), hasMore: page.hasMore };
    },

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
        // Points the debt locked (they could not be spent) go back to the issuance account as a repayment
        // would have sent them: the expiry records how much of the debt it repaid, which lowers what is
        // owed (store.ts OWED), so the next points earned are not locked for the same debt again.
        const owed = await store.owedPoints(db, entry.accountId);
        const repaid = owed <= 0n ? 0n : owed < amount ? owed : amount;
        transfers.push({
          // Derived from what it corrects: two workers expiring the same state write it once.
          id: ledgerId(`${entry.accountId}:points_expiry:${entry.due}:${given}`),
          debitAccountId: entry.accountId,
          creditAccountId: issuanceAccountId(issuance.merchant, issuance.livemode),
          amount,
          asset: POINTS_ASSET,
          code: LOYALTY_TRANSFER_CODES.expiry,
          metadata: repaid > 0n ? { expired_through: now.toISOString(), repaid_owed: String(repaid) } : { expired_through: now.toISOString() },
        });
      }
      if (transfers.length === 0) return 0;
      const results = await ledger.createTransfers(transfers);
      return results.filter((result) => result.result === 'created').length;
    },
  };
}
