// The platform's books: which ledger account holds what. Every account of the merchant API has a UUID
// derived from what it is (a buyer's wallet in USD in test mode, a merchant's balance in KRW in live
// mode, ...), so any process can name it without a lookup, and it is created on first use.
import type { AccountInput, AccountKind, Balance } from '../ledger/model.ts';
import { compareAccount, lastUtcDays, type LedgerService } from '../ledger/service.ts';
import { ledgerId } from '../api/ids.ts';

/** Ledger transfer codes of the merchant API (docs/ledger.md lists them). */
export const TRANSFER_CODES = {
  payment: 1,
  platform_fee: 2,
  top_up: 3,
  refund: 4,
  fee_reversal: 5,
  dispute_hold: 6,
  dispute_lost: 7,
  payout: 8,
  review_hold: 9,
} as const;

export type Role =
  | 'wallet'
  | 'merchant'
  | 'merchant_reserve'
  | 'platform_fee'
  | 'card_settlement'
  | 'bank_settlement'
  | 'payout_clearing'
  | 'points'
  | 'points_issuance';

/** Each role's ledger kind and limits: money a buyer or merchant owns can never go below zero. */
const ROLES: Record<Role, { kind: AccountKind; limited: boolean }> = {
  wallet: { kind: 'buyer_wallet', limited: true },
  merchant: { kind: 'merchant', limited: true },
  merchant_reserve: { kind: 'merchant_reserve', limited: true },
  platform_fee: { kind: 'platform_fee', limited: false },
  card_settlement: { kind: 'rail_settlement', limited: false },
  bank_settlement: { kind: 'rail_settlement', limited: false },
  payout_clearing: { kind: 'payout_clearing', limited: false },
  // Loyalty points (the asset PTS, docs/loyalty.md): a buyer's points in one merchant's program can
  // never go below zero; the merchant's issuance account is the liability they are issued from.
  points: { kind: 'points', limited: true },
  points_issuance: { kind: 'points_issuance', limited: false },
};

/** The ledger asset of loyalty points (no decimals). */
export const POINTS_ASSET = 'PTS';

/** Account ids a process keeps (about 150 bytes each); past it, the map starts over. */
const ACCOUNT_IDS_KEPT_MAX = 100_000;

export interface BookAccount {
  id: string;
  role: Role;
  owner: string;
  livemode: boolean;
  /** The asset (a currency, or PTS for points). */
  currency: string;
  /** Points accounts only: the merchant whose program the points belong to (the expiry worker reads it). */
  merchant?: string;
}

export interface Books {
  /** The account of `role` for `owner` (a buyer or merchant id, or 'platform'); not yet created. */
  account(role: Role, owner: string, livemode: boolean, currency: string): BookAccount;
  /** A buyer's points in `merchantId`'s program (role `points`, asset PTS). */
  pointsAccount(merchantId: string, buyerId: string, livemode: boolean): BookAccount;
  /** The merchant's points issuance account (role `points_issuance`, asset PTS): points are issued
   * from it when earned and go back to it when spent, clawed back or expired. */
  pointsIssuanceAccount(merchantId: string, livemode: boolean): BookAccount;
  /** Creates the accounts this process has not seen yet (idempotent: existing ones answer `exists`). */
  ensure(accounts: BookAccount[]): Promise<void>;
  balance(account: BookAccount): Promise<Balance>;
  /** The balance of an account that was ever opened, or null. */
  balanceIfOpen(account: BookAccount): Promise<Balance | null>;
  /** The balance of `role` for `owner` in every currency it was ever opened in, in one read. */
  balancesByCurrency(role: Role, owner: string, livemode: boolean): Promise<Array<Balance & { currency: string }>>;
  /** The closing balance of `role` for `owner` in `currency` on each of the last `days` UTC days,
   * oldest first, today as it stands now; zero on every day when the account was never opened. */
  dailyBalances(role: Role, owner: string, livemode: boolean, currency: string, days: number): Promise<Array<{ day: string; available: bigint; pending: bigint }>>;
  currencies(): Promise<string[]>;
  isCurrency(code: string): Promise<boolean>;
  exponentOf(code: string): Promise<number | null>;
}

const modeOf = (livemode: boolean) => (livemode ? 'live' : 'test');

