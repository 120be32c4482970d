// Team: the merchant's staff users and pending invitations; owners and admins invite people by email
// and get a link to send them (shown once).
import { useState, type FormEvent } from 'react';
import { get, post, type List, type StaffUser } from '../api.ts';
import { dateOf, Loading, messageOf, NoPermission, Status, SubmitRow, useAction, useLoad, useNav } from '../ui.tsx';
import { SecretOnce } from './api-keys.tsx';

const ROLES = ['owner', 'admin', 'developer', 'finance', 'support', 'analyst'];

export function TeamPage() {
  const { can, me } = useNav();
  const [error, setError] = useState<string | null>(null);
  const change = async (user: StaffUser, action: { role: string } | 'disable') => {
    setError(null);
    try {
      if (action === 'disable') {
        if (!confirm(`Disable ${user.email}? Their sessions end at once.`)) return;
        await post(`/v1/staff/users/${user.id}/disable`, {});
      } else {
        await post(`/v1/staff/users/${user.id}/role`, action);
      }
      users.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const users = useLoad(() => get<List<StaffUser & { disabled?: boolean }>>('/v1/staff/users'), []);
  const [link, setLink] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const invited = (invitation: Invitation) => {
    setLink(invitation.url);
    setNotice(invitation.emailed ? `The link was emailed to ${invitation.email}.` : `Send the link to ${invitation.email} yourself: no email gateway is configured.`);
    users.reload();
  };
  return (
    <>
      <h1>Team</h1>
      {link && <SecretOnce label="Invitation link" value={link} onDone={() => (setLink(null), setNotice(null))} />}
      {can('team:write') ? <InviteForm owners={can('team:owners')} onInvited={invited} /> : <NoPermission permission="team:write" />}
      <Status error={users.error ?? error} notice={notice} />
      <Loading loading={users.loading} empty={users.data?.data.length === 0} />
      <ul className="rows" data-testid="team">
        {users.data?.data.map((user) => (
          <li key={user.id} className="row">
            <span className="what">{user.name ?? user.email}</span>
            <span className="muted">{user.role}</span>
            <span className="muted small">{user.email}</span>
            <span className="muted small">{user.disabled ? 'disabled' : `since ${dateOf(user.created)}`}</span>
            {can('team:write') && !user.disabled && user.id !== me.id && (user.role !== 'owner' || can('team:owners')) ? (
              <span className="buttons wide-row">
                <label className="inline">
                  Role{' '}
                  <select value={user.role} onChange={(event) => void change(user, { role: event.target.value })}>
                    {ROLES.filter((name) => can('team:owners') || name !== 'owner').map((name) => (
                      <option key={name}>{name}</option>
                    ))}
                  </select>
                </label>
                <button type="button" className="danger" onClick={() => void change(user, 'disable')}>
                  Disable
                </button>
              </span>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The answer of an invitation: its link (shown once) and whether the server emailed it. */
interface Invitation {
  url: string;
  email: string;
  emailed?: boolean;
}

function InviteForm(props: { owners: boolean; onInvited: (invitation: Invitation) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('analyst');
  const { error, busy, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const invitation = await post<Invitation>('/v1/staff/invitations', { email: email.trim(), role });
      setEmail('');
      props.onInvited(invitation);
    });
  };
  return (
    <form className="card filters" onSubmit={submit} aria-label="Invite a person">
      <div className="wide">
        <label htmlFor="invite-email">Email</label>
        <input id="invite-email" type="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
      </div>
      <div>
        <label htmlFor="invite-role">Role</label>
        <select id="invite-role" value={role} onChange={(event) => setRole(event.target.value)}>
          {ROLES.filter((name) => props.owners || name !== 'owner').map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      </div>
      <SubmitRow busy={busy} error={error}>
        Invite
      </SubmitRow>
    </form>
  );
}
