// /v1/staff/...: invitations, passkey enrollment and sign-in, the signed-in user, sign-out, and the team
// (docs/api/staff.md). Sign-in routes need no key; the rest need a staff session (`mss_...`) or, for
// the team, an operator key.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiError } from '../api/errors.ts';
import { errorResponses, listBody, listLimit, listSchema } from '../api/http.ts';
import type { AuditEvent } from './audit.ts';
import { ID_PARAMS_SCHEMA } from '../payments/schemas.ts';
import { STAFF_SESSION_IDLE_SECONDS, type StaffIdentity, type StaffInvitation, type StaffUser } from './model.ts';
import type { StaffRouteAccess } from './roles.ts';
import type { StaffActor, StaffFailure, StaffService, StaffSignedIn } from './service.ts';
import type { PasskeySummary } from './store.ts';
import {
  EMPTY_BODY,
  ENROLLMENT_OPTIONS_BODY,
  ENROLLMENT_OPTIONS_RESPONSE,
  ENROLLMENT_VERIFY_BODY,
  INVITE_BODY,
  AUDIT_QUERY,
  PASSKEY_OPTIONS_RESPONSE,
  PASSKEY_VERIFY_BODY,
  ROLE_BODY,
  SIGN_IN_OPTIONS_RESPONSE,
  SIGN_IN_VERIFY_BODY,
  STAFF_AUDIT_EVENT_SCHEMA,
  STAFF_PASSKEY_SCHEMA,
  STAFF_INVITATION_SCHEMA,
  STAFF_ME_SCHEMA,
  STAFF_SESSION_SCHEMA,
  STAFF_USER_SCHEMA,
  TEAM_QUERY,
} from './schemas.ts';

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export function staffUserJson(user: StaffUser) {
  return {
    id: user.id,
    object: 'staff_user' as const,
    email: user.email,
    name: user.name,
    role: user.role,
    merchant_id: user.merchantId,
    app: user.app,
    disabled: user.disabledAt !== null,
    created: seconds(user.createdAt),
  };
}

export function staffInvitationJson(invitation: StaffInvitation, url?: string, emailed?: boolean) {
  return {
    id: invitation.id,
    object: 'staff_invitation' as const,
    email: invitation.email,
    name: invitation.name,
    role: invitation.role,
    merchant_id: invitation.merchantId,
    app: invitation.app,
    ...(url === undefined ? {} : { url }),
    ...(emailed === undefined ? {} : { emailed }),
    created: seconds(invitation.createdAt),
    expires_at: seconds(invitation.expiresAt),
  };
}

function signedInJson(result: StaffSignedIn) {
  return { token: result.session.token, expires_at: seconds(result.session.expiresAt), idle_timeout_seconds: STAFF_SESSION_IDLE_SECONDS, user: staffUserJson(result.user) };
}

function auditEventJson(event: AuditEvent) {
  return {
    id: event.id,
    object: 'staff_audit_event' as const,
    livemode: event.livemode,
    user: { id: event.userId, email: event.email },
    role: event.role,
    action: event.action,
    path: event.path,
    outcome: event.outcome,
    status: event.statusCode,
    error_code: event.errorCode,
    request_id: event.requestId,
    ip_address: event.ipAddress,
    created: seconds(event.createdAt),
  };
}

/** A sign-in or enrollment that just succeeded is in the audit log under the person it signed in. */
function passkeyJson(passkey: PasskeySummary) {
  return {
    id: passkey.id,
    object: 'staff_passkey' as const,
    device_type: passkey.deviceType === 'multiDevice' ? ('multi_device' as const) : ('single_device' as const),
    backed_up: passkey.backedUp,
    transports: passkey.transports,
    created: seconds(passkey.createdAt),
    last_used: passkey.lastUsedAt ? seconds(passkey.lastUsedAt) : null,
    revoked: passkey.revokedAt !== null,
  };
}

function auditSignIn(request: FastifyRequest, { user }: StaffSignedIn): void {
  request.auditActor = { userId: user.id, email: user.email, role: user.role, merchantId: user.merchantId, livemode: false };
}

function refuse(failure: StaffFailure): never {
  throw new ApiError(failure.code, failure.message, failure.param);
}

/** Every staff user may call these; what each may do is decided by the service (team:read, team:write). */
const EVERY_STAFF: StaffRouteAccess = { dashboard: 'any', console: 'any' };

/** The signed-in staff user of the request; 401 without a staff session. */
function requireStaff(request: FastifyRequest): StaffIdentity {
  const staff = request.principal?.staff;
  if (!staff) throw new ApiError('staff_session_required');
  return staff;
}

/** Who asks for a team change: a staff session, or an operator key (write scope to change). */
function actorOf(request: FastifyRequest, write: boolean): StaffActor {
  const principal = request.principal;
  if (principal?.staff) return { kind: 'staff', identity: principal.staff, merchantId: principal.kind === 'merchant' ? principal.merchantId : null };
  if (principal?.kind === 'operator') {
    if (write && principal.scope !== 'write') throw new ApiError('api_key_scope_insufficient');
    return { kind: 'operator_key', keyId: principal.keyId };
  }
  throw new ApiError('staff_session_required');
}

