// JSON schemas of the checkout routes: requests are validated (unknown fields refused), responses are
// shaped by them (nothing undeclared leaves the server) and they make the OpenAPI document.
import { PAYMENT_STATUSES } from '../payments/model.ts';
import { AMOUNT_SCHEMA, LINE_ITEMS_JSON_SCHEMA } from '../payments/schemas.ts';
import { CARD_INPUT_SCHEMA } from '../top-ups/schemas.ts';
import { CHECKOUT_STATUSES } from './model.ts';

const CLIENT_SECRET = { type: 'string', minLength: 1, maxLength: 200, description: "The payment's `client_secret`." } as const;
const PAYMENT_ID = { type: 'string', minLength: 1, maxLength: 64, description: 'The payment (`pay_...`) the checkout is paying.' } as const;
/** WebAuthn JSON as browsers and @simplewebauthn produce it; checked by the verification, not here. */
const WEBAUTHN_JSON = { type: 'object', additionalProperties: true, maxProperties: 20 } as const;

export const CHECKOUT_PAYMENT_SCHEMA = {
  $id: 'CheckoutPayment',
  type: 'object',
  properties: {
    id: { type: 'string' },
    amount: { type: 'integer', description: 'Minor units.' },
    currency: { type: 'string' },
    status: { type: 'string', enum: [...PAYMENT_STATUSES] },
    description: { type: ['string', 'null'] },
    line_items: LINE_ITEMS_JSON_SCHEMA,
    points_redeemed: { type: 'integer', description: 'Loyalty points spent on this payment (0: none).' },
    amount_paid_in_points: { type: 'integer', description: 'What they paid, minor units; the wallet pays `amount` less this.' },
  },
  required: ['id', 'amount', 'currency', 'status', 'description', 'line_items', 'points_redeemed', 'amount_paid_in_points'],
} as const;

export const CHECKOUT_VIEW_SCHEMA = {
  $id: 'Checkout',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['checkout'] },
    payment: { $ref: 'CheckoutPayment#' },
    payee: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    buyer: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: {
            id: { type: 'string' },
            display_name: { type: ['string', 'null'] },
            wallet: { type: 'object', properties: { available: { type: 'integer' }, currency: { type: 'string' } }, required: ['available', 'currency'] },
            payment_methods: {
              type: 'array',
              description: 'The recommended method first.',
              items: {
                type: 'object',
                properties: {
                  type: { type: 'string', enum: ['wallet', 'card'] },
                  available: { type: 'integer', description: 'Wallet only.' },
                  id: { type: 'string', description: 'Card only: the saved card (`card_...`), to top up from.' },
                  brand: { type: 'string' },
                  last4: { type: 'string' },
                  recommended: { type: 'boolean' },
                },
                required: ['type', 'recommended'],
              },
            },
            points: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object',
                  description: "The buyer's points at this merchant and what they can pay of this payment.",
                  properties: {
                    balance: { type: 'integer' },
                    spendable: { type: 'integer', description: 'The balance less points still held and any claw-back shortfall owed.' },
                    value_minor_per_point: { type: 'integer', description: "What one point is worth in the payment's currency, minor units." },
                    minimum_points: { type: 'integer' },
                    redeemable_points: { type: 'integer', description: 'The most points this payment can take (its share limit and the spendable points); 0 when below the minimum.' },
                    redeemable_value: { type: 'integer', description: '`redeemable_points × value_minor_per_point`, minor units.' },
                  },
                  required: ['balance', 'spendable', 'value_minor_per_point', 'minimum_points', 'redeemable_points', 'redeemable_value'],
                },
              ],
              description: "Null when the merchant's program does not redeem points in this currency.",
            },
          },
          required: ['id', 'display_name', 'wallet', 'payment_methods', 'points'],
        },
      ],
      description: 'Null until the buyer signs in (send `Micropay-Buyer-Session`).',
    },
  },
  required: ['object', 'payment', 'payee', 'buyer'],
} as const;

