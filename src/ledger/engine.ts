// The ledger's state machine: applies one batch of commands, in order, to balances known exactly under
// the ledger lock (docs/ledger.md, "How a batch commits"), and decides the result of each. It does no input or output of its own, so the
// same code serves every store, and the batch is written back only once every result is known.
import {
  AMOUNT_MAX,
  type Account,
  type CreateTransferResult,
  type Transfer,
  type TransferFailureCode,
  type TransferKind,
} from './model.ts';
import {
  canonicalJson,
  checkMetadata,
  commandKind,
  isExpire,
  pendingIdOf,
  validateTransfer,
  type LedgerCommand,
} from './validate.ts';

export interface BatchState {
  now: Date;
  /** The batch's accounts by id, with exact balances; updated in place as transfers apply. */
  accounts: Map<string, Account>;
  /** Holds referenced by resolutions in this batch, as stored before it. */
  pendings: Map<string, Transfer>;
  /** How each referenced hold was resolved before this batch, if it was. */
  resolutions: Map<string, TransferKind>;
  /** Stored transfers with the ids of this batch, or null when the caller did not look them up. */
  existing: Map<string, Transfer> | null;
  /** Static checks already made for this batch's commands (validateTransfer), to skip redoing them. */
  staticFailures?: Map<LedgerCommand, TransferFailureCode | null>;
}

export interface BatchOutcome {
  /** One result array per unit, in the order of the unit's commands. */
  results: CreateTransferResult[][];
  created: Transfer[];
  touchedAccounts: Set<string>;
  /** Holds with a timeout that are still open at the end of the batch. */
  openedHolds: Transfer[];
  /** Holds resolved by this batch that had been stored before it. */
  closedHolds: string[];
}

/** A transfer applied by this batch, with what undoing it restores (a failing link later in its chain
 * undoes it). Plain data rather than a closure per transfer: this is the commit path's inner loop. */
interface Moved {
  ok: true;
  exists: false;
  transfer: Transfer;
  debit: Account;
  credit: Account;
  debitsPendingBefore: bigint;
  debitsPostedBefore: bigint;
  creditsPendingBefore: bigint;
  creditsPostedBefore: bigint;
  /** The hold this transfer resolved, when it is a post or a void. */
  resolvedPendingId: string | null;
}
type Failed = { ok: false; code: TransferFailureCode };
type Applied = Moved | Failed;
type Outcome = Moved | { ok: true; exists: true; transfer: Transfer } | Failed;

type BalanceField = 'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted';

