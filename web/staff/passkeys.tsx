// "Your passkeys", one page shared by the dashboard and the console (docs/dashboard.md, docs/console.md):
// the signed-in person's own passkeys, whatever their role (`GET /v1/staff/passkeys`, oldest first), with
// when each was added and last used and whether it is synced; "Add a passkey" registers one more (another
// device, a security key) and "Revoke" ends one, except the last. Rows stack like every list of the apps,
// so the page fits 360 px.
import { get, send, type List } from './api.ts';
import { addStaffPasskey, type StaffPasskey } from './session.ts';
import { staffErrorMessage } from './staff-app.tsx';
import { Badge, dateOf, Loading, Status, useAction, useLoad } from './ui.tsx';

/** Why adding a passkey failed; the authenticator refusing (it holds one of the user's passkeys already) says what to do. */
function addErrorMessage(error: unknown): string {
  if ((error as { name?: string } | null)?.name === 'InvalidStateError') return 'This device already holds one of your passkeys. Add the new one on another device or a security key.';
  return staffErrorMessage(error);
}

export function PasskeysPage() {
  const passkeys = useLoad(() => get<List<StaffPasskey>>('/v1/staff/passkeys'), []);
  const { error, setError, notice, setNotice, busy, run } = useAction();

  const add = () =>
    run(async () => {
      setNotice(null);
      try {
        await addStaffPasskey();
      } catch (failure) {
        setError(addErrorMessage(failure));
        return;
      }
      setNotice('Passkey added: it signs you in from now on.');
      passkeys.reload();
    });

  const revoke = (passkey: StaffPasskey) => {
    if (!confirm(`Revoke the passkey added ${dateOf(passkey.created)}? It will no longer sign you in.`)) return;
    void run(async () => {
      setNotice(null);
      try {
        await send('POST', `/v1/staff/passkeys/${encodeURIComponent(passkey.id)}/revoke`, {});
      } catch (failure) {
        setError(staffErrorMessage(failure));
        return;
      }
      setNotice('Passkey revoked: it no longer signs you in.');
      passkeys.reload();
    });
  };

  const list = passkeys.data?.data ?? [];
  return (
    <div className="passkeys">
      <h1>Your passkeys</h1>
      <p className="muted">The passkeys you sign in with. Add one on another device or a security key before you need it; revoke one you lost. Your last passkey cannot be revoked.</p>
      <div className="buttons">
        <button type="button" className="primary" disabled={busy} onClick={() => void add()}>
          Add a passkey
        </button>
      </div>
      <Status error={passkeys.error ?? error} notice={notice} />
      <Loading loading={passkeys.loading && !passkeys.data} empty={passkeys.data !== null && list.length === 0} emptyText="No passkeys." />
      <ul className="rows" data-testid="passkeys">
        {list.map((passkey) => (
          <li key={passkey.id} className="row" data-testid={`passkey-${passkey.id}`}>
            <span className="what">Added {dateOf(passkey.created)}</span>
            <span>{passkey.device_type === 'multi_device' || passkey.backed_up ? <Badge status="synced" /> : <span className="muted small">this device only</span>}</span>
            <span className="muted small">{passkey.last_used ? `Last used ${dateOf(passkey.last_used)}` : 'Never used to sign in'}</span>
            <button type="button" className="danger" disabled={busy} aria-label={`Revoke the passkey added ${dateOf(passkey.created)}`} onClick={() => revoke(passkey)}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
