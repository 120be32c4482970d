// Staff identity as the rest of the system sees it: the staff part of a principal, and the lifetimes
// of sessions, invitations and ceremonies (docs/api/staff.md).
import type { Permission, StaffApp, StaffRole } from './roles.ts';

/** What a request made with a staff session carries beside the merchant or operator principal. */
export interface StaffIdentity {
  userId: string;
  sessionId: string;
  /** When the session was opened (its sign-in). */
  signedInAt: Date;
  email: string;
  role: StaffRole;
  app: StaffApp;
  permissions: readonly Permission[];
}

export interface StaffUser {
  id: string;
  /** The merchant the user works for; null for the operator's staff. */
  merchantId: string | null;
  app: StaffApp;
  email: string;
  name: string | null;
  role: StaffRole;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface StaffInvitation {
  id: string;
  merchantId: string | null;
  app: StaffApp;
  email: string;
  name: string | null;
  role: StaffRole;
  invitedBy: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Session tokens: `mss_` and 43 base62 characters (256 bits). */
export const STAFF_TOKEN_PREFIX = 'mss_';
export const STAFF_TOKEN_PATTERN = /^mss_[0-9A-Za-z]{40,50}$/;
/** Invitation tokens, which travel in the link's fragment (`#invite=`), never to a server log. */
export const INVITATION_TOKEN_PATTERN = /^msi_[0-9A-Za-z]{40,50}$/;

/** A session ends 12 hours after sign-in whatever happens... */
export const STAFF_SESSION_TTL_SECONDS = 12 * 3600;
/** ...or after 30 minutes without a request. */
export const STAFF_SESSION_IDLE_SECONDS = 30 * 60;
/** Adding a passkey needs a sign-in this recent: a stolen session token alone cannot plant one. */
export const STAFF_PASSKEY_ADD_SIGN_IN_SECONDS = 10 * 60;
/** How often a session's last use is written (the idle limit is kept to within this). */
export const STAFF_SESSION_TOUCH_SECONDS = 60;
export const STAFF_INVITATION_TTL_SECONDS = 7 * 24 * 3600;
export const STAFF_CEREMONY_TTL_SECONDS = 5 * 60;
/** Passkey ceremonies (sign-in and enrollment) one client address may start per window. */
export const STAFF_CEREMONIES_PER_CLIENT_MAX = 30;
export const STAFF_CEREMONY_WINDOW_SECONDS = 15 * 60;
/** Team members and pending invitations listed at most. */
export const STAFF_LIST_MAX = 200;

/** The header that makes a staff request act on live data (`true`); test data otherwise. */
export const STAFF_LIVEMODE_HEADER = 'micropay-livemode';

export const appOf = (merchantId: string | null): StaffApp => (merchantId === null ? 'console' : 'dashboard');