// Points account ids keep the derivation loyalty used before it went through the books, so that
// ledgers written then still name the same accounts.
export function pointsAccountOf(merchantId: string, buyerId: string, livemode: boolean): BookAccount {
  return { id: ledgerId(`loyalty:points:${merchantId}:${buyerId}:${modeOf(livemode)}`), role: 'points', owner: buyerId, livemode, currency: POINTS_ASSET, merchant: merchantId };
}

export function pointsIssuanceAccountOf(merchantId: string, livemode: boolean): BookAccount {
  return { id: ledgerId(`loyalty:issuance:${merchantId}:${modeOf(livemode)}`), role: 'points_issuance', owner: merchantId, livemode, currency: POINTS_ASSET };
}

/** The ledger account a book account is: its asset, and the kind, limit and metadata of its role. */
function inputOf(account: BookAccount): AccountInput {
  return {
    id: account.id,
    asset: account.currency,
    kind: ROLES[account.role].kind,
    flags: ROLES[account.role].limited ? { debitsMustNotExceedCredits: true } : {},
    metadata: { role: account.role, owner: account.owner, livemode: account.livemode, ...(account.merchant === undefined ? {} : { merchant: account.merchant }) },
  };
}

export function createBooks({ ledger }: { ledger: LedgerService }): Books {
  const known = new Set<string>();
  let currencies: Map<string, number> | null = null;

  async function loadCurrencies(): Promise<Map<string, number>> {
    currencies ??= new Map(
      (await ledger.listAssets()).filter((asset) => asset.kind === 'currency').map((asset) => [asset.code, asset.exponent]),
    );
    return currencies;
  }

  async function ensure(accounts: BookAccount[]): Promise<void> {
    const inputs: AccountInput[] = [];
    for (const account of accounts) {
      if (known.has(account.id)) continue;
      const input = inputOf(account);
      // The ledger already holds it as the role makes it (this process created, read or warmed it):
      // nothing to create. Accounts are never deleted, and none of these fields changes.
      const held = ledger.peekAccount(account.id);
      if (held && compareAccount(input, held) === null) known.add(account.id);
      else inputs.push(input);
    }
    if (inputs.length === 0) return;
    const results = await ledger.createAccounts(inputs);
    results.forEach((result, index) => {
      if (result.result !== 'created' && result.result !== 'exists') {
        throw new Error(`ledger account ${inputs[index]!.id} could not be created: ${result.result}`);
      }
      known.add(inputs[index]!.id);
    });
  }

  // Every payment names its wallet, merchant and fee accounts again: their ids (a SHA-1 each) are kept.
  const accountIds = new Map<string, string>();
  function account(role: Role, owner: string, livemode: boolean, currency: string): BookAccount {
    const name = `account:${role}:${owner}:${modeOf(livemode)}:${currency}`;
    let id = accountIds.get(name);
    if (id === undefined) {
      if (accountIds.size >= ACCOUNT_IDS_KEPT_MAX) accountIds.clear();
      id = ledgerId(name);
      accountIds.set(name, id);
    }
    return { id, role, owner, livemode, currency };
  }

  return {
    account,
    pointsAccount: pointsAccountOf,
    pointsIssuanceAccount: pointsIssuanceAccountOf,
    ensure,
    async balance(account) {
      await ensure([account]);
      return (await ledger.getBalance(account.id))!;
    },
    balanceIfOpen: (account) => ledger.getBalance(account.id),
    async balancesByCurrency(role, owner, livemode) {
      const accounts = [...(await loadCurrencies()).keys()].sort().map((currency) => account(role, owner, livemode, currency));
      const balances = new Map((await ledger.getBalances(accounts.map((account) => account.id))).map((balance) => [balance.accountId, balance]));
      return accounts.flatMap((account) => {
        const balance = balances.get(account.id);
        return balance ? [{ ...balance, currency: account.currency }] : [];
      });
    },
    async dailyBalances(role, owner, livemode, currency, days) {
      const now = new Date();
      const daily = await ledger.getDailyBalances(account(role, owner, livemode, currency).id, days, now);
      if (!daily) return lastUtcDays(now, days).map((day) => ({ day, available: 0n, pending: 0n }));
      return daily.map(({ day, balance }) => ({ day, available: balance.available, pending: balance.pending }));
    },
    async currencies() {
      return [...(await loadCurrencies()).keys()].sort();
    },
    async isCurrency(code) {
      return (await loadCurrencies()).has(code);
    },
    async exponentOf(code) {
      return (await loadCurrencies()).get(code) ?? null;
    },
  };
}
