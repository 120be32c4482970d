// The ledger service: the one interface through which every feature of Micropay moves money.
import { nameBasedUuid } from './name-uuid.ts';
import type { Database } from '../store/database.ts';
import { createCommitPipeline, type CommitPipeline, type CommitPipelineOptions } from '../store/commit-pipeline.ts';
import {
  ACCOUNT_KINDS,
  BATCH_TRANSFERS_MAX,
  type Account,
  type AccountInput,
  type Asset,
  type Balance,
  type CreateAccountResult,
  type CreateTransferResult,
  type HistoryEntry,
  type Page,
  type Transfer,
  type TransferInput,
  type VerifyReport,
} from './model.ts';
import * as store from './store.ts';
import { createUnitOfWorkExecutor, type DecisionStats, type UnitOfWork, type UnitWriter } from './unit-of-work.ts';
import { canonicalJson, checkMetadata, isAssetCode, isUuid, validateAccount } from './validate.ts';
import { verifyLedger } from './verify.ts';

export const HISTORY_PAGE_MAX = 100;
/** The longest daily balance history one read computes. */
export const DAILY_BALANCE_DAYS_MAX = 366;
const EXPIRY_NAMESPACE = '6f1c2d0e-8b1a-4c59-9f3e-2a7d5e4b9c01';
const expiryId = nameBasedUuid(EXPIRY_NAMESPACE);

export interface LedgerService {
  listAssets(): Promise<Asset[]>;
  /** Registers a non-currency asset (or a currency not seeded); idempotent. */
  createAsset(asset: Asset): Promise<{ ok: true; asset: Asset } | { ok: false; code: 'asset_invalid' | 'asset_exists_with_different_fields' }>;
  createAccounts(accounts: AccountInput[]): Promise<CreateAccountResult[]>;
  getAccount(id: string): Promise<Account | null>;
  getBalance(id: string): Promise<Balance | null>;
  /** The balance as this process last knew it, without a read: what its last batch decided (even if
   * that batch then failed to commit), or what it last read. For estimates (risk signals), never for
   * decisions about money. Null when this process has not seen the account lately. */
  peekBalance(id: string): Balance | null;
  /** The account as this process last knew it, without a read (created, read, warmed or decided by
   * this process): the fields that never change (asset, kind, flags, limit, metadata) are exact, the
   * balances an estimate, as for `peekBalance`. Null when this process has not seen it lately. */
  peekAccount(id: string): Account | null;
  /** The balances of the accounts of `ids` that exist, in one read. */
  getBalances(ids: string[]): Promise<Balance[]>;
  /** The balance as it stood at `at`, computed from the transfers committed up to then. */
  getBalanceAt(id: string, at: Date): Promise<Balance | null>;
  /** The closing balance of each of the last `days` UTC days (oldest first; the last one is today,
   * as it stands now), computed from the transfers in one read; null when the account does not exist. */
  getDailyBalances(id: string, days: number, now?: Date): Promise<Array<{ day: string; balance: Balance }> | null>;
  createTransfers(transfers: TransferInput[]): Promise<CreateTransferResult[]>;
  /** Commits a unit of work (transfers plus the caller's own rows) in the next group commit. */
  commit<V>(unit: UnitOfWork<V>): Promise<V>;
  registerWriter(name: string, writer: UnitWriter): void;
  getTransfer(id: string): Promise<Transfer | null>;
  listAccountTransfers(accountId: string, options?: { limit?: number; startingAfter?: string }): Promise<Page<HistoryEntry>>;
  /** Expires up to `limit` holds whose timeout has passed; returns how many it expired. */
  expireDueHolds(limit: number): Promise<number>;
  verify(): Promise<VerifyReport>;
  /**
   * Reads the balances of up to `accountsMax` accounts into this process's cache (those written back or
   * created most recently first), so that the first batches after a start are decided from the cache
   * instead of reading every account they meet under the ledger lock. Safe at any time: what it reads
   * is used only where it is exact (docs/ledger.md, "Warming the cache"). Returns how many it took in.
   */
  warm(options?: { accountsMax?: number }): Promise<{ accounts: number; ms: number }>;
  /** The commit pipeline's counters, with how batches were decided: ahead of the lock and kept, under
   * the lock, or ahead and then again under the lock (the head was not the one decided from). */
  pipelineStats(): ReturnType<CommitPipeline<unknown, unknown>['stats']> & DecisionStats;
  close(): Promise<void>;
}

