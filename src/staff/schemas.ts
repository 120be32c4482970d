// JSON schemas of the staff routes: they validate requests (unknown fields refused), shape responses
// (no digest, challenge store or counter leaves the server) and make the OpenAPI document.
import { LIST_QUERY_PROPERTIES } from '../api/http.ts';
import { MERCHANT_PERMISSIONS, MERCHANT_ROLES, OPERATOR_PERMISSIONS, OPERATOR_ROLES } from './roles.ts';

const ROLES = [...new Set<string>([...MERCHANT_ROLES, ...OPERATOR_ROLES])];
const NULLABLE_STRING = { type: ['string', 'null'] } as const;
const WEBAUTHN_JSON = { type: 'object', additionalProperties: true, maxProperties: 20 } as const;

export const STAFF_USER_SCHEMA = {
  $id: 'StaffUser',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['staff_user'] },
    email: { type: 'string' },
    name: NULLABLE_STRING,
    role: { type: 'string', enum: ROLES },
    merchant_id: { ...NULLABLE_STRING, description: 'The merchant the user works for; null for the operator\'s staff.' },
    app: { type: 'string', enum: ['dashboard', 'console'] },
    disabled: { type: 'boolean' },
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'email', 'name', 'role', 'merchant_id', 'app', 'disabled', 'created'],
} as const;

export const STAFF_ME_SCHEMA = {
  $id: 'StaffMe',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['staff_user'] },
    email: { type: 'string' },
    name: NULLABLE_STRING,
    role: { type: 'string', enum: ROLES },
    merchant_id: NULLABLE_STRING,
    app: { type: 'string', enum: ['dashboard', 'console'] },
    permissions: { type: 'array', items: { type: 'string', enum: [...new Set<string>([...MERCHANT_PERMISSIONS, ...OPERATOR_PERMISSIONS])] } },
    livemode: { type: 'boolean', description: 'The mode this request acted in (the Micropay-Livemode header).' },
  },
  required: ['id', 'object', 'email', 'name', 'role', 'merchant_id', 'app', 'permissions', 'livemode'],
} as const;

export const STAFF_INVITATION_SCHEMA = {
  $id: 'StaffInvitation',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['staff_invitation'] },
    email: { type: 'string' },
    name: NULLABLE_STRING,
    role: { type: 'string', enum: ROLES },
    merchant_id: NULLABLE_STRING,
    app: { type: 'string', enum: ['dashboard', 'console'] },
    url: { type: 'string', description: 'The invitation link with its token: present only in the response that created it.' },
    emailed: {
      type: 'boolean',
      description: 'Only in the response that created it: whether the link was emailed to the invited person (MESSAGE_GATEWAY sends email and took it); otherwise pass the link on yourself.',
    },
    created: { type: 'integer' },
    expires_at: { type: 'integer' },
  },
  required: ['id', 'object', 'email', 'name', 'role', 'merchant_id', 'app', 'created', 'expires_at'],
} as const;

export const STAFF_SESSION_SCHEMA = {
  $id: 'StaffSignIn',
  type: 'object',
  properties: {
    token: { type: 'string', description: '`mss_...`: send it as `Authorization: Bearer mss_...`. Shown once.' },
    expires_at: { type: 'integer', description: 'At most 12 hours after sign-in; the session also ends after 30 minutes without a request.' },
    idle_timeout_seconds: { type: 'integer' },
    user: { $ref: 'StaffUser#' },
  },
  required: ['token', 'expires_at', 'idle_timeout_seconds', 'user'],
} as const;

export const INVITE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    email: { type: 'string', minLength: 3, maxLength: 254 },
    role: { type: 'string', enum: ROLES },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    merchant: { type: 'string', maxLength: 64, description: 'Operator only: invite into this merchant instead of the operator\'s team.' },
  },
  required: ['email', 'role'],
} as const;

export const TEAM_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { merchant: { type: 'string', maxLength: 64, description: 'Operator only: this merchant\'s team instead of the operator\'s.' } },
} as const;

export const ROLE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { role: { type: 'string', enum: ROLES } },
  required: ['role'],
} as const;

