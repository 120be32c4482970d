// Staff identity: invitations, passkey enrollment and sign-in (WebAuthn, discoverable credentials, user
// verification required), sessions (`mss_...`, 12 hours at most, 30 minutes idle), roles and who may
// manage whom. Tokens are kept only as SHA-256 digests. Expected failures are values (StaffFailure);
// docs/api/staff.md describes the flows.
import { createHash } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { webauthnLibrary } from '../auth/webauthn-library.ts';
import { isId, newId, randomBase62 } from '../api/ids.ts';
import { listAuditEvents, sweepAuditEvents, type AuditEvent } from './audit.ts';
import { verifiedAssertion, verifiedRegistration } from '../auth/webauthn.ts';
import type { Principal } from '../auth/service.ts';
import { normaliseEmail } from '../buyers/service.ts';
import { sqlState, type Database, type SqlClient } from '../store/database.ts';
import {
  appOf,
  INVITATION_TOKEN_PATTERN,
  STAFF_CEREMONIES_PER_CLIENT_MAX,
  STAFF_CEREMONY_TTL_SECONDS,
  STAFF_CEREMONY_WINDOW_SECONDS,
  STAFF_INVITATION_TTL_SECONDS,
  STAFF_SESSION_IDLE_SECONDS,
  STAFF_PASSKEY_ADD_SIGN_IN_SECONDS,
  STAFF_SESSION_TOUCH_SECONDS,
  STAFF_SESSION_TTL_SECONDS,
  STAFF_TOKEN_PATTERN,
  STAFF_TOKEN_PREFIX,
  type StaffIdentity,
  type StaffInvitation,
  type StaffUser,
} from './model.ts';
import { canWrite, isRoleOf, MERCHANT_ROLES, OPERATOR_ROLES, permissionsOf, type Permission, type StaffRole } from './roles.ts';
import * as store from './store.ts';
import type { MessageGateway } from '../messages/gateway.ts';
import type { Logger } from '../log/logger.ts';

export type StaffFailureCode =
  | 'parameter_invalid'
  | 'resource_missing'
  | 'staff_permission_missing'
  | 'staff_role_forbidden'
  | 'staff_user_exists'
  | 'staff_last_owner'
  | 'staff_last_passkey'
  | 'staff_invitation_invalid'
  | 'staff_invitation_expired'
  | 'staff_sign_in_rate_limited'
  | 'staff_sign_in_too_old'
  | 'ceremony_unknown'
  | 'ceremony_expired'
  | 'passkey_verification_failed';

export interface StaffFailure {
  ok: false;
  code: StaffFailureCode;
  message?: string;
  param?: string;
}

/** Who asks for a team change: a staff session, an operator API key, or the installation itself (CLI, first start). */
export type StaffActor =
  | { kind: 'staff'; identity: StaffIdentity; merchantId: string | null }
  | { kind: 'operator_key'; keyId: string }
  | { kind: 'system'; name: 'cli' | 'bootstrap' };

export interface CreatedInvitation {
  ok: true;
  invitation: StaffInvitation;
  /** `msi_...`: in the link only, never stored. */
  token: string;
  /** `<PUBLIC_URL>/dashboard/#invite=<token>` or `/console/#invite=...`. */
  url: string;
  /** Whether the link was emailed to the invited person (a gateway that sends email, and it took it). */
  emailed: boolean;
}

export interface StaffSignedIn {
  ok: true;
  user: StaffUser;
  session: { token: string; expiresAt: Date };
}