export interface LedgerDependencies {
  db: Database;
  pipeline?: Partial<CommitPipelineOptions>;
}

/** Accounts `warm` reads unless told otherwise (the server's LEDGER_WARM_ACCOUNTS). */
export const WARM_ACCOUNTS_DEFAULT = 50_000;

export const DEFAULT_PIPELINE_OPTIONS: CommitPipelineOptions = {
  batchWeightMax: BATCH_TRANSFERS_MAX,
  queueWeightMax: 200_000,
  // Two: while one batch's statement runs, the next is decided and queued behind it with its statement
  // ready (docs/ledger.md, "Deciding ahead"). The server sets its own (LEDGER_BATCHES_IN_FLIGHT_MAX).
  batchesInFlightMax: 2,
  retriesMax: 4,
  // Every batch on the serial connection, in the order the batches were formed: a batch decided ahead
  // is then written by one statement on its own (docs/ledger.md, "A batch written alone").
  serial: true,
};

export function createLedgerService({ db, pipeline: pipelineOptions }: LedgerDependencies): LedgerService {
  const writers = new Map<string, UnitWriter>();
  const options: CommitPipelineOptions = {
    ...DEFAULT_PIPELINE_OPTIONS,
    ...pipelineOptions,
    // PGlite has one connection: a second batch in flight would only wait for it.
    ...(db.kind === 'pglite' ? { batchesInFlightMax: 1 } : {}),
  };
  const executor = createUnitOfWorkExecutor(writers, { alone: options.serial === true || options.batchesInFlightMax === 1 });
  const pipeline = createCommitPipeline(db, executor, options);
  const assetCodes = createAssetCodes(db);
  let closed = false;

  async function getAccount(id: string): Promise<Account | null> {
    if (!isUuid(id)) return null;
    const account = (await store.getAccounts(db, [id]))[0] ?? null;
    if (account) executor.observe([account]);
    return account;
  }

  return {
    listAssets: () => store.listAssets(db),

    async createAsset(asset) {
      const valid =
        isAssetCode(asset.code) &&
        ['currency', 'points', 'other'].includes(asset.kind) &&
        Number.isInteger(asset.exponent) &&
        asset.exponent >= 0 &&
        asset.exponent <= 18;
      if (!valid) return { ok: false, code: 'asset_invalid' };
      await store.insertAsset(db, asset);
      const stored = (await store.listAssets(db)).find((candidate) => candidate.code === asset.code)!;
      if (stored.kind !== asset.kind || stored.exponent !== asset.exponent) {
        return { ok: false, code: 'asset_exists_with_different_fields' };
      }
      return { ok: true, asset: stored };
    },

    async createAccounts(accounts) {
      const results = await createAccounts(db, assetCodes, accounts);
      // A first-seen account's balances are known now, for peekBalance; a batch still reads them once,
      // under the ledger lock (a read outside a batch may predate another process's commit).
      executor.observe(results.flatMap((result) => ('account' in result && result.account ? [result.account] : [])));
      return results;
    },
    getAccount,

    async getBalance(id) {
      const account = await getAccount(id);
      return account ? balanceOf(account) : null;
    },

    peekAccount: (id) => executor.peek(id),

    peekBalance(id) {
      const account = executor.peek(id);
      return account ? balanceOf(account) : null;
    },

    async getBalances(ids) {
      const valid = ids.filter(isUuid);
      return valid.length === 0 ? [] : (await store.getAccounts(db, valid)).map(balanceOf);
    },

    async getBalanceAt(id, at) {
      if (!isUuid(id)) return null;
      return db.transaction(async (tx) => {
        // Both statements must see the same commits: the balance now, and what came after `at`.
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const account = (await store.getAccounts(tx, [id]))[0];
        if (!account) return null;
        const later = await tx.query<Record<'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted', string>>(
          `SELECT debits_pending::text, debits_posted::text, credits_pending::text, credits_posted::text
           FROM (${store.balanceEffectsSql(`ACCOUNT = $1::uuid AND created_at > $2::timestamptz`)}) AS effects`,
          [id, at.toISOString()],
        );
        const effects = later.rows[0];
        if (effects) {
          account.debitsPending -= BigInt(effects.debits_pending);
          account.debitsPosted -= BigInt(effects.debits_posted);
          account.creditsPending -= BigInt(effects.credits_pending);
          account.creditsPosted -= BigInt(effects.credits_posted);
        }
        return balanceOf(account);
      });
    },

    async getDailyBalances(id, days, now = new Date()) {
      if (!isUuid(id) || !Number.isInteger(days) || days < 1 || days > DAILY_BALANCE_DAYS_MAX) return null;
      const dayLabels = lastUtcDays(now, days);
      return db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const account = (await store.getAccounts(tx, [id]))[0];
        if (!account) return null;
        // Walking back from now: a day's closing balance is the next day's less that next day's transfers.
        const since = new Date(`${dayLabels[1] ?? dayLabels[0]!}T00:00:00.000Z`);
        const effects = (await store.dailyBalanceEffects(tx, id, since)).sort((a, b) => (a.day < b.day ? 1 : -1));
        const closing: Array<{ day: string; balance: Balance }> = [];
        let next = 0;
        for (let index = dayLabels.length - 1; index >= 0; index--) {
          const day = dayLabels[index]!;
          for (; next < effects.length && effects[next]!.day > day; next++) {
            const effect = effects[next]!;
            account.debitsPending -= BigInt(effect.debits_pending);
            account.debitsPosted -= BigInt(effect.debits_posted);
            account.creditsPending -= BigInt(effect.credits_pending);
            account.creditsPosted -= BigInt(effect.credits_posted);
          }
          closing.push({ day, balance: balanceOf(account) });
        }
        return closing.reverse();
      });
    },

    async createTransfers(transfers) {
      if (transfers.length > BATCH_TRANSFERS_MAX) {
        return transfers.map((transfer) => ({ id: transfer.id, result: 'batch_too_large' as const }));
      }
      return pipeline.submit({ transfers }) as Promise<CreateTransferResult[]>;
    },

    commit<V>(unit: UnitOfWork<V>) {
      return pipeline.submit(unit as UnitOfWork<unknown>) as Promise<V>;
    },

    registerWriter(name, writer) {
      if (writers.has(name)) throw new Error(`a unit writer named ${name} is already registered`);
      writers.set(name, writer);
    },

    async getTransfer(id) {
      if (!isUuid(id)) return null;
      return (await store.loadTransfers(db, [id])).get(id) ?? null;
    },

    async listAccountTransfers(accountId, options = {}) {
      const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? 20)), HISTORY_PAGE_MAX);
      if (!isUuid(accountId)) return { data: [], nextCursor: null };
      let beforeSeq: bigint | null = null;
      if (options.startingAfter !== undefined) {
        beforeSeq = /^\d{1,19}$/.test(options.startingAfter) ? BigInt(options.startingAfter) : 0n;
      }
      const rows = await store.accountHistory(db, accountId, beforeSeq, limit + 1);
      const page = rows.slice(0, limit).map((row) => ({ cursor: row.seq.toString(), transfer: row.transfer }));
      return { data: page, nextCursor: rows.length > limit ? page[page.length - 1]!.cursor : null };
    },

    async expireDueHolds(limit) {
      const due = await store.dueHolds(db, limit);
      if (due.length === 0) return 0;
      const results = await pipeline.submit({
        transfers: due.map((pendingId) => ({ id: expiryIdFor(pendingId), expirePendingId: pendingId, code: 1 })),
      });
      return (results as CreateTransferResult[]).filter((result) => result.result === 'created').length;
    },

    verify: () => verifyLedger(db),

    async warm(options = {}) {
      const started = performance.now();
      const accounts = await executor.warm(db, Math.max(0, Math.trunc(options.accountsMax ?? WARM_ACCOUNTS_DEFAULT)), () => closed);
      return { accounts, ms: performance.now() - started };
    },

    pipelineStats: () => ({ ...pipeline.stats(), ...executor.decisionStats() }),
    close: () => {
      closed = true;
      return pipeline.close();
    },
  };
}

