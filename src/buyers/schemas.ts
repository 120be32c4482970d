// JSON schemas of the buyer routes: they validate requests (unknown fields refused), shape responses
// (nothing undeclared leaves the server: no digest, key or counter) and make the OpenAPI document.

const NULLABLE_STRING = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const;

export const BUYER_SCHEMA = {
  $id: 'Buyer',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['buyer'] },
    livemode: { type: 'boolean' },
    email: NULLABLE_STRING,
    phone: NULLABLE_STRING,
    display_name: NULLABLE_STRING,
    passkeys: { type: 'integer', description: 'How many passkeys the buyer has (not revoked).' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'email', 'phone', 'display_name', 'passkeys', 'created'],
} as const;

export const DEVICE_SCHEMA = {
  $id: 'BuyerDevice',
  type: 'object',
  properties: {
    id: { type: 'string', description: '`bdev_...`: keep it (e.g. in localStorage) and send it as `device` when signing in again from this browser.' },
    object: { type: 'string', enum: ['device'] },
    name: { type: 'string', description: 'From the user agent, or the `device_name` given at sign-in.' },
    current: { type: 'boolean', description: 'Whether the calling session was opened on this device.' },
    created: { type: 'integer', description: 'Unix seconds.' },
    last_seen: { type: 'integer', description: 'Unix seconds (to the minute).' },
    revoked: { type: 'boolean' },
  },
  required: ['id', 'object', 'name', 'current', 'created', 'last_seen', 'revoked'],
} as const;

export const PASSKEY_SCHEMA = {
  $id: 'Passkey',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['passkey'] },
    device_type: { type: 'string', enum: ['single_device', 'multi_device'], description: '`multi_device`: synced by the platform (iCloud Keychain, Google Password Manager).' },
    backed_up: { type: 'boolean' },
    transports: { type: 'array', items: { type: 'string' } },
    created: { type: 'integer', description: 'Unix seconds.' },
    last_used: { anyOf: [{ type: 'integer' }, { type: 'null' }], description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'device_type', 'backed_up', 'transports', 'created', 'last_used'],
} as const;

export const SIGN_IN_SCHEMA = {
  $id: 'BuyerSignIn',
  type: 'object',
  properties: {
    buyer: { $ref: 'Buyer#' },
    session: {
      type: 'object',
      properties: {
        token: { type: 'string', description: 'Send it as `Micropay-Buyer-Session`. Shown only here; Micropay keeps a digest.' },
        expires_at: { type: 'integer', description: 'Unix seconds.' },
      },
      required: ['token', 'expires_at'],
    },
    device: { $ref: 'BuyerDevice#' },
  },
  required: ['buyer', 'session', 'device'],
} as const;

export const CODE_REQUEST_SCHEMA = {
  $id: 'BuyerCodeRequest',
  type: 'object',
  properties: {
    code_request: { type: 'string', description: '`otp_...`: send it back with the code.' },
    channel: { type: 'string', enum: ['email', 'sms'] },
    sent_to: { type: 'string', description: 'The address, masked (`a•••@example.com`).' },
    expires_at: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['code_request', 'channel', 'sent_to', 'expires_at'],
} as const;

/** WebAuthn JSON as browsers and @simplewebauthn produce it; checked by the verification, not here. */
const WEBAUTHN_JSON = { type: 'object', additionalProperties: true, maxProperties: 20 } as const;
const DEVICE_NAME = { type: 'string', minLength: 1, maxLength: 100, description: 'A name for this device; default: from the User-Agent header.' } as const;
const DEVICE_ID = { type: 'string', maxLength: 64, description: 'The `bdev_...` this browser was remembered as; reused when it is the buyer\'s and not revoked.' } as const;

export const REGISTRATION_OPTIONS_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    email: { type: 'string', minLength: 3, maxLength: 254 },
    phone: { type: 'string', minLength: 7, maxLength: 24, description: 'International format, e.g. +14155550123.' },
    display_name: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;

export const REGISTRATION_OPTIONS_RESPONSE = {
  type: 'object',
  properties: {
    registration: { type: 'string', description: '`preg_...`: send it back with the credential.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialCreationOptionsJSON, for navigator.credentials.create() (or startRegistration).' },
  },
  required: ['registration', 'options'],
} as const;

export const REGISTRATION_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    registration: { type: 'string', maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'RegistrationResponseJSON.' },
    device_name: DEVICE_NAME,
  },
  required: ['registration', 'credential'],
} as const;

export const AUTHENTICATION_OPTIONS_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;

export const AUTHENTICATION_OPTIONS_RESPONSE = {
  type: 'object',
  properties: {
    authentication: { type: 'string', description: '`pauth_...`: send it back with the credential.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialRequestOptionsJSON (discoverable credentials), for navigator.credentials.get() (or startAuthentication).' },
  },
  required: ['authentication', 'options'],
} as const;

export const AUTHENTICATION_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    authentication: { type: 'string', maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'AuthenticationResponseJSON.' },
    device_name: DEVICE_NAME,
    device: DEVICE_ID,
  },
  required: ['authentication', 'credential'],
} as const;

export const CODE_REQUEST_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    email: { type: 'string', minLength: 3, maxLength: 254 },
    phone: { type: 'string', minLength: 7, maxLength: 24 },
  },
} as const;

export const CODE_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    code_request: { type: 'string', maxLength: 64 },
    code: { type: 'string', minLength: 1, maxLength: 12 },
    device_name: DEVICE_NAME,
    device: DEVICE_ID,
  },
  required: ['code_request', 'code'],
} as const;

export const DELETED_PASSKEY_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, object: { type: 'string', enum: ['passkey'] }, deleted: { type: 'boolean' } },
  required: ['id', 'object', 'deleted'],
} as const;

export const SIGN_OUT_SCHEMA = {
  type: 'object',
  properties: { object: { type: 'string', enum: ['buyer_session'] }, ended: { type: 'boolean' } },
  required: ['object', 'ended'],
} as const;