export interface StaffService {
  /** The principal of a live session token, acting in `livemode`; null when unknown, ended, expired, idle or its user disabled. */
  authenticate(token: string, livemode: boolean): Promise<Principal | null>;
  invite(actor: StaffActor, input: { merchantId?: string | null; email: string; role: string; name?: string | null }): Promise<CreatedInvitation | StaffFailure>;
  enrollmentOptions(input: { invitationToken: string; client: string }): Promise<
    | { ok: true; enrollment: string; options: PublicKeyCredentialCreationOptionsJSON; invitation: StaffInvitation }
    | StaffFailure
  >;
  verifyEnrollment(input: { enrollment: string; credential: RegistrationResponseJSON }): Promise<StaffSignedIn | StaffFailure>;
  signInOptions(input: { client: string }): Promise<{ ok: true; signIn: string; options: PublicKeyCredentialRequestOptionsJSON } | StaffFailure>;
  verifySignIn(input: { signIn: string; credential: AuthenticationResponseJSON }): Promise<StaffSignedIn | StaffFailure>;
  user(id: string): Promise<StaffUser | null>;
  listUsers(actor: StaffActor, merchantId?: string | null): Promise<{ ok: true; users: StaffUser[] } | StaffFailure>;
  listInvitations(actor: StaffActor, merchantId?: string | null): Promise<{ ok: true; invitations: StaffInvitation[] } | StaffFailure>;
  revokeInvitation(actor: StaffActor, id: string): Promise<{ ok: true } | StaffFailure>;
  changeRole(actor: StaffActor, userId: string, role: string): Promise<{ ok: true; user: StaffUser } | StaffFailure>;
  /** Disables the user and ends all their sessions at once. */
  disable(actor: StaffActor, userId: string): Promise<{ ok: true; user: StaffUser } | StaffFailure>;
  signOut(sessionId: string): Promise<void>;
  /** The signed-in user's active passkeys, oldest first. */
  passkeys(identity: StaffIdentity): Promise<store.PasskeySummary[]>;
  /** Starts adding a passkey to the signed-in user's account (counts against the client's ceremonies). */
  passkeyOptions(identity: StaffIdentity, client: string): Promise<{ ok: true; registration: string; options: PublicKeyCredentialCreationOptionsJSON } | StaffFailure>;
  passkeyVerify(identity: StaffIdentity, input: { registration: string; credential: RegistrationResponseJSON }): Promise<{ ok: true; passkey: store.PasskeySummary } | StaffFailure>;
  /** Revokes one of the user's passkeys (never the last one) and ends their other sessions. */
  revokePasskey(identity: StaffIdentity, id: string): Promise<{ ok: true; passkey: store.PasskeySummary } | StaffFailure>;
  /** The team's audit log (permission audit:read; the operator may name a merchant), newest first. */
  auditLog(actor: StaffActor, filter: { merchantId?: string | null; userId?: string; startingAfter?: string; limit: number }): Promise<{ ok: true; events: AuditEvent[]; hasMore: boolean } | StaffFailure>;
  /** Deletes long-expired ceremonies and sessions, and audit events past their retention; returns how many. */
  sweep(batchMax: number): Promise<number>;
}

export interface StaffServiceDependencies {
  db: Database;
  /** PUBLIC_URL: invitation links point at its /dashboard and /console. */
  publicUrl: string;
  webauthn: { rpId: string; rpName: string; origins: string[] };
  /** A merchant's name, null when there is no such merchant (invitations into a merchant name one, and
   * their email says its name). */
  merchantName(id: string): Promise<string | null>;
  /** Sends invitation links by email when it can (MESSAGE_GATEWAY); without one the link is only shown. */
  messages?: MessageGateway;
  logger?: Logger;
}

const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();
/** The WebAuthn user handle of a staff user: the bytes of their id. */
const userHandleOf = (userId: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(userId, 'utf8'));

function failure(code: StaffFailureCode, message?: string, param?: string): StaffFailure {
  return { ok: false, code, ...(message === undefined ? {} : { message }), ...(param === undefined ? {} : { param }) };
}

/** The role that must always have one active member: a merchant's owner, the operator's admin. */
const keeperRole = (merchantId: string | null): StaffRole => (merchantId === null ? 'admin' : 'owner');