/** The UTC dates (YYYY-MM-DD) of the `days` days ending with `now`'s, oldest first. */
export function lastUtcDays(now: Date, days: number): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, index) => new Date(today - (days - 1 - index) * 86_400_000).toISOString().slice(0, 10));
}

/** The id of a hold's expiry is derived from the hold's (UUID v5), so that two workers expiring it collide. */
export function expiryIdFor(pendingId: string): string {
  return expiryId(pendingId);
}

export function normalSideOf(account: Account): 'credit' | 'debit' {
  if (account.flags.creditsMustNotExceedDebits) return 'debit';
  if (account.flags.debitsMustNotExceedCredits) return 'credit';
  return ACCOUNT_KINDS[account.kind] ?? 'credit';
}

export function balanceOf(account: Account): Balance {
  const creditNormal = normalSideOf(account) === 'credit';
  const posted = creditNormal ? account.creditsPosted - account.debitsPosted : account.debitsPosted - account.creditsPosted;
  const outgoingPending = creditNormal ? account.debitsPending : account.creditsPending;
  const incomingPending = creditNormal ? account.creditsPending : account.debitsPending;
  const limited = account.flags.debitsMustNotExceedCredits || account.flags.creditsMustNotExceedDebits;
  return {
    accountId: account.id,
    asset: account.asset,
    posted,
    pending: incomingPending - outgoingPending,
    available: posted - outgoingPending + (limited ? account.overdraftLimit : 0n),
  };
}

