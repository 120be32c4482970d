// The one error the SDK throws for a failed call: the API's error body (`{ error: { type, code,
// message, param, request_id } }`) with the HTTP status, or a connection failure after the retries ran
// out. Code that handles errors switches on `code`, which is stable (docs/errors.md).
import type { ErrorCode } from './error-codes.ts';

/** The API's error types, plus the SDK's own for a call that never got an answer. */
export type MicropayErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'payment_error'
  | 'api_error'
  | 'connection_error'
  | 'webhook_verification_error';

/** Codes of the SDK itself (not sent by the server). */
export type SdkErrorCode = 'connection_failed' | 'response_invalid' | 'webhook_signature_invalid';

export interface MicropayErrorFields {
  type: MicropayErrorType;
  /** A code of docs/errors.md, or one of the SDK's; a newer server may send codes this SDK does not list. */
  code: ErrorCode | SdkErrorCode | (string & {});
  message: string;
  /** The parameter the error is about, when there is one (`amount`, `customer`, `Idempotency-Key`, ...). */
  param?: string;
  /** The server's id of the request: quote it when asking the operator about a failure. */
  requestId?: string;
  /** The HTTP status, or null when no answer arrived. */
  status: number | null;
  cause?: unknown;
}

export class MicropayError extends Error implements MicropayErrorFields {
  readonly type: MicropayErrorType;
  readonly code: MicropayErrorFields['code'];
  readonly param?: string;
  readonly requestId?: string;
  readonly status: number | null;

  constructor(fields: MicropayErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'MicropayError';
    this.type = fields.type;
    this.code = fields.code;
    this.status = fields.status;
    if (fields.param !== undefined) this.param = fields.param;
    if (fields.requestId !== undefined) this.requestId = fields.requestId;
  }
}

interface ErrorBody {
  error: { type: string; code: string; message: string; param?: string; request_id?: string };
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

/** The error of a response that was not a success, from its parsed body (or whatever came instead). */
export function errorFromResponse(status: number, body: unknown): MicropayError {
  if (isErrorBody(body)) {
    const { error } = body;
    return new MicropayError({
      type: error.type as MicropayErrorType,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      ...(error.request_id === undefined ? {} : { requestId: error.request_id }),
      status,
    });
  }
  // Not our error shape: a proxy in between, or a server of another version. Say what came.
  const shown = typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body ?? null).slice(0, 200);
  return new MicropayError({
    type: 'api_error',
    code: 'response_invalid',
    message: `The server answered ${status} without a Micropay error body: ${shown}`,
    status,
  });
}

export function connectionError(cause: unknown): MicropayError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MicropayError({
    type: 'connection_error',
    code: 'connection_failed',
    message: `Could not reach the Micropay API: ${reason}`,
    status: null,
    cause,
  });
}
