// The buyer's devices (signing one out) and passkeys (adding one, removing one but the last). Adding a
// passkey needs a sign-in of the last 10 minutes (`buyer_sign_in_too_old`), not one a merchant's code
// opened (`buyer_session_merchant_bound`): the page then offers to sign in again.
import { useCallback, useEffect, useState } from 'react';
import { WalletApiError, type Device, type Passkey, type WalletApi } from '../api.ts';
import { addPasskey } from '../passkeys.ts';
import { dateOf, messageOf, Status } from '../ui.tsx';

export function Devices(props: { api: WalletApi; onSignedOut: () => Promise<void>; onPasskeyAdded: () => void }) {
  const { api } = props;
  const [devices, setDevices] = useState<Device[]>([]);
  const [passkeys, setPasskeys] = useState<Passkey[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Adding a passkey was refused until the buyer signs in again.
  const [signInAgain, setSignInAgain] = useState(false);
  const load = useCallback(async () => {
    try {
      const [deviceList, passkeyList] = await Promise.all([api.devices(), api.passkeys()]);
      setDevices(deviceList.data);
      setPasskeys(passkeyList.data);
    } catch (caught) {
      setError(messageOf(caught));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);
  const act = async (action: () => Promise<unknown>, done: string | null, signsOut = false) => {
    setError(null);
    setNotice(null);
    setSignInAgain(false);
    try {
      await action();
      if (signsOut) {
        api.forget();
        await props.onSignedOut();
        return;
      }
      await load();
      setNotice(done);
    } catch (caught) {
      if (caught instanceof WalletApiError && (caught.error.code === 'buyer_sign_in_too_old' || caught.error.code === 'buyer_session_merchant_bound')) {
        setError('For your safety, a passkey can only be added just after signing in here: sign in again, then add it within 10 minutes.');
        setSignInAgain(true);
        return;
      }
      setError(caught instanceof DOMException ? 'The passkey was not created. Try again.' : messageOf(caught));
    }
  };
  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      <ul className="entries" data-testid="devices">
        {devices.map((device) => (
          <li key={device.id} className="entry device" data-testid={`device-${device.id}`}>
            <span className="what">
              {device.name}
              {device.current ? <strong data-testid="current-device"> (this device)</strong> : null}
            </span>
            <span className="merchant">{device.revoked ? 'Signed out' : `Last seen ${dateOf(device.last_seen)}`}</span>
            {device.revoked ? null : (
              <button type="button" className="link" onClick={() => void act(() => api.revokeDevice(device.id), `${device.name} is signed out.`, device.current)} aria-label={`Sign out ${device.name}`} data-testid="revoke-device">
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <h2>Passkeys</h2>
      <ul className="entries" data-testid="passkeys">
        {/* Listed newest first, numbered in the order they were added (passkey 1 is the oldest). */}
        {passkeys.map((passkey, position) => {
          const index = passkeys.length - 1 - position;
          return (
            <li key={passkey.id} className="entry">
              <span className="what">
                Passkey {index + 1} {passkey.backed_up ? '(synced)' : '(this device only)'}
              </span>
              <span className="merchant">
                Added {dateOf(passkey.created)}
                {passkey.last_used ? ` · last used ${dateOf(passkey.last_used)}` : ''}
              </span>
              <button type="button" className="link" disabled={passkeys.length <= 1} onClick={() => void act(() => api.removePasskey(passkey.id), 'The passkey is removed.')} aria-label={`Remove passkey ${index + 1}`} data-testid="remove-passkey">
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      {passkeys.length === 0 ? <p data-testid="no-passkeys">You have no passkey: add one to sign in and pay with a touch.</p> : null}
      <button
        type="button"
        className="primary"
        onClick={() =>
          void act(async () => {
            await addPasskey(api);
            props.onPasskeyAdded();
          }, 'Passkey added. You can sign in with it from now on.')
        }
        data-testid="add-passkey"
      >
        Add a passkey
      </button>{' '}
      <button type="button" onClick={() => void act(() => api.signOut(), null, true)} data-testid="sign-out">
        Sign out
      </button>
      {signInAgain ? (
        <>
          {' '}
          <button type="button" className="primary" onClick={() => void act(() => api.signOut(), null, true)} data-testid="sign-in-again">
            Sign in again
          </button>
        </>
      ) : null}
      <Status error={error} notice={notice} />
    </section>
  );
}