async function createAccounts(db: Database, assetCodes: AssetCodes, inputs: AccountInput[]): Promise<CreateAccountResult[]> {
  if (inputs.length > BATCH_TRANSFERS_MAX) {
    return inputs.map((input) => ({ id: String(input.id), result: 'batch_too_large' as const }));
  }
  const failures = new Map<number, CreateAccountResult>();
  const assets = await assetCodes.including(inputs.map((input) => input.asset));
  const rows: Parameters<typeof store.insertOrGetAccounts>[1] = [];
  inputs.forEach((input, index) => {
    const failure = validateAccount(input) ?? (assets.has(input.asset) ? null : ('asset_not_found' as const));
    if (failure) {
      failures.set(index, { id: String(input.id), result: failure });
      return;
    }
    rows.push({
      id: input.id,
      asset: input.asset,
      kind: input.kind,
      flags: input.flags?.debitsMustNotExceedCredits
        ? store.FLAG_DEBITS_MUST_NOT_EXCEED_CREDITS
        : input.flags?.creditsMustNotExceedDebits
          ? store.FLAG_CREDITS_MUST_NOT_EXCEED_DEBITS
          : 0,
      overdraftLimit: input.overdraftLimit ?? 0n,
      metadata: (checkMetadata(input.metadata) as { json: string | null }).json,
    });
  });
  const { accounts: stored, inserted } = await store.insertOrGetAccounts(db, rows);
  return inputs.map((input, index) => {
    const failure = failures.get(index);
    if (failure) return failure;
    const account = stored.get(input.id)!;
    // Only the first occurrence of an id in the call was inserted; later ones compare with it.
    if (inserted.delete(input.id)) return { id: input.id, result: 'created', account };
    const difference = compareAccount(input, account);
    return difference ? { id: input.id, result: difference } : { id: input.id, result: 'exists', account };
  });
}

/** The asset codes this process has seen stored. Assets are never deleted, so a code once seen stays
 * valid; an unknown code is looked up again (another process may have created it since). */
interface AssetCodes {
  including(codes: string[]): Promise<Set<string>>;
}

function createAssetCodes(db: Database): AssetCodes {
  let known = new Set<string>();
  return {
    async including(codes) {
      if (codes.some((code) => !known.has(code))) known = new Set((await store.listAssets(db)).map((asset) => asset.code));
      return known;
    },
  };
}

/** null when `account` is what `input` would create, else the `exists_with_different_*` code. */
export function compareAccount(input: AccountInput, account: Account) {
  if (input.asset !== account.asset) return 'exists_with_different_asset' as const;
  if (input.kind !== account.kind) return 'exists_with_different_kind' as const;
  if (Boolean(input.flags?.debitsMustNotExceedCredits) !== account.flags.debitsMustNotExceedCredits) {
    return 'exists_with_different_flags' as const;
  }
  if (Boolean(input.flags?.creditsMustNotExceedDebits) !== account.flags.creditsMustNotExceedDebits) {
    return 'exists_with_different_flags' as const;
  }
  if ((input.overdraftLimit ?? 0n) !== account.overdraftLimit) return 'exists_with_different_overdraft_limit' as const;
  if (canonicalJson(input.metadata ?? null) !== canonicalJson(account.metadata)) {
    return 'exists_with_different_metadata' as const;
  }
  return null;
}
