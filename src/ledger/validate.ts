// Static checks of one transfer or account: everything that can be decided without the database.
import {
  ACCOUNT_KINDS,
  AMOUNT_MAX,
  CODE_MAX,
  METADATA_BYTES_MAX,
  TIMEOUT_SECONDS_MAX,
  type AccountFailureCode,
  type AccountInput,
  type ExpireInput,
  type TransferFailureCode,
  type TransferInput,
  type TransferKind,
} from './model.ts';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ASSET_PATTERN = /^[A-Z][A-Z0-9_]{1,15}$/;

export type LedgerCommand = TransferInput | ExpireInput;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

export function isAssetCode(value: unknown): value is string {
  return typeof value === 'string' && ASSET_PATTERN.test(value);
}

export function isExpire(command: LedgerCommand): command is ExpireInput {
  return 'expirePendingId' in command && command.expirePendingId !== undefined;
}

export function commandKind(command: LedgerCommand): TransferKind {
  if (isExpire(command)) return 'expire_pending';
  if (command.postPendingId !== undefined) return 'post_pending';
  if (command.voidPendingId !== undefined) return 'void_pending';
  return command.pending ? 'pending' : 'posted';
}

export function pendingIdOf(command: LedgerCommand): string | undefined {
  if (isExpire(command)) return command.expirePendingId;
  return command.postPendingId ?? command.voidPendingId;
}

/** Serialises JSON with sorted keys, so that two equal objects compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

const NO_METADATA = Object.freeze({ ok: true as const, json: null });

/** Checks metadata is a plain JSON object within the size bound; returns its canonical text. */
export function checkMetadata(
  metadata: unknown,
): { ok: true; json: string | null } | { ok: false; code: 'metadata_invalid' | 'metadata_too_large' } {
  if (metadata === undefined || metadata === null) return NO_METADATA;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) return { ok: false, code: 'metadata_invalid' };
  let json: string;
  try {
    if (!storableStrings(metadata, 0)) return { ok: false, code: 'metadata_invalid' };
    json = canonicalJson(metadata);
    JSON.parse(json);
  } catch {
    return { ok: false, code: 'metadata_invalid' };
  }
  if (Buffer.byteLength(json, 'utf8') > METADATA_BYTES_MAX) return { ok: false, code: 'metadata_too_large' };
  return { ok: true, json };
}

const METADATA_DEPTH_MAX = 16;

/** PostgreSQL's jsonb stores neither the NUL character nor unpaired UTF-16 surrogates; keys count too. */
function storableStrings(value: unknown, depth: number): boolean {
  if (depth > METADATA_DEPTH_MAX) return false;
  if (typeof value === 'string') return value.isWellFormed() && !value.includes('\u0000');
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') return false;
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((item) => storableStrings(item, depth + 1));
  return Object.entries(value).every(([key, item]) => storableStrings(key, depth) && storableStrings(item, depth + 1));
}

function checkAmount(amount: unknown): TransferFailureCode | null {
  if (typeof amount !== 'bigint') return 'amount_must_be_integer';
  if (amount <= 0n) return 'amount_must_be_positive';
  if (amount > AMOUNT_MAX) return 'amount_too_large';
  return null;
}

function checkTimeout(command: TransferInput, kind: TransferKind): TransferFailureCode | null {
  const timeout = command.timeoutSeconds;
  if (timeout === undefined || timeout === 0) return null;
  if (kind !== 'pending') return 'timeout_reserved_for_pending_transfer';
  if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > TIMEOUT_SECONDS_MAX) return 'timeout_invalid';
  return null;
}

/** The first static failure of a transfer in order of precedence, or null when it may go on. */
export function validateTransfer(command: LedgerCommand): TransferFailureCode | null {
  if (!isUuid(command.id)) return 'id_must_be_uuid';
  if (isExpire(command)) {
    if (!isUuid(command.expirePendingId)) return 'pending_id_must_be_uuid';
    if (command.expirePendingId === command.id) return 'pending_id_must_be_different';
    return null;
  }
  const shapes = Number(command.pending === true) + Number(command.postPendingId !== undefined) + Number(command.voidPendingId !== undefined);
  if (shapes > 1) return 'flags_are_mutually_exclusive';
  const kind = commandKind(command);
  const resolves = kind === 'post_pending' || kind === 'void_pending';
  if (!resolves || command.debitAccountId !== undefined) {
    if (!isUuid(command.debitAccountId)) return 'debit_account_id_must_be_uuid';
  }
  if (!resolves || command.creditAccountId !== undefined) {
    if (!isUuid(command.creditAccountId)) return 'credit_account_id_must_be_uuid';
  }
  if (command.debitAccountId !== undefined && command.debitAccountId === command.creditAccountId) {
    return 'accounts_must_be_different';
  }
  if (resolves) {
    const pendingId = pendingIdOf(command);
    if (!isUuid(pendingId)) return 'pending_id_must_be_uuid';
    if (pendingId === command.id) return 'pending_id_must_be_different';
  }
  const timeoutFailure = checkTimeout(command, kind);
  if (timeoutFailure) return timeoutFailure;
  if (!resolves || command.amount !== undefined) {
    const amountFailure = checkAmount(command.amount);
    if (amountFailure) return amountFailure;
  }
  if (!Number.isInteger(command.code) || command.code < 1 || command.code > CODE_MAX) return 'code_invalid';
  if (command.asset !== undefined && !isAssetCode(command.asset)) return 'asset_invalid';
  const metadata = checkMetadata(command.metadata);
  if (!metadata.ok) return metadata.code;
  return null;
}

/** The first static failure of an account, or null. */
export function validateAccount(input: AccountInput): AccountFailureCode | null {
  if (!isUuid(input.id)) return 'id_must_be_uuid';
  if (typeof input.kind !== 'string' || !Object.hasOwn(ACCOUNT_KINDS, input.kind)) return 'kind_invalid';
  if (input.flags?.debitsMustNotExceedCredits && input.flags?.creditsMustNotExceedDebits) {
    return 'flags_are_mutually_exclusive';
  }
  const limit = input.overdraftLimit;
  if (limit !== undefined && (typeof limit !== 'bigint' || limit < 0n || limit > AMOUNT_MAX)) {
    return 'overdraft_limit_invalid';
  }
  const metadata = checkMetadata(input.metadata);
  if (!metadata.ok) return metadata.code;
  return null;
}
