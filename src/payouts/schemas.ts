// JSON schemas of the payout routes: requests are validated (unknown fields refused), responses shaped
// (a bank account number never leaves whole) and the OpenAPI document made from them.
import { AMOUNT_SCHEMA, CURRENCY_SCHEMA, METADATA_SCHEMA } from '../payments/schemas.ts';
import { PAYOUT_SCHEDULES, PAYOUT_STATUSES, WEEKDAYS } from './model.ts';

export const PAYOUT_BANK_ACCOUNT_SCHEMA = {
  $id: 'PayoutBankAccount',
  type: 'object',
  description: 'A bank account as the API shows it: masked to its last four characters.',
  properties: {
    object: { type: 'string', enum: ['bank_account'] },
    type: { type: 'string', enum: ['iban', 'account_number'] },
    last4: { type: 'string' },
    country: { type: ['string', 'null'], description: 'From the IBAN; null for a plain account number.' },
    account_holder_name: { type: 'string' },
  },
  required: ['object', 'type', 'last4', 'country', 'account_holder_name'],
} as const;

export const PAYOUT_SETTINGS_SCHEMA = {
  $id: 'PayoutSettings',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['payout_settings'] },
    livemode: { type: 'boolean' },
    bank_account: { anyOf: [{ type: 'null' }, { $ref: 'PayoutBankAccount#' }] },
    schedule: {
      type: 'object',
      properties: {
        interval: { type: 'string', enum: [...PAYOUT_SCHEDULES] },
        weekly_anchor: { type: 'string', enum: [...WEEKDAYS] },
      },
      required: ['interval', 'weekly_anchor'],
    },
    minimum_amounts: {
      type: 'object',
      description: 'The smallest payout per currency, minor units (the merchant’s own or the installation’s default).',
      additionalProperties: { type: 'integer' },
    },
    next_run: { type: ['integer', 'null'], description: 'Unix seconds of the next scheduled run; null for manual payouts or without a bank account.' },
    updated: { type: ['integer', 'null'], description: 'Unix seconds; null until the settings are first saved.' },
  },
  required: ['object', 'livemode', 'bank_account', 'schedule', 'minimum_amounts', 'next_run', 'updated'],
} as const;

export const PAYOUT_SCHEMA = {
  $id: 'Payout',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['payout'] },
    livemode: { type: 'boolean' },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    status: { type: 'string', enum: [...PAYOUT_STATUSES] },
    automatic: { type: 'boolean', description: 'Created by the schedule rather than on demand.' },
    period: { type: ['string', 'null'], description: 'The UTC date of the scheduled run it pays; null on demand.' },
    description: { type: ['string', 'null'] },
    destination: { $ref: 'PayoutBankAccount#' },
    bank_reference: { type: ['string', 'null'], description: "The bank's id of the credit transfer, once it was accepted." },
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    bank_reason_code: { type: ['string', 'null'], description: 'The ISO 20022 reason code of a rejection (AC04: closed account).' },
    risk_decision: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    paid_at: { type: ['integer', 'null'], description: 'Unix seconds at which the bank settled it.' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'amount', 'currency', 'status', 'automatic', 'period', 'destination', 'failure_code', 'created'],
} as const;

export const UPDATE_PAYOUT_SETTINGS_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bank_account: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account_number: { type: 'string', minLength: 4, maxLength: 42, description: 'An IBAN (spaces allowed) or a 4 to 17 digit account number.' },
        account_holder_name: { type: 'string', minLength: 1, maxLength: 70 },
      },
      required: ['account_number', 'account_holder_name'],
    },
    schedule: {
      type: 'object',
      additionalProperties: false,
      properties: {
        interval: { type: 'string', enum: [...PAYOUT_SCHEDULES] },
        weekly_anchor: { type: 'string', enum: [...WEEKDAYS] },
      },
    },
    minimum_amounts: {
      type: 'object',
      maxProperties: 20,
      propertyNames: { pattern: '^[A-Z]{3}$' },
      additionalProperties: AMOUNT_SCHEMA,
    },
  },
} as const;

export const CREATE_PAYOUT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    amount: { ...AMOUNT_SCHEMA, description: 'Minor units; the whole available balance when absent.' },
    currency: CURRENCY_SCHEMA,
    description: { type: 'string', maxLength: 500 },
    metadata: METADATA_SCHEMA,
  },
  required: ['currency'],
} as const;

export const LIST_PAYOUTS_FILTERS = {
  status: { type: 'string', enum: [...PAYOUT_STATUSES] },
  currency: CURRENCY_SCHEMA,
} as const;
