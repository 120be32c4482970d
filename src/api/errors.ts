// Every error the HTTP API answers with: one table from stable code to HTTP status, type and default
// message, documented in docs/errors.md. Domain services return these codes as values; routes throw
// `ApiError` and the app's error handler renders `{ error: { type, code, message, param, request_id } }`.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'payment_error'
  | 'api_error';

interface ErrorSpec {
  status: number;
  type: ErrorType;
  message: string;
}

const spec = (status: number, type: ErrorType, message: string): ErrorSpec => ({ status, type, message });

export const API_ERRORS = {
  api_key_missing: spec(401, 'authentication_error', 'Send an API key as "Authorization: Bearer <key>".'),
  api_key_invalid: spec(401, 'authentication_error', 'The API key is not valid, or it was revoked or has expired.'),
  api_key_scope_insufficient: spec(403, 'permission_error', 'This key is read-only; use a secret key with write scope.'),
  secret_key_required: spec(403, 'permission_error', 'This endpoint needs a secret key; publishable keys cannot use it.'),
  operator_key_required: spec(403, 'permission_error', 'This endpoint is for the operator of the installation.'),
  merchant_key_required: spec(403, 'permission_error', 'This endpoint acts for a merchant; use a merchant key.'),
  parameter_missing: spec(400, 'invalid_request_error', 'A required parameter is missing.'),
  parameter_invalid: spec(400, 'invalid_request_error', 'A parameter has an invalid value.'),
  parameter_unknown: spec(400, 'invalid_request_error', 'The request has a parameter this endpoint does not know.'),
  body_invalid: spec(400, 'invalid_request_error', 'The request body is not valid JSON.'),
  body_too_large: spec(413, 'invalid_request_error', 'The request body is too large.'),
  header_too_large: spec(431, 'invalid_request_error', 'A request header is too large.'),
  media_type_unsupported: spec(415, 'invalid_request_error', 'Send the request body as application/json.'),
  resource_missing: spec(404, 'invalid_request_error', 'No such object.'),
  route_not_found: spec(404, 'invalid_request_error', 'No such endpoint.'),
  currency_unsupported: spec(400, 'invalid_request_error', 'This currency is not supported.'),
  amount_too_small: spec(400, 'invalid_request_error', 'The amount is below the minimum.'),
  line_items_mismatch: spec(400, 'invalid_request_error', 'The line items do not add up to the amount.'),
  payment_unexpected_state: spec(409, 'invalid_request_error', 'The payment is not in a state that allows this.'),
  concurrent_modification: spec(409, 'invalid_request_error', 'The object was changed by another request at the same time; retry.'),
  capture_amount_invalid: spec(400, 'invalid_request_error', 'The amount to capture is more than the payment holds.'),
  insufficient_funds: spec(402, 'payment_error', 'The wallet does not hold enough to pay.'),
  payment_blocked: spec(402, 'payment_error', 'The payment was refused by risk controls.'),
  // Points paying part of a purchase at the checkout (docs/loyalty.md).
  points_insufficient: spec(402, 'payment_error', 'You do not have that many spendable points (earned points may still be held, or owed back after a refund).'),
  points_redemption_unavailable: spec(400, 'invalid_request_error', "Points cannot pay this payment: the merchant's program does not redeem points in its currency, or it is captured manually."),
  points_redemption_invalid: spec(400, 'invalid_request_error', "points_to_redeem is below the program's minimum or above the share of the payment points may pay."),
  refund_amount_too_large: spec(400, 'invalid_request_error', 'The amount is more than what remains refundable on the payment.'),
  refund_unexpected_state: spec(409, 'invalid_request_error', 'The refund is not in a state that allows this.'),
  refund_blocked: spec(402, 'payment_error', 'The refund was refused by risk controls.'),
  merchant_balance_insufficient: spec(402, 'payment_error', "The merchant's balance does not cover the refund."),
  payment_disputed: spec(409, 'invalid_request_error', 'The payment is disputed; it cannot be refunded until the dispute is decided.'),
  dispute_exists: spec(409, 'invalid_request_error', 'The payment already has a dispute.'),
  dispute_amount_too_large: spec(400, 'invalid_request_error', 'The amount is more than was captured and not refunded.'),
  dispute_unexpected_state: spec(409, 'invalid_request_error', 'The dispute is not in a state that allows this.'),
  evidence_file_too_large: spec(413, 'invalid_request_error', 'An evidence file may be at most 2 MiB.'),
  evidence_file_type_unsupported: spec(400, 'invalid_request_error', 'Evidence files must be PNG, JPEG or PDF, and their content must be of the declared type.'),
  evidence_files_limit_reached: spec(409, 'invalid_request_error', 'The dispute already has as many evidence files as it may have.'),
  bank_account_missing: spec(400, 'invalid_request_error', 'Set a bank account in the payout settings before paying out.'),
  payout_blocked: spec(402, 'payment_error', 'The payout was refused by risk controls.'),
  payouts_unavailable: spec(503, 'api_error', 'No bank rail is configured for payouts in this mode.'),
  card_number_invalid: spec(400, 'invalid_request_error', 'The card number is not valid.'),
  card_expired: spec(400, 'invalid_request_error', 'The card has expired.'),
  card_expiry_invalid: spec(400, 'invalid_request_error', 'The card expiry date is not valid.'),
  card_cvc_invalid: spec(400, 'invalid_request_error', 'The card security code is not valid.'),
  review_unexpected_state: spec(409, 'invalid_request_error', 'The review is not in a state that allows this.'),
  rule_invalid: spec(400, 'invalid_request_error', 'The rule does not compile; see errors for each problem and its position.'),
  rule_limit_reached: spec(409, 'invalid_request_error', 'The installation has as many rules as it may have; disable or reuse one.'),
  receipt_unavailable: spec(409, 'invalid_request_error', 'Only a succeeded payment, top-up or refund has a receipt.'),
  top_up_unexpected_state: spec(409, 'invalid_request_error', 'The top-up is not in a state that allows this.'),
  three_d_secure_incomplete: spec(409, 'invalid_request_error', 'The buyer has not completed the 3-D Secure challenge yet.'),
  card_processor_unavailable: spec(503, 'api_error', 'The card processor did not answer; retry with the same Idempotency-Key.'),
  // The checkout (docs/api/checkout.md).
  checkout_buyer_mismatch: spec(403, 'permission_error', 'This payment names another customer; only that customer\'s buyer can pay it.'),
  authentication_failed: spec(400, 'payment_error', 'The confirmation was not valid for this payment; ask for a new challenge and try again.'),
  challenge_expired: spec(400, 'payment_error', 'The challenge has expired; ask for a new one.'),
  challenge_used: spec(409, 'payment_error', 'The challenge was already used; ask for a new one.'),
  buyer_session_required: spec(401, 'authentication_error', 'Sign in first: send the buyer session as "Micropay-Buyer-Session: <token>"; this one is missing, unknown, ended or expired.'),
  buyer_exists: spec(409, 'invalid_request_error', 'A buyer with this email or phone number exists already; sign in instead.'),
  ceremony_unknown: spec(400, 'invalid_request_error', 'No such passkey ceremony, or it was used already; start again.'),
  ceremony_expired: spec(400, 'invalid_request_error', 'The passkey ceremony took too long; start again.'),
  passkey_verification_failed: spec(400, 'invalid_request_error', 'The passkey could not be verified.'),
  code_invalid: spec(400, 'invalid_request_error', 'The code is not right, or it was used already.'),
  code_expired: spec(400, 'invalid_request_error', 'The code has expired; ask for a new one.'),
  code_attempts_exceeded: spec(429, 'invalid_request_error', 'Too many wrong codes; ask for a new one.'),
  codes_rate_limited: spec(429, 'invalid_request_error', 'Too many codes were sent to this address; wait an hour and try again.'),
  message_gateway_unavailable: spec(503, 'api_error', 'No message gateway is configured to send codes.'),
  message_not_sent: spec(503, 'api_error', 'The email or SMS provider did not take the message; ask for a new code in a moment.'),
  buyer_sign_in_too_old: spec(403, 'permission_error', 'Adding a passkey needs a recent sign-in: sign in again, then add the new passkey within 10 minutes.'),
  buyer_session_merchant_bound: spec(403, 'permission_error', "This session was opened with a code on a merchant's pages and cannot add or remove passkeys or sign out other devices: sign in to your Micropay wallet and do it there."),
  // Support tickets (docs/api/support.md).
  support_ticket_closed: spec(409, 'invalid_request_error', 'The support ticket is closed; open a new one.'),
  support_ticket_too_long: spec(409, 'invalid_request_error', 'The support ticket has as many messages as it may have; open a new one.'),
  webhook_endpoint_limit_reached: spec(400, 'invalid_request_error', 'The merchant has the most webhook endpoints allowed in this mode; delete one first.'),
  webhook_endpoint_disabled: spec(409, 'invalid_request_error', 'The webhook endpoint is disabled; enable it first.'),
  webhook_delivery_attempts_exhausted: spec(409, 'invalid_request_error', 'The delivery has had the most attempts allowed (100); it cannot be retried again.'),
  // Staff sign-in, sessions and roles (docs/api/staff.md).
  staff_session_invalid: spec(401, 'authentication_error', 'The staff session is unknown, signed out, expired (12 hours) or idle too long (30 minutes); sign in again.'),
  staff_session_required: spec(401, 'authentication_error', 'This endpoint needs a staff session: sign in with a passkey and send "Authorization: Bearer mss_...".'),
  staff_permission_missing: spec(403, 'permission_error', 'Your role does not have the permission this endpoint needs.'),
  staff_route_not_allowed: spec(403, 'permission_error', 'Staff sessions of this app cannot call this endpoint.'),
  staff_role_forbidden: spec(403, 'permission_error', 'You may not give this role, or manage this user or team.'),
  staff_user_exists: spec(409, 'invalid_request_error', 'An active staff user with this email exists already in this team.'),
  staff_last_passkey: spec(409, 'invalid_request_error', 'You cannot revoke your last passkey: add another one first.'),
  audit_unavailable: spec(503, 'api_error', 'The change was not made: its audit event could not be written. Retry with the same Idempotency-Key.'),
  staff_last_owner: spec(409, 'invalid_request_error', 'The team must keep at least one active owner (the operator: one active admin).'),
  staff_invitation_invalid: spec(400, 'invalid_request_error', 'The invitation link is not valid, or it was used or replaced already; ask for a new one.'),
  staff_invitation_expired: spec(400, 'invalid_request_error', 'The invitation has expired (after 7 days); ask for a new one.'),
  staff_sign_in_too_old: spec(403, 'permission_error', 'Adding a passkey needs a recent sign-in: sign in again with a passkey you have, then add the new one within 10 minutes.'),
  staff_sign_in_rate_limited: spec(429, 'invalid_request_error', 'Too many sign-in attempts from this address; wait 15 minutes and try again.'),
  idempotency_key_invalid: spec(400, 'idempotency_error', 'An Idempotency-Key is 1 to 255 printable characters.'),
  idempotency_key_reused: spec(400, 'idempotency_error', 'This Idempotency-Key was used with different parameters.'),
  idempotency_key_in_use: spec(409, 'idempotency_error', 'A request with this Idempotency-Key is still running; retry later.'),
  service_overloaded: spec(503, 'api_error', 'The service is overloaded; retry with backoff.'),
  lock_timeout: spec(503, 'api_error', 'Another request or process is changing an object this request needs; nothing was written; retry.'),
  ledger_verify_timeout: spec(503, 'api_error', 'The ledger verification did not finish within its time limit; retry later.'),
  internal_error: spec(500, 'api_error', 'Something went wrong on our side; it has been logged.'),
  top_ups_unavailable: spec(503, 'api_error', 'No card processor is configured for live top-ups (CARD_PROCESSOR_URL).'),
} as const satisfies Record<string, ErrorSpec>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    readonly param?: string,
    /** Itemised problems of one request (each problem of a risk rule that does not compile). */
    readonly errors?: readonly ErrorItem[],
    /** The payment the request created or changed although it failed (a `confirm: true` refused by
     * risk or short of funds), as Stripe's `error.payment_intent`: the caller learns its id and state. */
    readonly payment?: unknown,
  ) {
    super(message ?? API_ERRORS[code].message);
    this.status = API_ERRORS[code].status;
    this.type = API_ERRORS[code].type;
  }
}