export const CHECKOUT_RESULT_SCHEMA = {
  $id: 'CheckoutResult',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['checkout_result'] },
    status: { type: 'string', enum: [...CHECKOUT_STATUSES] },
    payment: { $ref: 'CheckoutPayment#' },
    next_action: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          description: '`passkey`: ask for a challenge and confirm with a passkey (or a code); `top_up`: top the wallet up by at least `minimum`, then confirm again.',
          properties: {
            type: { type: 'string', enum: ['passkey', 'top_up'] },
            reason: { type: 'string', enum: ['exemption_exceeded', 'risk'] },
            minimum: { type: 'integer' },
            suggested: { type: 'integer' },
          },
          required: ['type'],
        },
      ],
    },
    message: { type: 'string', description: 'What to tell the buyer, in plain words.' },
    support: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] }],
      description: 'Where to send a buyer whose payment was held or refused.',
    },
  },
  required: ['object', 'status', 'payment', 'next_action', 'message', 'support'],
} as const;

export const VIEW_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { client_secret: CLIENT_SECRET },
  required: ['client_secret'],
} as const;

export const CONFIRM_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client_secret: CLIENT_SECRET,
    points_to_redeem: { type: 'integer', minimum: 0, maximum: 1_000_000_000, description: "Loyalty points to pay part of the payment with (see the view's `buyer.points`); 0 or absent: none." },
    device: {
      type: 'object',
      additionalProperties: false,
      description: 'What the browser says of itself (risk signals).',
      properties: {
        user_agent: { type: 'string', maxLength: 500 },
        timezone: { type: 'string', maxLength: 64 },
        screen: { type: 'string', maxLength: 32, description: 'e.g. `390x844`.' },
      },
    },
  },
  required: ['client_secret'],
} as const;

export const CLIENT_SECRET_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { client_secret: CLIENT_SECRET },
  required: ['client_secret'],
} as const;

export const AUTHENTICATION_SCHEMA = {
  $id: 'PaymentAuthentication',
  type: 'object',
  properties: {
    challenge: { type: 'string', description: '`chl_...`: send it back with the assertion. Single use, two minutes.' },
    expires_at: { type: 'integer', description: 'Unix seconds.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get() (or startAuthentication); its challenge is bound to this payment.' },
    spc: {
      type: 'object',
      description: 'The same challenge as Secure Payment Confirmation data (PaymentRequest `secure-payment-confirmation`).',
      properties: {
        rp_id: { type: 'string' },
        credential_ids: { type: 'array', items: { type: 'string' }, description: 'base64url.' },
        payee_name: { type: 'string' },
        payee_origin: { type: 'string' },
        total: { type: 'object', properties: { currency: { type: 'string' }, value: { type: 'string', description: 'Major units, e.g. `0.25`.' } }, required: ['currency', 'value'] },
        instrument: { type: 'object', properties: { display_name: { type: 'string' }, icon: { type: 'string' } }, required: ['display_name', 'icon'] },
      },
      required: ['rp_id', 'credential_ids', 'payee_name', 'payee_origin', 'total', 'instrument'],
    },
  },
  required: ['challenge', 'expires_at', 'options', 'spc'],
} as const;

export const AUTHENTICATE_BODY = {
  type: 'object',
  additionalProperties: false,
  description: 'Either `challenge` and `credential` (a passkey or Secure Payment Confirmation assertion), or `code_request` and `code`.',
  properties: {
    client_secret: CLIENT_SECRET,
    challenge: { type: 'string', minLength: 1, maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'AuthenticationResponseJSON.' },
    code_request: { type: 'string', minLength: 1, maxLength: 64 },
    code: { type: 'string', minLength: 1, maxLength: 12 },
  },
  required: ['client_secret'],
} as const;

export const TOP_UP_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client_secret: CLIENT_SECRET,
    payment: PAYMENT_ID,
    amount: AMOUNT_SCHEMA,
    card: CARD_INPUT_SCHEMA,
    payment_method: { type: 'string', maxLength: 64, description: 'A saved card (`card_...`) of the buyer at this merchant.' },
  },
  required: ['client_secret', 'payment', 'amount'],
} as const;

export const TOP_UP_CONFIRM_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { client_secret: CLIENT_SECRET, payment: PAYMENT_ID },
  required: ['client_secret', 'payment'],
} as const;
