// The platform's books: which ledger account holds what. Every account of the merchant API has a UUID
// derived from what it is (a buyer's wallet in USD in test mode, a merchant's balance in KRW in live
// mode, ...), so any process can name it without a lookup, and it is created on first use.
import type { AccountInput, AccountKind, Balance } from '../ledger/model.ts';
import type { LedgerService } from '../ledger/service.ts';
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
  | 'payout_clearing';

/** Each role's ledger kind and limits: money a buyer or merchant owns can never go below zero. */
const ROLES: Record<Role, { kind: AccountKind; limited: boolean }> = {
  wallet: { kind: 'buyer_wallet', limited: true },
  merchant: { kind: 'merchant', limited: true },
  merchant_reserve: { kind: 'merchant_reserve', limited: true },
  platform_fee: { kind: 'platform_fee', limited: false },
  card_settlement: { kind: 'rail_settlement', limited: false },
  bank_settlement: { kind: 'rail_settlement', limited: false },
  payout_clearing: { kind: 'payout_clearing', limited: false },
};

export interface BookAccount {
  id: string;
  role: Role;
  owner: string;
  livemode: boolean;
  currency: string;
}

export interface Books {
  /** The account of `role` for `owner` (a buyer or merchant id, or 'platform'); not yet created. */
  account(role: Role, owner: string, livemode: boolean, currency: string): BookAccount;
  /** Creates the accounts this process has not seen yet (idempotent: existing ones answer `exists`). */
  ensure(accounts: BookAccount[]): Promise<void>;
  balance(account: BookAccount): Promise<Balance>;
  /** The balance of an account that was ever opened, or null. */
  balanceIfOpen(account: BookAccount): Promise<Balance | null>;
  /** The balance of `role` for `owner` in every currency it was ever opened in, in one read. */
  balancesByCurrency(role: Role, owner: string, livemode: boolean): Promise<Array<Balance & { currency: string }>>;
  currencies(): Promise<string[]>;
  isCurrency(code: string): Promise<boolean>;
  exponentOf(code: string): Promise<number | null>;
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
    const missing = accounts.filter((account) => !known.has(account.id));
    if (missing.length === 0) return;
    const inputs: AccountInput[] = missing.map((account) => ({
      id: account.id,
      asset: account.currency,
      kind: ROLES[account.role].kind,
      flags: ROLES[account.role].limited ? { debitsMustNotExceedCredits: true } : {},
      metadata: { role: account.role, owner: account.owner, livemode: account.livemode },
    }));
    const results = await ledger.createAccounts(inputs);
    results.forEach((result, index) => {
      if (result.result !== 'created' && result.result !== 'exists') {
        throw new Error(`ledger account ${inputs[index]!.id} could not be created: ${result.result}`);
      }
      known.add(inputs[index]!.id);
    });
  }

  function account(role: Role, owner: string, livemode: boolean, currency: string): BookAccount {
    return { id: ledgerId(`account:${role}:${owner}:${livemode ? 'live' : 'test'}:${currency}`), role, owner, livemode, currency };
  }

  return {
    account,
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
