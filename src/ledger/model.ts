// The ledger's public data model: assets, accounts and transfers.
// Amounts are always `bigint` minor units; ids are UUIDs chosen by the client so that a retry is idempotent.

export const AMOUNT_MAX = (1n << 63n) - 1n;
export const METADATA_BYTES_MAX = 4096;
export const BATCH_TRANSFERS_MAX = 8190;
export const TIMEOUT_SECONDS_MAX = 366 * 24 * 3600;
export const CODE_MAX = 65535;

export type AssetKind = 'currency' | 'points' | 'other';

export interface Asset {
  code: string;
  kind: AssetKind;
  /** Digits after the decimal point of one major unit (ISO 4217: KRW 0, USD 2, BHD 3). */
  exponent: number;
}

/** Which side of an account grows when it holds more value; decides the sign of its balance. */
export type NormalSide = 'credit' | 'debit';

export const ACCOUNT_KINDS = {
  buyer_wallet: 'credit',
  merchant: 'credit',
  merchant_reserve: 'credit',
  platform_fee: 'credit',
  points: 'credit',
  offline_allowance: 'credit',
  rail_settlement: 'debit',
  payout_clearing: 'debit',
  points_issuance: 'debit',
  system: 'debit',
} as const satisfies Record<string, NormalSide>;

export type AccountKind = keyof typeof ACCOUNT_KINDS;

export interface AccountFlags {
  /** The account may never have spent (debits, pending included) more than it received plus its overdraft limit. */
  debitsMustNotExceedCredits?: boolean;
  /** The mirror image: credits may never exceed debits plus the limit (a funding source with a cap). */
  creditsMustNotExceedDebits?: boolean;
}

export interface AccountInput {
  id: string;
  asset: string;
  kind: AccountKind;
  flags?: AccountFlags;
  /** How far past zero a limited account may go, in minor units; 0 when absent. */
  overdraftLimit?: bigint;
  metadata?: Record<string, unknown> | null;
}

export interface Account {
  id: string;
  asset: string;
  kind: AccountKind;
  flags: Required<AccountFlags>;
  overdraftLimit: bigint;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
}

export interface Balance {
  accountId: string;
  asset: string;
  /** Posted balance on the account's normal side. */
  posted: bigint;
  /** Value reserved by holds that are not yet posted, voided or expired. */
  pending: bigint;
  /** What can be spent now: posted minus outgoing holds (plus the overdraft limit when limited). */
  available: bigint;
}

export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';

/** What a client asks for. Exactly one shape applies:
 * - a posted transfer: debit, credit, amount, code;
 * - a hold: the same plus `pending: true` and an optional `timeoutSeconds`;
 * - posting a hold: `postPendingId`, and `amount` for a partial post (the full hold when absent);
 * - voiding a hold: `voidPendingId`.
 */
export interface TransferInput {
  id: string;
  debitAccountId?: string;
  creditAccountId?: string;
  amount?: bigint;
  /** Optional check: when given it must be the accounts' asset. */
  asset?: string;
  code: number;
  pending?: boolean;
  timeoutSeconds?: number;
  postPendingId?: string;
  voidPendingId?: string;
  /** Linked to the next transfer of the same call: the chain succeeds or fails as one. */
  linked?: boolean;
  metadata?: Record<string, unknown> | null;
}

/** Expiry is carried out by the ledger itself (the expiry worker), never asked for by a client. */
export interface ExpireInput {
  id: string;
  expirePendingId: string;
  code: number;
}

export interface Transfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  asset: string;
  amount: bigint;
  kind: TransferKind;
  /** The hold this transfer posts, voids or expires. */
  pendingId: string | null;
  /** For a resolution: the amount of the hold it releases. */
  pendingAmount: bigint | null;
  timeoutSeconds: number;
  expiresAt: Date | null;
  code: number;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
}

export type CreateTransferResult =
  | { id: string; result: 'created' | 'exists'; transfer: Transfer }
  | { id: string; result: TransferFailureCode };

export type CreateAccountResult =
  | { id: string; result: 'created' | 'exists'; account: Account }
  | { id: string; result: AccountFailureCode };

/** Failure codes of createTransfers, in order of precedence (docs/ledger.md explains each). */
export const TRANSFER_FAILURE_CODES = [
  'batch_too_large',
  'linked_event_failed',
  'linked_event_chain_open',
  'id_must_be_uuid',
  'flags_are_mutually_exclusive',
  'debit_account_id_must_be_uuid',
  'credit_account_id_must_be_uuid',
  'accounts_must_be_different',
  'pending_id_must_be_uuid',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'timeout_invalid',
  'amount_must_be_integer',
  'amount_must_be_positive',
  'amount_too_large',
  'code_invalid',
  'asset_invalid',
  'metadata_invalid',
  'metadata_too_large',
  'exists_with_different_kind',
  'exists_with_different_pending_id',
  'exists_with_different_timeout',
  'exists_with_different_debit_account_id',
  'exists_with_different_credit_account_id',
  'exists_with_different_amount',
  'exists_with_different_asset',
  'exists_with_different_code',
  'exists_with_different_metadata',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_asset',
  'transfer_must_have_the_same_asset_as_accounts',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_asset',
  'exceeds_pending_transfer_amount',
  'pending_transfer_has_different_amount',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_already_expired',
  'pending_transfer_expired',
  'pending_transfer_not_expired',
  'overflows_debits_pending',
  'overflows_credits_pending',
  'overflows_debits_posted',
  'overflows_credits_posted',
  'overflows_debits',
  'overflows_credits',
  'exceeds_credits',
  'exceeds_debits',
] as const;

export type TransferFailureCode = (typeof TRANSFER_FAILURE_CODES)[number];

export const ACCOUNT_FAILURE_CODES = [
  'batch_too_large',
  'id_must_be_uuid',
  'kind_invalid',
  'flags_are_mutually_exclusive',
  'overdraft_limit_invalid',
  'metadata_invalid',
  'metadata_too_large',
  'asset_not_found',
  'exists_with_different_asset',
  'exists_with_different_kind',
  'exists_with_different_flags',
  'exists_with_different_overdraft_limit',
  'exists_with_different_metadata',
] as const;

export type AccountFailureCode = (typeof ACCOUNT_FAILURE_CODES)[number];

export interface Page<T> {
  data: T[];
  /** Pass as `startingAfter` to read the next page; null on the last page. */
  nextCursor: string | null;
}

export interface HistoryEntry {
  cursor: string;
  transfer: Transfer;
}

export interface VerifyReport {
  accountsChecked: number;
  transfersChecked: number;
  /** Accounts whose stored balances differ from the sum of their transfers. */
  drift: Array<{ accountId: string; field: string; stored: bigint; computed: bigint }>;
  /** Per asset, total debits minus total credits over all transfers: always zero in a sound ledger. */
  assetImbalance: Array<{ asset: string; debitsMinusCredits: bigint }>;
  /** Limited accounts whose balances cross their limit. */
  limitViolations: string[];
  totals: Array<{ asset: string; posted: bigint; pending: bigint; transfers: number }>;
  /** Per asset, the sums over its accounts of each balance field; debits equal credits when it balances. */
  assets: Array<{ asset: string; debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint; creditsPending: bigint }>;
  ok: boolean;
}
