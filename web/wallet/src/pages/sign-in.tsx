// Signing in: with a passkey, creating a wallet with a passkey, or (the passkey lost) with a one-time
// code sent by email, after which the wallet asks for a new passkey.
import { useState, type FormEvent } from 'react';
import type { CodeRequest, WalletApi } from '../api.ts';
import { signInWithPasskey, signUpWithPasskey } from '../passkeys.ts';
import { messageOf, Status } from '../ui.tsx';

export function SignIn(props: { api: WalletApi; onSignedIn: (how: 'passkey' | 'code') => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>, how: 'passkey' | 'code' = 'passkey') => {
    setBusy(true);
    setError(null);
    try {
      await action();
      await props.onSignedIn(how);
    } catch (caught) {
      setError(caught instanceof DOMException ? 'The passkey was not used. Try again, or sign in with a code.' : messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  const signUp = (event: FormEvent) => {
    event.preventDefault();
    void run(() => signUpWithPasskey(props.api, { email, ...(name.trim() ? { display_name: name.trim() } : {}) }));
  };
  return (
    <section aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Your wallet</h1>
      <p>One wallet for every shop that takes Micropay. Sign in with the passkey you made at a checkout.</p>
      <button type="button" className="primary" disabled={busy} onClick={() => void run(() => signInWithPasskey(props.api))} data-testid="sign-in">
        Sign in with passkey
      </button>
      <Status error={error} />
      <form onSubmit={signUp} className="card" aria-labelledby="sign-up-title">
        <h2 id="sign-up-title">New here? Create a wallet</h2>
        <label htmlFor="sign-up-email">Email (to recover your wallet)</label>
        <input id="sign-up-email" type="email" required autoComplete="email" value={email} onChange={(event) => setEmail(event.target.value)} />
        <label htmlFor="sign-up-name">Name (optional)</label>
        <input id="sign-up-name" autoComplete="name" value={name} onChange={(event) => setName(event.target.value)} />
        <button type="submit" disabled={busy} data-testid="sign-up">
          Create with a passkey
        </button>
      </form>
      <CodeSignIn api={props.api} busy={busy} run={run} />
    </section>
  );
}

function CodeSignIn(props: { api: WalletApi; busy: boolean; run: (action: () => Promise<void>, how: 'code') => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [request, setRequest] = useState<CodeRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const send = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      setRequest(await props.api.sendSignInCode(email.trim()));
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setSending(false);
    }
  };
  const verify = (event: FormEvent) => {
    event.preventDefault();
    if (!request) return;
    void props.run(async () => {
      props.api.remember(await props.api.verifySignInCode(request.code_request, code.trim()));
    }, 'code');
  };
  return (
    <details className="card" data-testid="recovery">
      <summary>Lost your passkey? Sign in with a code</summary>
      {request === null ? (
        <form onSubmit={(event) => void send(event)} aria-label="Send a sign-in code">
          <label htmlFor="code-email">The email of your wallet</label>
          <input id="code-email" type="email" required autoComplete="email" value={email} onChange={(event) => setEmail(event.target.value)} />
          <button type="submit" disabled={sending} data-testid="send-code">
            Send me a code
          </button>
        </form>
      ) : (
        <form onSubmit={verify} aria-label="Enter the code">
          <p role="status">
            If a wallet uses {request.sent_to}, a code is on its way there. It works for {Math.max(1, Math.round((request.expires_at * 1000 - Date.now()) / 60_000))} minutes.
          </p>
          <label htmlFor="code-value">Code</label>
          <input id="code-value" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(event) => setCode(event.target.value)} />
          <button type="submit" disabled={props.busy} data-testid="verify-code">
            Sign in
          </button>
          <button type="button" className="link" onClick={() => setRequest(null)}>
            Use another email
          </button>
        </form>
      )}
      <Status error={error} />
    </details>
  );
}