export function createStaffService({ db, publicUrl, webauthn, messages, merchantName, logger }: StaffServiceDependencies): StaffService {
  const base = publicUrl.replace(/\/+$/, '');

  function hasPermission(actor: StaffActor, permission: Permission): boolean {
    return actor.kind !== 'staff' || actor.identity.permissions.includes(permission);
  }

  /** Owners are made, changed and disabled by an owner, or by the operator (its admin, key or CLI). */
  function managesOwners(actor: StaffActor): boolean {
    return actor.kind !== 'staff' || actor.identity.app === 'console' || actor.identity.permissions.includes('team:owners');
  }

  /** WebAuthn creation options for a staff passkey: discoverable, user-verified, excluding `exclude`. */
  async function creationOptions(input: { userId: string; email: string; name: string | null; app: string; exclude: store.PasskeySummary[] }) {
    return (await webauthnLibrary()).generateRegistrationOptions({
      rpName: webauthn.rpName,
      rpID: webauthn.rpId,
      userName: input.email,
      userID: userHandleOf(input.userId),
      // Buyers' passkeys share the relying party: the name says which account this one is for.
      userDisplayName: `${input.name ?? input.email} (Micropay ${input.app})`,
      timeout: STAFF_CEREMONY_TTL_SECONDS * 1000,
      attestationType: 'none',
      excludeCredentials: input.exclude.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: [-7, -257],
    });
  }

  /** Emails the link to the invited person; a failure is logged and leaves the link to be passed on by hand. */
  async function emailInvitation(invitation: StaffInvitation, url: string, inviter: string): Promise<boolean> {
    if (!messages?.canSend('email')) return false;
    try {
      const team = invitation.merchantId === null ? 'the operator console' : `${(await merchantName(invitation.merchantId)) ?? 'a merchant'}'s dashboard`;
      const until = invitation.expiresAt.toISOString().replace('T', ' ').slice(0, 16);
      await messages.send({
        channel: 'email',
        to: invitation.email,
        subject: `You are invited to ${team} on Micropay`,
        body:
          `${inviter} invited you to ${team} on Micropay as ${invitation.role.replaceAll('_', ' ')}.\n\n` +
          `Open this link to create your passkey and sign in (it works once, until ${until} UTC):\n${url}\n\n` +
          'If you did not expect this, ignore this email: nothing happens without the link.',
      });
      return true;
    } catch (error) {
      logger?.warn({ err: error, invitation: invitation.id }, 'staff invitation email could not be sent; the link is shown to the inviter only');
      return false;
    }
  }

  /** The team (a merchant's, or the operator's with null) the actor may look at or change. */
  async function teamOf(actor: StaffActor, requested: string | null | undefined, write: boolean | Permission): Promise<{ ok: true; merchantId: string | null } | StaffFailure> {
    const needed: Permission = typeof write === 'string' ? write : write ? 'team:write' : 'team:read';
    if (!hasPermission(actor, needed)) return failure('staff_permission_missing', `Your role does not have the permission ${needed}.`);
    if (actor.kind === 'staff' && actor.merchantId !== null) {
      // A merchant's staff manage their own merchant's team only, and never the operator's.
      if (requested !== undefined && requested !== actor.merchantId) {
        return failure('staff_role_forbidden', 'Merchant staff manage their own merchant\'s team only.', 'merchant');
      }
      return { ok: true, merchantId: actor.merchantId };
    }
    const merchantId = requested ?? null;
    if (merchantId !== null && (await merchantName(merchantId)) === null) return failure('resource_missing', `No such merchant: ${merchantId}.`, 'merchant');
    return { ok: true, merchantId };
  }

  function mayGiveRole(actor: StaffActor, merchantId: string | null, role: string): { ok: true; role: StaffRole } | StaffFailure {
    const app = appOf(merchantId);
    if (!isRoleOf(app, role)) {
      const roles = (app === 'dashboard' ? MERCHANT_ROLES : OPERATOR_ROLES).join(', ');
      return failure('parameter_invalid', `role must be one of ${roles} for ${app === 'dashboard' ? 'a merchant' : 'the operator'}.`, 'role');
    }
    if (app === 'dashboard' && role === 'owner' && !managesOwners(actor)) {
      return failure('staff_role_forbidden', 'Only an owner may make someone an owner.', 'role');
    }
    return { ok: true, role };
  }

  const userMissing = (userId: string) => failure('resource_missing', `No such staff user: ${userId}.`, 'id');
  const ownerForbidden = () => failure('staff_role_forbidden', 'Only an owner may change or disable an owner.', 'id');

  /** The target user when it is in the actor's team and the actor may change it (checked again, locked, by lockedTarget). */
  async function changeable(actor: StaffActor, userId: string): Promise<{ ok: true; user: StaffUser } | StaffFailure> {
    const user = isId(userId, 'stf') ? await store.findUser(db, userId) : null;
    if (!user) return userMissing(userId);
    const team = await teamOf(actor, user.merchantId, true);
    if (!team.ok) return team.code === 'staff_role_forbidden' ? userMissing(userId) : team;
    if (user.role === 'owner' && !managesOwners(actor)) return ownerForbidden();
    return { ok: true, user };
  }

  /**
   * In the change's transaction: locks the team's active owners (operator: admins), then the target, and
   * checks the target again on its fresh row, since a concurrent change may have made it an owner or
   * disabled it since `changeable` read it. The owners are locked first, in id order, by every change
   * (even one that touches no owner), so two changes never wait for each other's rows in opposite orders.
   */
  async function lockedTarget(tx: SqlClient, actor: StaffActor, read: StaffUser): Promise<{ ok: true; user: StaffUser; keepers: string[] } | StaffFailure> {
    const keepers = await store.lockActiveUsersWithRole(tx, read.merchantId, keeperRole(read.merchantId));
    const user = await store.findUser(tx, read.id, { lock: true });
    if (!user) return userMissing(read.id);
    if (user.role === 'owner' && !managesOwners(actor)) return ownerForbidden();
    return { ok: true, user, keepers };
  }

  /** Refuses when taking `user` out of its role (or disabling it) would leave the team without an active owner (operator: admin). */
  function keepsKeeper(user: StaffUser, keepers: readonly string[]): StaffFailure | null {
    if (user.disabledAt !== null || user.role !== keeperRole(user.merchantId)) return null;
    // The other keepers are locked until this change commits: none of them can leave meanwhile.
    if (keepers.some((id) => id !== user.id)) return null;
    return failure('staff_last_owner', user.merchantId === null ? 'The operator must keep at least one active admin.' : 'The merchant must keep at least one active owner.', 'id');
  }

  async function openSession(tx: Parameters<Parameters<Database['transaction']>[0]>[0], user: StaffUser): Promise<StaffSignedIn> {
    const token = `${STAFF_TOKEN_PREFIX}${randomBase62(32)}`;
    const expiresAt = await store.insertSession(tx, { id: newId('sses'), tokenDigest: digestOf(token), userId: user.id, ttlSeconds: STAFF_SESSION_TTL_SECONDS });
    return { ok: true, user, session: { token, expiresAt } };
  }

  async function rateLimited(client: string): Promise<boolean> {
    return (await store.ceremoniesSince(db, digestOf(client).toString('base64url'), STAFF_CEREMONY_WINDOW_SECONDS)) >= STAFF_CEREMONIES_PER_CLIENT_MAX;
  }

  async function ceremonyFor(id: string, kind: store.CeremonyKind) {
    const param = kind === 'enrollment' ? 'enrollment' : kind === 'sign_in' ? 'sign_in' : 'registration';
    const prefix = kind === 'enrollment' ? 'sreg' : kind === 'sign_in' ? 'sauth' : 'sadd';
    const ceremony = isId(id, prefix) ? await store.consumeCeremony(db, id, kind) : null;
    if (!ceremony) return failure('ceremony_unknown', undefined, param);
    if (ceremony.expired) return failure('ceremony_expired', undefined, param);
    return { ok: true as const, ceremony };
  }

  function actorName(actor: StaffActor): string {
    if (actor.kind === 'staff') return actor.identity.userId;
    return actor.kind === 'operator_key' ? actor.keyId : actor.name;
  }

  return {
    async authenticate(token, livemode) {
      if (!STAFF_TOKEN_PATTERN.test(token)) return null;
      const found = await store.findLiveSession(db, digestOf(token), STAFF_SESSION_IDLE_SECONDS);
      if (!found) return null;
      const { session, user } = found;
      if (Date.now() - session.last_used_at.getTime() > STAFF_SESSION_TOUCH_SECONDS * 1000) await store.touchSession(db, session.id);
      const permissions = permissionsOf(user.app, user.role);
      const staff: StaffIdentity = { userId: user.id, sessionId: session.id, signedInAt: session.created_at, email: user.email, role: user.role, app: user.app, permissions };
      const scope = canWrite(user.app, user.role) ? 'write' as const : 'read' as const;
      // The user's id stands for the key: what a principal's keyId records (a claimed review) names the person.
      if (user.merchantId === null) return { kind: 'operator', keyId: user.id, scope, livemode, staff };
      return { kind: 'merchant', keyId: user.id, keyKind: 'secret', scope, livemode, merchantId: user.merchantId, staff };
    },

    async invite(actor, input) {
      const email = normaliseEmail(input.email);
      if (email === null) return failure('parameter_invalid', 'The email address is not valid.', 'email');
      const team = await teamOf(actor, input.merchantId, true);
      if (!team.ok) return team;
      const allowed = mayGiveRole(actor, team.merchantId, input.role);
      if (!allowed.ok) return allowed;
      if (await store.findActiveUserByEmail(db, team.merchantId, email)) return failure('staff_user_exists', undefined, 'email');
      const token = `msi_${randomBase62(32)}`;
      const inserted = await db.transaction(async (tx): Promise<{ ok: true; invitation: StaffInvitation } | StaffFailure> => {
        // A new invitation revokes the pending ones for the address: an owner's invitation only by
        // whoever may revoke it (revokeInvitation), so an admin cannot cancel it by inviting again.
        const revokesOwners = managesOwners(actor);
        const pending = await store.lockPendingInvitationsFor(tx, team.merchantId, email);
        if (!revokesOwners && pending.some((invitation) => invitation.role === 'owner')) {
          return failure('staff_role_forbidden', 'Only an owner may revoke an invitation of an owner.', 'email');
        }
        const invitation = await store.insertInvitation(tx, {
          id: newId('sinv'), merchantId: team.merchantId, email, name: input.name?.trim() || null, role: allowed.role,
          tokenDigest: digestOf(token), invitedBy: actorName(actor), ttlSeconds: STAFF_INVITATION_TTL_SECONDS,
        }, { replacesOwnerInvitations: revokesOwners });
        return { ok: true, invitation };
      });
      if (!inserted.ok) return inserted;
      const { invitation } = inserted;
      const url = `${base}/${invitation.app}/#invite=${token}`;
      return { ok: true, invitation, token, url, emailed: await emailInvitation(invitation, url, actorName(actor)) };
    },

    async enrollmentOptions({ invitationToken, client }) {
      if (await rateLimited(client)) return failure('staff_sign_in_rate_limited');
      const invitation = INVITATION_TOKEN_PATTERN.test(invitationToken) ? await store.findPendingInvitation(db, { tokenDigest: digestOf(invitationToken) }) : null;
      if (!invitation) return failure('staff_invitation_invalid', undefined, 'invitation');
      if (invitation.expired) return failure('staff_invitation_expired', undefined, 'invitation');
      const userId = newId('stf');
      const options = await creationOptions({ userId, email: invitation.email, name: invitation.name, app: invitation.app, exclude: [] });
      const enrollment = newId('sreg');
      await store.insertCeremony(db, {
        id: enrollment, kind: 'enrollment', challenge: options.challenge, invitationId: invitation.id, userId,
        clientDigest: digestOf(client).toString('base64url'), ttlSeconds: STAFF_CEREMONY_TTL_SECONDS,
      });
      const { expired: _expired, ...pending } = invitation;
      return { ok: true, enrollment, options, invitation: pending };
    },

    async verifyEnrollment({ enrollment, credential }) {
      const found = await ceremonyFor(enrollment, 'enrollment');
      if (!found.ok) return found;
      const { ceremony } = found;
      const info = await verifiedRegistration(webauthn, credential, ceremony.challenge);
      if (!info) return failure('passkey_verification_failed', undefined, 'credential');
      try {
        return await db.transaction(async (tx) => {
          // The invitation is used once: locked, checked again and marked in the same transaction.
          const invitation = await store.findPendingInvitation(tx, { id: ceremony.invitation_id! }, { lock: true });
          if (!invitation) return failure('staff_invitation_invalid', 'The invitation was used or revoked.', 'invitation');
          if (invitation.expired) return failure('staff_invitation_expired', undefined, 'invitation');
          if (await store.findActiveUserByEmail(tx, invitation.merchantId, invitation.email)) return failure('staff_user_exists', undefined, 'email');
          if (await store.findPasskeyByCredential(tx, info.credential.id)) return failure('passkey_verification_failed', 'This passkey is registered already.', 'credential');
          const user = await store.insertUser(tx, { id: ceremony.user_id!, merchantId: invitation.merchantId, email: invitation.email, name: invitation.name, role: invitation.role });
          await store.insertPasskey(tx, {
            id: newId('spk'), user_id: user.id, credential_id: info.credential.id, public_key: info.credential.publicKey,
            counter: BigInt(info.credential.counter), transports: credential.response.transports ?? [], device_type: info.credentialDeviceType, backed_up: info.credentialBackedUp,
          });
          await store.markInvitationAccepted(tx, invitation.id, user.id);
          return openSession(tx, user);
        });
      } catch (error) {
        // Two enrollments raced for one address (or one credential): the second finds it taken.
        if (sqlState(error) === '23505') return failure('staff_user_exists', undefined, 'email');
        throw error;
      }
    },

    async signInOptions({ client }) {
      if (await rateLimited(client)) return failure('staff_sign_in_rate_limited');
      const options = await (await webauthnLibrary()).generateAuthenticationOptions({
        rpID: webauthn.rpId,
        allowCredentials: [],
        userVerification: 'required',
        timeout: STAFF_CEREMONY_TTL_SECONDS * 1000,
      });
      const signIn = newId('sauth');
      await store.insertCeremony(db, {
        id: signIn, kind: 'sign_in', challenge: options.challenge, invitationId: null, userId: null,
        clientDigest: digestOf(client).toString('base64url'), ttlSeconds: STAFF_CEREMONY_TTL_SECONDS,
      });
      return { ok: true, signIn, options };
    },

    async verifySignIn({ signIn, credential }) {
      const found = await ceremonyFor(signIn, 'sign_in');
      if (!found.ok) return found;
      const refused = failure('passkey_verification_failed', undefined, 'credential');
      const passkey = typeof credential?.id === 'string' ? await store.findPasskeyByCredential(db, credential.id) : null;
      if (!passkey || passkey.revoked_at !== null) return refused;
      const user = await store.findUser(db, passkey.user_id);
      if (!user || user.disabledAt !== null) return refused;
      const userHandle = credential.response?.userHandle;
      if (userHandle !== undefined && userHandle !== Buffer.from(userHandleOf(user.id)).toString('base64url')) return refused;
      const verification = await verifiedAssertion(webauthn, credential, passkey, found.ceremony.challenge, { requireUserVerification: true });
      if (!verification) return refused;
      await store.recordPasskeyUse(db, passkey.id, verification.authenticationInfo.newCounter, verification.authenticationInfo.credentialBackedUp);
      return db.transaction((tx) => openSession(tx, user));
    },

    user: (id) => (isId(id, 'stf') ? store.findUser(db, id) : Promise.resolve(null)),

    async listUsers(actor, merchantId) {
      const team = await teamOf(actor, merchantId, false);
      if (!team.ok) return team;
      return { ok: true, users: await store.listUsers(db, team.merchantId) };
    },

    async listInvitations(actor, merchantId) {
      const team = await teamOf(actor, merchantId, false);
      if (!team.ok) return team;
      return { ok: true, invitations: await store.listPendingInvitations(db, team.merchantId) };
    },

    async revokeInvitation(actor, id) {
      const invitation = isId(id, 'sinv') ? await store.findPendingInvitation(db, { id }) : null;
      const missing = failure('resource_missing', `No such pending invitation: ${id}.`, 'id');
      if (!invitation) return missing;
      const team = await teamOf(actor, invitation.merchantId, true);
      if (!team.ok) return team.code === 'staff_role_forbidden' ? missing : team;
      if (invitation.role === 'owner' && !managesOwners(actor)) return failure('staff_role_forbidden', 'Only an owner may revoke an invitation of an owner.', 'id');
      return (await store.revokeInvitation(db, id, invitation.merchantId)) ? { ok: true } : missing;
    },

    async changeRole(actor, userId, role) {
      const target = await changeable(actor, userId);
      if (!target.ok) return target;
      const allowed = mayGiveRole(actor, target.user.merchantId, role);
      if (!allowed.ok) return allowed;
      const disabled = () => failure('resource_missing', `The staff user ${userId} is disabled.`, 'id');
      if (target.user.disabledAt !== null) return disabled();
      return db.transaction(async (tx): Promise<{ ok: true; user: StaffUser } | StaffFailure> => {
        const locked = await lockedTarget(tx, actor, target.user);
        if (!locked.ok) return locked;
        if (locked.user.disabledAt !== null) return disabled();
        if (allowed.role !== locked.user.role) {
          const refused = keepsKeeper(locked.user, locked.keepers);
          if (refused) return refused;
        }
        return { ok: true, user: await store.setRole(tx, locked.user.id, allowed.role) };
      });
    },

    async disable(actor, userId) {
      const target = await changeable(actor, userId);
      if (!target.ok) return target;
      return db.transaction(async (tx): Promise<{ ok: true; user: StaffUser } | StaffFailure> => {
        const locked = await lockedTarget(tx, actor, target.user);
        if (!locked.ok) return locked;
        const refused = keepsKeeper(locked.user, locked.keepers);
        if (refused) return refused;
        return { ok: true, user: await store.disableUser(tx, locked.user.id) };
      });
    },

    signOut: (sessionId) => store.endSession(db, sessionId),
    passkeys: (identity) => store.activePasskeys(db, identity.userId),

    async passkeyOptions(identity, client) {
      if (await rateLimited(client)) return failure('staff_sign_in_rate_limited');
      // A session alone (a token that may have been stolen) must not plant a passkey that outlives it.
      if (Date.now() - identity.signedInAt.getTime() > STAFF_PASSKEY_ADD_SIGN_IN_SECONDS * 1000) return failure('staff_sign_in_too_old');
      const existing = await store.activePasskeys(db, identity.userId);
      // The same user handle as the first passkey: a sign-in with either finds the same person.
      const options = await creationOptions({ userId: identity.userId, email: identity.email, name: null, app: identity.app, exclude: existing });
      const registration = newId('sadd');
      await store.insertCeremony(db, {
        id: registration, kind: 'passkey', challenge: options.challenge, invitationId: null, userId: identity.userId,
        clientDigest: digestOf(client).toString('base64url'), ttlSeconds: STAFF_CEREMONY_TTL_SECONDS,
      });
      return { ok: true, registration, options };
    },

    async passkeyVerify(identity, { registration, credential }) {
      const found = await ceremonyFor(registration, 'passkey');
      if (!found.ok) return found;
      // A ceremony started by another person is unknown to this one.
      if (found.ceremony.user_id !== identity.userId) return failure('ceremony_unknown', undefined, 'registration');
      const info = await verifiedRegistration(webauthn, credential, found.ceremony.challenge);
      if (!info) return failure('passkey_verification_failed', undefined, 'credential');
      const id = newId('spk');
      try {
        await store.insertPasskey(db, {
          id, user_id: identity.userId, credential_id: info.credential.id, public_key: info.credential.publicKey,
          counter: BigInt(info.credential.counter), transports: credential.response.transports ?? [], device_type: info.credentialDeviceType, backed_up: info.credentialBackedUp,
        }, { signsIn: false });
      } catch (error) {
        if (sqlState(error) === '23505') return failure('passkey_verification_failed', 'This passkey is registered already.', 'credential');
        throw error;
      }
      return { ok: true, passkey: (await store.passkeySummary(db, id, identity.userId))! };
    },

    async revokePasskey(identity, id) {
      const missing = failure('resource_missing', `No such passkey: ${id}.`, 'id');
      if (!isId(id, 'spk')) return missing;
      return db.transaction(async (tx) => {
        // The user's active passkeys are locked, so two revocations at once cannot remove the last two.
        const active = await store.activePasskeys(tx, identity.userId, { lock: true });
        const target = await store.passkeySummary(tx, id, identity.userId);
        if (!target) return missing;
        if (target.revokedAt !== null) return { ok: true as const, passkey: target };
        if (active.length <= 1) return failure('staff_last_passkey');
        const revoked = await store.revokePasskey(tx, id);
        // Whoever holds the revoked passkey may hold a session opened with it: every other session ends.
        await store.endOtherSessions(tx, identity.userId, identity.sessionId);
        return { ok: true as const, passkey: revoked };
      });
    },

    async auditLog(actor, filter) {
      const team = await teamOf(actor, filter.merchantId, 'audit:read');
      if (!team.ok) return team;
      const page = await listAuditEvents(db, { merchantId: team.merchantId, userId: filter.userId, startingAfter: filter.startingAfter, limit: filter.limit });
      return { ok: true, events: page.data, hasMore: page.hasMore };
    },

    sweep: async (batchMax) => (await store.sweepExpired(db, batchMax)) + (await sweepAuditEvents(db, batchMax)),
  };
}