export async function staffRoutes(app: FastifyInstance, { staff }: { staff: StaffService }): Promise<void> {
  app.addSchema(STAFF_USER_SCHEMA);
  app.addSchema(STAFF_ME_SCHEMA);
  app.addSchema(STAFF_INVITATION_SCHEMA);
  app.addSchema(STAFF_SESSION_SCHEMA);
  app.addSchema(STAFF_AUDIT_EVENT_SCHEMA);
  app.addSchema(STAFF_PASSKEY_SCHEMA);
  const onePasskey = { 200: { $ref: 'StaffPasskey#' }, ...errorResponses(409) };
  const tags = ['staff'];
  const config = { staff: EVERY_STAFF };
  const oneUser = { 200: { $ref: 'StaffUser#' }, ...errorResponses(409) };
  const signedIn = { 200: { $ref: 'StaffSignIn#' }, ...errorResponses(409, 429) };

  app.post<{ Body: { email: string; role: string; name?: string; merchant?: string } }>(
    '/v1/staff/invitations',
    {
      schema: {
        tags,
        summary: 'Invite a person into the team (owner or admin; the operator\'s admin or key); the link is shown once, and emailed when a gateway sends email',
        body: INVITE_BODY,
        response: { 200: { $ref: 'StaffInvitation#' }, ...errorResponses(409) },
      },
      // The link holds the token: a replayed answer shows "[redacted]" instead.
      config: { ...config, secretFields: ['url'] },
    },
    async (request) => {
      const { email, role, name, merchant } = request.body;
      const result = await staff.invite(actorOf(request, true), { email, role, name: name ?? null, ...(merchant === undefined ? {} : { merchantId: merchant }) });
      if (!result.ok) refuse(result);
      return staffInvitationJson(result.invitation, result.url, result.emailed);
    },
  );

  app.get<{ Querystring: { merchant?: string } }>(
    '/v1/staff/invitations',
    { schema: { tags, summary: 'The team\'s pending invitations (team:read)', querystring: TEAM_QUERY, response: { 200: listSchema('StaffInvitation'), ...errorResponses() } }, config },
    async (request) => {
      const result = await staff.listInvitations(actorOf(request, false), request.query.merchant);
      if (!result.ok) refuse(result);
      return listBody(result.invitations.map((invitation) => staffInvitationJson(invitation)), false);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/staff/invitations/:id/revoke',
    { schema: { tags, summary: 'Revoke a pending invitation: its link stops working', params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: { 200: { type: 'object', properties: { id: { type: 'string' }, revoked: { type: 'boolean' } }, required: ['id', 'revoked'] }, ...errorResponses() } }, config },
    async (request) => {
      const result = await staff.revokeInvitation(actorOf(request, true), request.params.id);
      if (!result.ok) refuse(result);
      return { id: request.params.id, revoked: true };
    },
  );

  app.get<{ Querystring: { merchant?: string } }>(
    '/v1/staff/users',
    { schema: { tags, summary: 'The team: staff users of the merchant (or of the operator), oldest first (team:read)', querystring: TEAM_QUERY, response: { 200: listSchema('StaffUser'), ...errorResponses() } }, config },
    async (request) => {
      const result = await staff.listUsers(actorOf(request, false), request.query.merchant);
      if (!result.ok) refuse(result);
      return listBody(result.users.map(staffUserJson), false);
    },
  );

  app.post<{ Params: { id: string }; Body: { role: string } }>(
    '/v1/staff/users/:id/role',
    { schema: { tags, summary: 'Change a team member\'s role; it applies to their open sessions at once (team:write)', params: ID_PARAMS_SCHEMA, body: ROLE_BODY, response: oneUser }, config },
    async (request) => {
      const result = await staff.changeRole(actorOf(request, true), request.params.id, request.body.role);
      if (!result.ok) refuse(result);
      return staffUserJson(result.user);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/staff/users/:id/disable',
    { schema: { tags, summary: 'Disable a team member: their sessions end at once and they can no longer sign in (team:write)', params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: oneUser }, config },
    async (request) => {
      const result = await staff.disable(actorOf(request, true), request.params.id);
      if (!result.ok) refuse(result);
      return staffUserJson(result.user);
    },
  );

  app.post<{ Body: { invitation: string } }>(
    '/v1/staff/enrollment/options',
    { schema: { tags, summary: 'Accept an invitation: start registering a passkey (no key needed)', body: ENROLLMENT_OPTIONS_BODY, response: { 200: ENROLLMENT_OPTIONS_RESPONSE, ...errorResponses(429) } }, config },
    async (request) => {
      const result = await staff.enrollmentOptions({ invitationToken: request.body.invitation, client: request.ip });
      if (!result.ok) refuse(result);
      return { enrollment: result.enrollment, options: result.options, invitation: staffInvitationJson(result.invitation) };
    },
  );

  app.post<{ Body: { enrollment: string; credential: RegistrationResponseJSON } }>(
    '/v1/staff/enrollment/verify',
    { schema: { tags, summary: 'Finish registering the passkey: the user is created and signed in; the invitation is used up', body: ENROLLMENT_VERIFY_BODY, response: signedIn }, config },
    async (request) => {
      const result = await staff.verifyEnrollment({ enrollment: request.body.enrollment, credential: request.body.credential });
      if (!result.ok) refuse(result);
      auditSignIn(request, result);
      return signedInJson(result);
    },
  );

  app.post(
    '/v1/staff/sign_in/options',
    { schema: { tags, summary: 'Start a passkey sign-in (discoverable credentials, user verification required; no key needed)', body: EMPTY_BODY, response: { 200: SIGN_IN_OPTIONS_RESPONSE, ...errorResponses(429) } }, config },
    async (request) => {
      const result = await staff.signInOptions({ client: request.ip });
      if (!result.ok) refuse(result);
      return { sign_in: result.signIn, options: result.options };
    },
  );

  app.post<{ Body: { sign_in: string; credential: AuthenticationResponseJSON } }>(
    '/v1/staff/sign_in/verify',
    { schema: { tags, summary: 'Finish the sign-in: answers with a session (12 hours at most, 30 minutes idle)', body: SIGN_IN_VERIFY_BODY, response: signedIn }, config },
    async (request) => {
      const result = await staff.verifySignIn({ signIn: request.body.sign_in, credential: request.body.credential });
      if (!result.ok) refuse(result);
      auditSignIn(request, result);
      return signedInJson(result);
    },
  );

  app.get(
    '/v1/staff/me',
    { schema: { tags, summary: 'The signed-in staff user, their role and permissions (staff session)', response: { 200: { $ref: 'StaffMe#' }, ...errorResponses() } }, config },
    async (request) => {
      const identity = requireStaff(request);
      const user = await staff.user(identity.userId);
      if (!user) throw new ApiError('staff_session_invalid');
      return { ...staffUserJson(user), permissions: [...identity.permissions], livemode: request.principal!.livemode };
    },
  );

  app.get<{ Querystring: { merchant?: string; user?: string; limit?: string; starting_after?: string } }>(
    '/v1/staff/audit_events',
    {
      schema: {
        tags,
        summary: "The team's audit log, newest first: every change its staff made and every sign-in (audit:read: owners and admins; the operator may name a merchant)",
        querystring: AUDIT_QUERY,
        response: { 200: listSchema('StaffAuditEvent'), ...errorResponses() },
      },
      config: { staff: { dashboard: 'audit:read', console: 'audit:read' } },
    },
    async (request) => {
      const { merchant, user, starting_after: startingAfter } = request.query;
      const result = await staff.auditLog(actorOf(request, false), { merchantId: merchant, userId: user, startingAfter, limit: listLimit(request.query.limit) });
      if (!result.ok) refuse(result);
      return listBody(result.events.map(auditEventJson), result.hasMore);
    },
  );

  app.get(
    '/v1/staff/passkeys',
    { schema: { tags, summary: 'Your active passkeys, oldest first (staff session)', response: { 200: listSchema('StaffPasskey'), ...errorResponses() } }, config },
    async (request) => listBody((await staff.passkeys(requireStaff(request))).map(passkeyJson), false),
  );

  app.post(
    '/v1/staff/passkeys/registration/options',
    { schema: { tags, summary: 'Start adding a passkey to your account (a staff session opened in the last 10 minutes)', body: EMPTY_BODY, response: { 200: PASSKEY_OPTIONS_RESPONSE, ...errorResponses(403, 429) } }, config },
    async (request) => {
      const result = await staff.passkeyOptions(requireStaff(request), request.ip);
      if (!result.ok) refuse(result);
      return { registration: result.registration, options: result.options };
    },
  );

  app.post<{ Body: { registration: string; credential: RegistrationResponseJSON } }>(
    '/v1/staff/passkeys/registration/verify',
    { schema: { tags, summary: 'Finish adding the passkey: it signs you in from now on', body: PASSKEY_VERIFY_BODY, response: onePasskey }, config },
    async (request) => {
      const result = await staff.passkeyVerify(requireStaff(request), { registration: request.body.registration, credential: request.body.credential });
      if (!result.ok) refuse(result);
      return passkeyJson(result.passkey);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/staff/passkeys/:id/revoke',
    { schema: { tags, summary: 'Revoke one of your passkeys (never the last one); your other sessions end', params: ID_PARAMS_SCHEMA, body: EMPTY_BODY, response: onePasskey }, config },
    async (request) => {
      const result = await staff.revokePasskey(requireStaff(request), request.params.id);
      if (!result.ok) refuse(result);
      return passkeyJson(result.passkey);
    },
  );

  app.post(
    '/v1/staff/sign_out',
    { schema: { tags, summary: 'End the current staff session', body: EMPTY_BODY, response: { 200: { type: 'object', properties: { signed_out: { type: 'boolean' } }, required: ['signed_out'] }, ...errorResponses() } }, config },
    async (request) => {
      await staff.signOut(requireStaff(request).sessionId);
      return { signed_out: true };
    },
  );
}