export function applyBatch(units: LedgerCommand[][], state: BatchState): BatchOutcome {
  const created = new Map<string, Transfer>();
  const resolvedInBatch = new Map<string, TransferKind>();
  const touchedAccounts = new Set<string>();
  const results = units.map((unit) => applyUnit(unit));
  const createdList = [...created.values()];
  const openedHolds = createdList.filter(
    (transfer) => transfer.kind === 'pending' && transfer.expiresAt !== null && !resolvedInBatch.has(transfer.id),
  );
  const closedHolds = [...resolvedInBatch.keys()].filter((pendingId) => !created.has(pendingId));
  return { results, created: createdList, touchedAccounts, openedHolds, closedHolds };

  function applyUnit(unit: LedgerCommand[]): CreateTransferResult[] {
    const results: CreateTransferResult[] = new Array(unit.length);
    let chainStart = 0;
    while (chainStart < unit.length) {
      let chainEnd = chainStart;
      while (chainEnd < unit.length - 1 && isLinked(unit[chainEnd]!)) chainEnd += 1;
      applyChain(unit, chainStart, chainEnd, results);
      chainStart = chainEnd + 1;
    }
    return results;
  }

  function applyChain(unit: LedgerCommand[], start: number, end: number, results: CreateTransferResult[]): void {
    const undos: Moved[] = [];
    const chainOpen = end === unit.length - 1 && isLinked(unit[end]!);
    for (let index = start; index <= end; index += 1) {
      const command = unit[index]!;
      const outcome: Outcome = chainOpen && index === end ? { ok: false, code: 'linked_event_chain_open' } : applyOne(command);
      if (outcome.ok) {
        results[index] = { id: command.id, result: outcome.exists ? 'exists' : 'created', transfer: outcome.transfer };
        if (!outcome.exists) undos.push(outcome);
        continue;
      }
      for (const moved of undos.reverse()) undo(moved);
      for (let other = start; other <= end; other += 1) {
        results[other] = { id: unit[other]!.id, result: other === index ? outcome.code : 'linked_event_failed' };
      }
      return;
    }
  }

  function applyOne(command: LedgerCommand): Outcome {
    const known = state.staticFailures?.get(command);
    const staticFailure = known === undefined ? validateTransfer(command) : known;
    if (staticFailure) return { ok: false, code: staticFailure };
    const stored = created.get(command.id) ?? state.existing?.get(command.id);
    if (stored) {
      const difference = compareWithStored(command, stored);
      return difference ? { ok: false, code: difference } : { ok: true, exists: true, transfer: stored };
    }
    const kind = commandKind(command);
    const applied = kind === 'posted' || kind === 'pending' ? applyNew(command) : applyResolution(command);
    return applied;
  }

  function applyNew(command: LedgerCommand): Applied {
    if (isExpire(command)) throw new Error('applyNew called for an expiry');
    const debit = state.accounts.get(command.debitAccountId!);
    if (!debit) return { ok: false, code: 'debit_account_not_found' };
    const credit = state.accounts.get(command.creditAccountId!);
    if (!credit) return { ok: false, code: 'credit_account_not_found' };
    if (debit.asset !== credit.asset) return { ok: false, code: 'accounts_must_have_the_same_asset' };
    if (command.asset !== undefined && command.asset !== debit.asset) {
      return { ok: false, code: 'transfer_must_have_the_same_asset_as_accounts' };
    }
    const kind = commandKind(command);
    const amount = command.amount!;
    const timeoutSeconds = kind === 'pending' ? (command.timeoutSeconds ?? 0) : 0;
    const transfer: Transfer = {
      id: command.id,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      asset: debit.asset,
      amount,
      kind,
      pendingId: null,
      pendingAmount: null,
      timeoutSeconds,
      expiresAt: timeoutSeconds > 0 ? new Date(state.now.getTime() + timeoutSeconds * 1000) : null,
      code: command.code,
      metadata: metadataOf(command),
      createdAt: state.now,
    };
    return kind === 'posted' ? move(transfer, debit, credit, 0n, amount) : move(transfer, debit, credit, amount, 0n);
  }

  function applyResolution(command: LedgerCommand): Applied {
    const kind = commandKind(command);
    const pendingId = pendingIdOf(command)!;
    const pending = created.get(pendingId) ?? state.pendings.get(pendingId);
    if (!pending) return { ok: false, code: 'pending_transfer_not_found' };
    if (pending.kind !== 'pending') return { ok: false, code: 'pending_transfer_not_pending' };
    if (!isExpire(command)) {
      if (command.debitAccountId !== undefined && command.debitAccountId !== pending.debitAccountId) {
        return { ok: false, code: 'pending_transfer_has_different_debit_account_id' };
      }
      if (command.creditAccountId !== undefined && command.creditAccountId !== pending.creditAccountId) {
        return { ok: false, code: 'pending_transfer_has_different_credit_account_id' };
      }
      if (command.asset !== undefined && command.asset !== pending.asset) {
        return { ok: false, code: 'pending_transfer_has_different_asset' };
      }
    }
    const amount = !isExpire(command) && command.amount !== undefined ? command.amount : pending.amount;
    if (kind === 'post_pending' && amount > pending.amount) return { ok: false, code: 'exceeds_pending_transfer_amount' };
    if (kind !== 'post_pending' && amount !== pending.amount) {
      return { ok: false, code: 'pending_transfer_has_different_amount' };
    }
    const resolution = resolvedInBatch.get(pendingId) ?? state.resolutions.get(pendingId);
    if (resolution === 'post_pending') return { ok: false, code: 'pending_transfer_already_posted' };
    if (resolution === 'void_pending') return { ok: false, code: 'pending_transfer_already_voided' };
    if (resolution === 'expire_pending') return { ok: false, code: 'pending_transfer_already_expired' };
    const expired = pending.expiresAt !== null && pending.expiresAt.getTime() <= state.now.getTime();
    if (kind === 'expire_pending' && !expired) return { ok: false, code: 'pending_transfer_not_expired' };
    if (kind !== 'expire_pending' && expired) return { ok: false, code: 'pending_transfer_expired' };
    const debit = state.accounts.get(pending.debitAccountId);
    const credit = state.accounts.get(pending.creditAccountId);
    if (!debit || !credit) throw new Error(`accounts of hold ${pendingId} were not locked`);
    const transfer: Transfer = {
      id: command.id,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      asset: pending.asset,
      amount,
      kind,
      pendingId,
      pendingAmount: pending.amount,
      timeoutSeconds: 0,
      expiresAt: null,
      code: command.code,
      metadata: isExpire(command) ? null : metadataOf(command),
      createdAt: state.now,
    };
    const applied = move(transfer, debit, credit, -pending.amount, kind === 'post_pending' ? amount : 0n);
    if (!applied.ok) return applied;
    resolvedInBatch.set(pendingId, kind);
    applied.resolvedPendingId = pendingId;
    return applied;
  }

  /** Moves `pendingDelta` and `postedDelta` onto the debit account's debits and the credit account's
   * credits after checking overflows and limits; undoable with `undo`. */
  function move(transfer: Transfer, debit: Account, credit: Account, pendingDelta: bigint, postedDelta: bigint): Applied {
    const debitsPending = debit.debitsPending + pendingDelta;
    const debitsPosted = debit.debitsPosted + postedDelta;
    const creditsPending = credit.creditsPending + pendingDelta;
    const creditsPosted = credit.creditsPosted + postedDelta;
    const failure = checkBalances(debitsPending, debitsPosted, creditsPending, creditsPosted, debit, credit);
    if (failure) return { ok: false, code: failure };
    const moved: Moved = {
      ok: true,
      exists: false,
      transfer,
      debit,
      credit,
      debitsPendingBefore: debit.debitsPending,
      debitsPostedBefore: debit.debitsPosted,
      creditsPendingBefore: credit.creditsPending,
      creditsPostedBefore: credit.creditsPosted,
      resolvedPendingId: null,
    };
    debit.debitsPending = debitsPending;
    debit.debitsPosted = debitsPosted;
    credit.creditsPending = creditsPending;
    credit.creditsPosted = creditsPosted;
    created.set(transfer.id, transfer);
    touchedAccounts.add(debit.id);
    touchedAccounts.add(credit.id);
    return moved;
  }

  function undo(moved: Moved): void {
    moved.debit.debitsPending = moved.debitsPendingBefore;
    moved.debit.debitsPosted = moved.debitsPostedBefore;
    moved.credit.creditsPending = moved.creditsPendingBefore;
    moved.credit.creditsPosted = moved.creditsPostedBefore;
    created.delete(moved.transfer.id);
    if (moved.resolvedPendingId !== null) resolvedInBatch.delete(moved.resolvedPendingId);
  }
}

