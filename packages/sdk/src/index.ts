// @micropay/sdk: the typed client of the Micropay API. See docs/sdk.md.
export {
  DEFAULT_BASE_URL,
  Micropay,
  type ApiList,
  type CallOptions,
  type Customer,
  type CustomerCreateParams,
  type CustomerListParams,
  type HttpMethod,
  type MicropayOptions,
  type Payment,
  type PaymentCancelParams,
  type PaymentCaptureParams,
  type PaymentCreateParams,
  type PaymentListParams,
  type PathsWith,
  type Refund,
  type RefundCreateParams,
  type RefundListParams,
  type ResponseOf,
  type Schemas,
  type TopUp,
  type TopUpCreateParams,
  type TopUpListParams,
  type Wallet,
} from './client.ts';
export { MicropayError, type MicropayErrorFields, type MicropayErrorType, type SdkErrorCode } from './errors.ts';
export { ERROR_CODES, type ErrorCode } from './error-codes.ts';
export { RETRY_DEFAULTS, type RetryOptions } from './retry.ts';
export { webhooks, type WebhookEvent, type WebhookHeaders } from './webhooks.ts';
export type { components, paths } from './schema.ts';
