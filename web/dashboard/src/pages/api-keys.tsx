// API keys of the merchant in the current mode: create, roll (a new secret, the old one expiring after
// a grace period) and revoke; a new secret is shown once and never again.
import { useState, type FormEvent } from 'react';
import { get, post, type ApiKey, type List } from '../api.ts';
import { dateOf, Loading, messageOf, NoPermission, Status, SubmitRow, useAction, useLoad, useNav } from '../ui.tsx';

export function ApiKeysPage() {
  const { can } = useNav();
  const keys = useLoad(() => get<List<ApiKey>>('/v1/api_keys'), []);
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const writable = can('api_keys:write');
  // The API makes a secret write key only for a role holding everything such a key can do (owner, admin:
  // docs/api/staff.md, "API keys made by staff"); payouts and refunds are what the others lack.
  const writeKeys = can('payouts:write') && can('refunds:write');

  const act = async (key: ApiKey, action: 'roll' | 'revoke') => {
    if (action === 'revoke' && !confirm(`Revoke the key ending ${key.last4}? Requests with it fail at once.`)) return;
    setError(null);
    try {
      const body = action === 'roll' ? { expires_in_seconds: 3600 } : {};
      const result = await post<ApiKey>(`/v1/api_keys/${key.id}/${action}`, body);
      if (action === 'roll' && result.secret) setSecret({ name: result.name ?? result.id, value: result.secret });
      keys.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <>
      <h1>API keys</h1>
      {secret && <SecretOnce label={`Secret of ${secret.name}`} value={secret.value} onDone={() => setSecret(null)} />}
      {writable ? <CreateKeyForm writeKeys={writeKeys} onCreated={(key) => (setSecret({ name: key.name ?? key.id, value: key.secret ?? '' }), keys.reload())} /> : <NoPermission permission="api_keys:write" />}
      <Status error={keys.error ?? error} />
      <Loading loading={keys.loading} empty={keys.data?.data.length === 0} emptyText="No keys." />
      <ul className="rows" data-testid="api-keys">
        {keys.data?.data.map((key) => (
          <li key={key.id} className="row" data-testid={`api-key-${key.id}`}>
            <span className="what">{key.name ?? `${key.type} key`}</span>
            <span className="mono">…{key.last4}</span>
            <span className="muted small">
              {key.type} · {key.scope} · {key.livemode ? 'live' : 'test'}
            </span>
            <span className="muted small">{key.revoked ? 'revoked' : key.expires_at ? `expires ${dateOf(key.expires_at)}` : `created ${dateOf(key.created)}`}</span>
            {writable && !key.revoked ? (
              <span className="buttons">
                <button type="button" onClick={() => act(key, 'roll')}>
                  Roll
                </button>
                <button type="button" className="danger" onClick={() => act(key, 'revoke')}>
                  Revoke
                </button>
              </span>
            ) : (
              <span />
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

export function SecretOnce(props: { label: string; value: string; onDone: () => void }) {
  return (
    <section className="card secret" role="region" aria-label="New secret" data-testid="secret-once">
      <h2>{props.label}</h2>
      <p>Copy it now: it is shown only this once.</p>
      <p className="mono secret-value" data-testid="secret-value">
        {props.value}
      </p>
      <div className="buttons">
        <button type="button" onClick={() => void navigator.clipboard?.writeText(props.value)}>
          Copy
        </button>
        <button type="button" className="primary" onClick={props.onDone} data-testid="secret-done">
          I have stored it
        </button>
      </div>
    </section>
  );
}

function CreateKeyForm(props: { writeKeys: boolean; onCreated: (key: ApiKey) => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'secret' | 'publishable'>('secret');
  const [scope, setScope] = useState<'write' | 'read'>(props.writeKeys ? 'write' : 'read');
  const { error, busy, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const key = await post<ApiKey>('/v1/api_keys', { type, ...(type === 'secret' ? { scope } : {}), ...(name.trim() ? { name: name.trim() } : {}) });
      setName('');
      props.onCreated(key);
    });
  };
  return (
    <form className="card filters" onSubmit={submit} aria-label="Create a key" data-testid="create-key">
      <div>
        <label htmlFor="key-name">Name</label>
        <input id="key-name" value={name} maxLength={100} onChange={(event) => setName(event.target.value)} />
      </div>
      <div>
        <label htmlFor="key-type">Type</label>
        <select id="key-type" value={type} onChange={(event) => setType(event.target.value as 'secret' | 'publishable')}>
          <option value="secret">secret</option>
          <option value="publishable">publishable</option>
        </select>
      </div>
      {type === 'secret' && (
        <div>
          <label htmlFor="key-scope">Scope</label>
          <select id="key-scope" value={scope} onChange={(event) => setScope(event.target.value as 'write' | 'read')}>
            {props.writeKeys && <option value="write">write</option>}
            <option value="read">read</option>
          </select>
        </div>
      )}
      <SubmitRow busy={busy} testId="create-key-submit" error={error}>
        Create key
      </SubmitRow>
    </form>
  );
}
