// The signed-in frame of the dashboard and the console: until someone is signed in it shows the
// passkey sign-in (or, when the link carries `#invite=...`, the invitation with "Create a passkey");
// then a header with the user's email and role, the test/live switch and "Sign out", and the app's
// pages under it. The pages are remounted when the mode changes, so everything reloads in the new mode.
import { useCallback, useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';
import {
  getLivemode,
  getStaffMe,
  getStaffToken,
  onStaffSessionChange,
  openInvitation,
  setLivemode,
  signInWithPasskey,
  staffSignOut,
  StaffApiError,
  type StaffAppName,
  type StaffInvitationOffer,
  type StaffMe,
} from './session.ts';
import './staff.css';

export interface StaffAppProps {
  app: StaffAppName;
  title: string;
  children: (me: StaffMe) => ReactNode;
}

type View =
  | { kind: 'loading' }
  | { kind: 'sign-in'; notice?: string }
  | { kind: 'invitation'; token: string; offer: StaffInvitationOffer | null; accept: (() => Promise<void>) | null }
  | { kind: 'signed-in'; me: StaffMe };

const ROLE_NAMES: Record<string, string> = {
  owner: 'Owner',
  admin: 'Admin',
  developer: 'Developer',
  finance: 'Finance',
  support: 'Support',
  analyst: 'Analyst (read-only)',
  risk_analyst: 'Risk analyst',
  viewer: 'Viewer (read-only)',
};

export const roleName = (role: string): string => ROLE_NAMES[role] ?? role;

/** A sentence a person can act on, for any failure of a ceremony or a call. */
export function staffErrorMessage(error: unknown): string {
  if (error instanceof StaffApiError) {
    switch (error.code) {
      case 'staff_invitation_invalid':
        return 'This invitation link is not valid any more: it was used, replaced by a newer one, or revoked. Ask for a new invitation.';
      case 'staff_invitation_expired':
        return 'This invitation has expired. Ask for a new invitation.';
      case 'staff_user_exists':
        return 'You already have an account in this team. Sign in with your passkey instead.';
      case 'passkey_verification_failed':
        return 'This passkey was not accepted. Use the passkey you created for Micropay; if your account was disabled, ask an owner or admin.';
      case 'ceremony_unknown':
      case 'ceremony_expired':
        return 'The passkey request took too long or was already used. Try again.';
      case 'staff_sign_in_rate_limited':
        return 'Too many sign-in attempts from this network. Wait 15 minutes and try again.';
      case 'staff_session_invalid':
        return 'Your session has ended. Sign in again.';
      default:
        return error.message;
    }
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotAllowedError') return 'The passkey prompt was closed or timed out. Try again when you are ready.';
  if (name === 'InvalidStateError') return 'This device already holds a passkey for this account. Sign in instead.';
  if (name === 'NotSupportedError' || name === 'SecurityError') return 'This browser cannot use passkeys here. Use an up-to-date browser on this site\'s address.';
  return 'Something went wrong. Try again.';
}

/** The invitation token of the page's address (`#invite=msi_...`), removed from the address bar and history. */
function takeInvitationToken(): string | null {
  const match = /^#invite=([0-9A-Za-z_]{1,100})$/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  return match[1]!;
}

export function StaffApp({ app, title, children }: StaffAppProps) {
  const [view, setView] = useState<View>({ kind: 'loading' });
  const [livemode, setMode] = useState(getLivemode());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLElement>(null);
  const errorId = useId();

  /** Asks who is signed in; a user of the other app is told where to go and signed out here. */
  const loadMe = useCallback(async (notice?: string) => {
    if (!getStaffToken()) {
      setView({ kind: 'sign-in', ...(notice ? { notice } : {}) });
      return;
    }
    try {
      const me = await getStaffMe();
      if (me.app !== app) {
        await staffSignOut();
        const other = me.app === 'console' ? 'the operator console at /console' : 'the merchant dashboard at /dashboard';
        setView({ kind: 'sign-in', notice: `${me.email} signs in to ${other}, not here.` });
        return;
      }
      setView({ kind: 'signed-in', me });
    } catch (failure) {
      setView({ kind: 'sign-in', notice: staffErrorMessage(failure) });
    }
  }, [app]);

  useEffect(() => {
    const openFromAddress = (): boolean => {
      const token = takeInvitationToken();
      if (!token) return false;
      setError(null);
      setView({ kind: 'invitation', token, offer: null, accept: null });
      openInvitation(token).then(
        (opened) => setView({ kind: 'invitation', token, offer: opened.invitation, accept: opened.accept }),
        (failure) => setError(staffErrorMessage(failure)),
      );
      return true;
    };
    if (!openFromAddress()) void loadMe();
    // An invitation link pasted into a tab that has the app open already.
    const onHashChange = () => void openFromAddress();
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, [loadMe]);

  // A session that ends elsewhere (a 401 of any call, sign-out in another component) shows the sign-in.
  useEffect(
    () =>
      onStaffSessionChange(() => {
        setMode(getLivemode());
        setView((current) => (current.kind === 'signed-in' && !getStaffToken() ? { kind: 'sign-in', notice: 'Your session has ended. Sign in again.' } : current));
      }),
    [],
  );

  // Each screen starts at its heading, for keyboard and screen reader users.
  useEffect(() => {
    if (view.kind !== 'loading') heading.current?.focus();
  }, [view.kind]);

  async function run(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    // A notice of the last attempt (signed out, the other app) gives way to this one's outcome.
    setView((current) => (current.kind === 'sign-in' && current.notice ? { kind: 'sign-in' } : current));
    try {
      await work();
      await loadMe();
    } catch (failure) {
      setError(staffErrorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  async function retryInvitation(token: string) {
    setError(null);
    try {
      const opened = await openInvitation(token);
      setView({ kind: 'invitation', token, offer: opened.invitation, accept: opened.accept });
    } catch (failure) {
      setError(staffErrorMessage(failure));
    }
  }

  const errorBox = error ? (
    <p className="staff-error" role="alert" id={errorId}>
      {error}
    </p>
  ) : null;

  if (view.kind === 'loading') {
    return (
      <main className="staff-gate" aria-busy="true">
        <p className="staff-muted">Loading…</p>
      </main>
    );
  }

  if (view.kind === 'sign-in') {
    return (
      <main className="staff-gate">
        <section className="staff-card" aria-labelledby="staff-gate-title">
          <h1 id="staff-gate-title" ref={heading as RefObject<HTMLHeadingElement>} tabIndex={-1}>
            {title}
          </h1>
          <p className="staff-muted">Sign in with the passkey you created when you accepted your invitation.</p>
          {view.notice ? (
            <p className="staff-notice" role="status">
              {view.notice}
            </p>
          ) : null}
          {errorBox}
          <button type="button" className="staff-primary" disabled={busy} aria-describedby={error ? errorId : undefined} onClick={() => void run(signInWithPasskey)}>
            {busy ? 'Waiting for your passkey…' : 'Sign in with a passkey'}
          </button>
          <p className="staff-muted staff-small">No account yet? Ask an owner or admin of your team for an invitation link.</p>
        </section>
      </main>
    );
  }

  if (view.kind === 'invitation') {
    const { offer, accept, token } = view;
    return (
      <main className="staff-gate">
        <section className="staff-card" aria-labelledby="staff-gate-title">
          <h1 id="staff-gate-title" ref={heading as RefObject<HTMLHeadingElement>} tabIndex={-1}>
            Join {title}
          </h1>
          {offer ? (
            <dl className="staff-offer">
              <dt>Email</dt>
              <dd>{offer.email}</dd>
              <dt>Role</dt>
              <dd>{roleName(offer.role)}</dd>
            </dl>
          ) : error ? null : (
            <p className="staff-muted" aria-busy="true">
              Opening your invitation…
            </p>
          )}
          <p className="staff-muted">You will sign in with a passkey: your device's fingerprint, face or screen lock. No password.</p>
          {errorBox}
          {accept ? (
            <button type="button" className="staff-primary" disabled={busy} aria-describedby={error ? errorId : undefined} onClick={() => void run(accept).catch(() => undefined)}>
              {busy ? 'Waiting for your passkey…' : 'Create a passkey and sign in'}
            </button>
          ) : null}
          {error && offer ? (
            <button type="button" className="staff-secondary" onClick={() => void retryInvitation(token)}>
              Start again
            </button>
          ) : null}
          <button type="button" className="staff-link" onClick={() => { setError(null); setView({ kind: 'sign-in' }); }}>
            I already have a passkey: sign in
          </button>
        </section>
      </main>
    );
  }

  const { me } = view;
  return (
    <div className={`staff-shell${livemode ? ' staff-live' : ''}`}>
      <header className="staff-header">
        <span className="staff-title" ref={heading as RefObject<HTMLSpanElement>} tabIndex={-1}>
          {title}
        </span>
        <div className="staff-header-tools">
          <span className="staff-who">
            <span className="staff-email">{me.email}</span>
            <span className="staff-role">{roleName(me.role)}</span>
          </span>
          <label className="staff-mode">
            <input type="checkbox" role="switch" checked={livemode} aria-checked={livemode} onChange={(event) => setLivemode(event.target.checked)} />
            <span>{livemode ? 'Live data' : 'Test data'}</span>
          </label>
          <button type="button" className="staff-secondary" onClick={() => void staffSignOut().finally(() => setView({ kind: 'sign-in', notice: 'You are signed out.' }))}>
            Sign out
          </button>
        </div>
      </header>
      {livemode ? (
        <p className="staff-live-banner" role="status">
          You are looking at live data: changes here move real money.
        </p>
      ) : null}
      <div className="staff-content" key={livemode ? 'live' : 'test'}>
        {children({ ...me, livemode })}
      </div>
    </div>
  );
}