export const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;

export const ENROLLMENT_OPTIONS_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { invitation: { type: 'string', maxLength: 100, description: 'The token from the invitation link (`msi_...`).' } },
  required: ['invitation'],
} as const;

export const ENROLLMENT_OPTIONS_RESPONSE = {
  type: 'object',
  properties: {
    enrollment: { type: 'string', description: '`sreg_...`: send it back with the credential.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialCreationOptionsJSON, for startRegistration().' },
    invitation: { $ref: 'StaffInvitation#' },
  },
  required: ['enrollment', 'options', 'invitation'],
} as const;

export const ENROLLMENT_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enrollment: { type: 'string', maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'RegistrationResponseJSON.' },
  },
  required: ['enrollment', 'credential'],
} as const;

export const SIGN_IN_OPTIONS_RESPONSE = {
  type: 'object',
  properties: {
    sign_in: { type: 'string', description: '`sauth_...`: send it back with the credential.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialRequestOptionsJSON (discoverable credentials), for startAuthentication().' },
  },
  required: ['sign_in', 'options'],
} as const;

export const SIGN_IN_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sign_in: { type: 'string', maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'AuthenticationResponseJSON.' },
  },
  required: ['sign_in', 'credential'],
} as const;

export const STAFF_AUDIT_EVENT_SCHEMA = {
  $id: 'StaffAuditEvent',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['staff_audit_event'] },
    livemode: { type: 'boolean', description: 'The mode the change was made in (false for a sign-in, which has none).' },
    user: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' } }, required: ['id', 'email'] },
    role: { type: 'string', description: 'The role the person had when they acted.' },
    action: { type: 'string', description: 'The route called, e.g. `POST /v1/refunds/:id/approve`.' },
    path: { type: 'string', description: 'The path called, without its query string.' },
    outcome: {
      type: 'string',
      enum: ['succeeded', 'refused', 'failed', 'unknown'],
      description:
        'succeeded (2xx), refused (4xx: a missing permission, bad input...), failed (5xx), or unknown: the change was written ahead and no answer was recorded (still running, or the process stopped while it ran).',
    },
    status: { type: ['integer', 'null'], description: 'The HTTP status of the answer; null while the outcome is unknown.' },
    error_code: { ...NULLABLE_STRING, description: 'The error code of a refused or failed request.' },
    request_id: { type: 'string' },
    ip_address: NULLABLE_STRING,
    created: { type: 'integer' },
  },
  required: ['id', 'object', 'livemode', 'user', 'role', 'action', 'path', 'outcome', 'status', 'error_code', 'request_id', 'ip_address', 'created'],
} as const;

export const AUDIT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...TEAM_QUERY.properties,
    ...LIST_QUERY_PROPERTIES,
    user: { type: 'string', maxLength: 64, description: 'Only this staff user\'s events.' },
  },
} as const;

export const STAFF_PASSKEY_SCHEMA = {
  $id: 'StaffPasskey',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['staff_passkey'] },
    device_type: { type: 'string', enum: ['single_device', 'multi_device'] },
    backed_up: { type: 'boolean' },
    transports: { type: 'array', items: { type: 'string' } },
    created: { type: 'integer' },
    last_used: { type: ['integer', 'null'] },
    revoked: { type: 'boolean' },
  },
  required: ['id', 'object', 'device_type', 'backed_up', 'transports', 'created', 'last_used', 'revoked'],
} as const;

export const PASSKEY_OPTIONS_RESPONSE = {
  type: 'object',
  properties: {
    registration: { type: 'string', description: '`sadd_...`: send it back with the credential.' },
    options: { ...WEBAUTHN_JSON, description: 'PublicKeyCredentialCreationOptionsJSON, for startRegistration(); excludeCredentials lists your passkeys.' },
  },
  required: ['registration', 'options'],
} as const;

export const PASSKEY_VERIFY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    registration: { type: 'string', maxLength: 64 },
    credential: { ...WEBAUTHN_JSON, description: 'RegistrationResponseJSON.' },
  },
  required: ['registration', 'credential'],
} as const;