/** One itemised problem: a stable code, a message, and where in the input it is. */
export interface ErrorItem {
  code: string;
  message: string;
  offset: number;
  line: number;
  column: number;
}

export interface ErrorBody {
  error: { type: ErrorType; code: ApiErrorCode; message: string; param?: string; errors?: ErrorItem[]; payment?: unknown; request_id: string };
}

export function errorBody(error: ApiError, requestId: string): ErrorBody {
  return {
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      ...(error.errors === undefined ? {} : { errors: error.errors.map(({ code, message, offset, line, column }) => ({ code, message, offset, line, column })) }),
      ...(error.payment === undefined ? {} : { payment: error.payment }),
      request_id: requestId,
    },
  };
}

export const ERROR_BODY_SCHEMA = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        type: { type: 'string' },
        code: { type: 'string' },
        message: { type: 'string' },
        param: { type: 'string' },
        errors: {
          type: 'array',
          description: 'Each problem of the input, where the code itemises them (rule_invalid).',
          items: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              message: { type: 'string' },
              offset: { type: 'integer', description: '0-based, in UTF-16 code units.' },
              line: { type: 'integer', description: '1-based.' },
              column: { type: 'integer', description: '1-based.' },
            },
            required: ['code', 'message', 'offset', 'line', 'column'],
          },
        },
        payment: {
          type: 'object',
          additionalProperties: true,
          description: 'The payment this failed request created or changed (a payment confirmed with `confirm: true` and refused by risk controls or short of funds): its id, status and `last_payment_error`.',
        },
        request_id: { type: 'string' },
      },
      required: ['type', 'code', 'message', 'request_id'],
    },
  },
  required: ['error'],
} as const;