function isLinked(command: LedgerCommand): boolean {
  return !isExpire(command) && command.linked === true;
}

function metadataOf(command: LedgerCommand): Record<string, unknown> | null {
  if (isExpire(command)) return null;
  const metadata = checkMetadata(command.metadata);
  return metadata.ok && metadata.json !== null ? (JSON.parse(metadata.json) as Record<string, unknown>) : null;
}

/** Sets the four running totals of `target` to those of `source` (in place: no copy). */
export function assignBalances(target: Record<BalanceField, bigint>, source: Record<BalanceField, bigint>): void {
  target.debitsPending = source.debitsPending;
  target.debitsPosted = source.debitsPosted;
  target.creditsPending = source.creditsPending;
  target.creditsPosted = source.creditsPosted;
}

/** The first limit the debit account's new debits or the credit account's new credits would break. */
function checkBalances(
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
  debitAccount: Account,
  creditAccount: Account,
): TransferFailureCode | null {
  if (debitsPending > AMOUNT_MAX) return 'overflows_debits_pending';
  if (creditsPending > AMOUNT_MAX) return 'overflows_credits_pending';
  if (debitsPosted > AMOUNT_MAX) return 'overflows_debits_posted';
  if (creditsPosted > AMOUNT_MAX) return 'overflows_credits_posted';
  if (debitsPending + debitsPosted > AMOUNT_MAX) return 'overflows_debits';
  if (creditsPending + creditsPosted > AMOUNT_MAX) return 'overflows_credits';
  if (debitAccount.flags.debitsMustNotExceedCredits && debitsPending + debitsPosted > debitAccount.creditsPosted + debitAccount.overdraftLimit) {
    return 'exceeds_credits';
  }
  if (creditAccount.flags.creditsMustNotExceedDebits && creditsPending + creditsPosted > creditAccount.debitsPosted + creditAccount.overdraftLimit) {
    return 'exceeds_debits';
  }
  return null;
}

/** Compares a retried command with the stored transfer of the same id; null when they match. */
export function compareWithStored(command: LedgerCommand, stored: Transfer): TransferFailureCode | null {
  if (commandKind(command) !== stored.kind) return 'exists_with_different_kind';
  if ((pendingIdOf(command) ?? null) !== stored.pendingId) return 'exists_with_different_pending_id';
  if (isExpire(command)) return command.code === stored.code ? null : 'exists_with_different_code';
  if ((command.timeoutSeconds ?? 0) !== stored.timeoutSeconds) return 'exists_with_different_timeout';
  if (command.debitAccountId !== undefined && command.debitAccountId !== stored.debitAccountId) {
    return 'exists_with_different_debit_account_id';
  }
  if (command.creditAccountId !== undefined && command.creditAccountId !== stored.creditAccountId) {
    return 'exists_with_different_credit_account_id';
  }
  const expectedAmount = command.amount ?? stored.pendingAmount;
  if (expectedAmount !== stored.amount) return 'exists_with_different_amount';
  if (command.asset !== undefined && command.asset !== stored.asset) return 'exists_with_different_asset';
  if (command.code !== stored.code) return 'exists_with_different_code';
  if (canonicalJson(command.metadata ?? null) !== canonicalJson(stored.metadata)) {
    return 'exists_with_different_metadata';
  }
  return null;
}
