// Webhook endpoints: the list, a new endpoint (its signing secret shown once), and an endpoint's
// delivery log with a replay of any delivery (roles with webhooks:write).
import { useState, type FormEvent } from 'react';
import { get, post, remove, type List, type WebhookDelivery, type WebhookEndpoint } from '../api.ts';
import { Badge, dateOf, DetailHeader, Link, Loading, messageOf, NoPermission, PagedRows, Status, StatusFilter, SubmitRow, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';
import { SecretOnce } from './api-keys.tsx';

export function WebhooksPage() {
  const { can } = useNav();
  const endpoints = useLoad(() => get<List<WebhookEndpoint>>('/v1/webhook_endpoints', { limit: 100 }), []);
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <>
      <h1>Webhooks</h1>
      {secret && <SecretOnce label="Signing secret of the new endpoint" value={secret} onDone={() => setSecret(null)} />}
      {can('webhooks:write') ? (
        <EndpointForm
          onCreated={(endpoint) => {
            setSecret(endpoint.secret ?? '');
            endpoints.reload();
          }}
        />
      ) : (
        <NoPermission permission="webhooks:write" />
      )}
      <Status error={endpoints.error} />
      <Loading loading={endpoints.loading} empty={endpoints.data?.data.length === 0} emptyText="No endpoints yet." />
      <ul className="rows" data-testid="webhook-endpoints">
        {endpoints.data?.data.map((endpoint) => (
          <li key={endpoint.id}>
            <Link to={`/dashboard/webhooks/${endpoint.id}`} className="rowlink" testId={`endpoint-${endpoint.id}`}>
              <span className="what mono">{endpoint.url}</span>
              <Badge status={endpoint.status} />
              <span className="muted small">{endpoint.enabled_events.join(', ')}</span>
              <span className="muted small">{endpoint.description ?? ''}</span>
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}

function EndpointForm(props: { onCreated: (endpoint: WebhookEndpoint) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const { error, busy, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const enabled = events.split(/[\s,]+/).filter(Boolean);
      const endpoint = await post<WebhookEndpoint>('/v1/webhook_endpoints', { url: url.trim(), enabled_events: enabled });
      setUrl('');
      props.onCreated(endpoint);
    });
  };
  return (
    <form className="card filters" onSubmit={submit} aria-label="Add an endpoint">
      <div className="wide">
        <label htmlFor="endpoint-url">URL (https)</label>
        <input id="endpoint-url" type="url" required value={url} onChange={(event) => setUrl(event.target.value)} placeholder="https://example.com/webhooks" />
      </div>
      <div className="wide">
        <label htmlFor="endpoint-events">Events (comma separated; * for all, payment.* for a prefix)</label>
        <input id="endpoint-events" value={events} onChange={(event) => setEvents(event.target.value)} />
      </div>
      <SubmitRow busy={busy} error={error}>
        Add endpoint
      </SubmitRow>
    </form>
  );
}

export function WebhookEndpointPage(props: { id: string }) {
  const { can, navigate } = useNav();
  const endpoint = useLoad(() => get<WebhookEndpoint>(`/v1/webhook_endpoints/${encodeURIComponent(props.id)}`), [props.id]);
  const [status, setStatus] = useState('');
  const deliveries = usePagedList<WebhookDelivery>(`/v1/webhook_endpoints/${encodeURIComponent(props.id)}/deliveries`, { status: status || undefined });
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const replay = async (delivery: WebhookDelivery) => {
    setError(null);
    setNotice(null);
    try {
      await post<WebhookDelivery>(`/v1/webhook_deliveries/${delivery.id}/retry`, {});
      setNotice(`Replayed ${delivery.event_type}: it is sent again now; the log shows the new attempt.`);
      deliveries.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      <DetailHeader back="/dashboard/webhooks" backLabel="Webhooks" title="Endpoint" error={endpoint.error} />
      {endpoint.data && can('webhooks:write') && <EndpointActions endpoint={endpoint.data} onChanged={endpoint.reload} onDeleted={() => navigate('/dashboard/webhooks')} />}
      {endpoint.data && (
        <section className="card">
          <dl className="details">
            <dt>URL</dt>
            <dd className="mono">{endpoint.data.url}</dd>
            <dt>Status</dt>
            <dd>
              <Badge status={endpoint.data.status} /> {endpoint.data.disabled_reason ?? ''}
            </dd>
            <dt>Events</dt>
            <dd>{endpoint.data.enabled_events.join(', ')}</dd>
            <dt>Created</dt>
            <dd>{dateOf(endpoint.data.created)}</dd>
          </dl>
        </section>
      )}
      <h2>Delivery log</h2>
      <StatusFilter id="delivery-status" value={status} onChange={setStatus} statuses={['pending', 'succeeded', 'failed']} />
      <PagedRows list={deliveries} testId="deliveries" emptyText="No deliveries yet." error={error} notice={notice}>
        {(delivery) => (
          <li key={delivery.id} className="row" data-testid={`delivery-${delivery.id}`}>
            <span className="what">{delivery.event_type}</span>
            <Badge status={delivery.in_flight ? 'sending' : delivery.status} />
            <span className="muted small">
              {delivery.attempts} attempt{delivery.attempts === 1 ? '' : 's'}
              {delivery.response_status ? ` · HTTP ${delivery.response_status}` : ''}
              {delivery.latency_ms !== null ? ` · ${delivery.latency_ms} ms` : ''}
            </span>
            <span className="muted small">{dateOf(delivery.last_attempt ?? delivery.created)}</span>
            <span className="error small">{delivery.error ?? ''}</span>
            {can('webhooks:write') ? (
              <button type="button" onClick={() => replay(delivery)} data-testid={`replay-${delivery.id}`}>
                Replay
              </button>
            ) : (
              <span />
            )}
          </li>
        )}
      </PagedRows>
    </>
  );
}

function EndpointActions(props: { endpoint: WebhookEndpoint; onChanged: () => void; onDeleted: () => void }) {
  const { endpoint } = props;
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const enabled = endpoint.status === 'enabled';
  return (
    <>
      {secret && <SecretOnce label="New signing secret (the previous one keeps signing for 24 hours)" value={secret} onDone={() => setSecret(null)} />}
      <Status error={error} />
      <div className="buttons" data-testid="endpoint-actions">
        <button type="button" onClick={() => run(async () => (await post(`/v1/webhook_endpoints/${endpoint.id}`, { disabled: enabled }), props.onChanged()))}>
          {enabled ? 'Disable' : 'Enable'}
        </button>
        <button
          type="button"
          onClick={() =>
            run(async () => {
              const rotated = await post<WebhookEndpoint>(`/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, {});
              setSecret(rotated.secret ?? '');
            })
          }
        >
          Rotate secret
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => {
            if (confirm(`Delete the endpoint ${endpoint.url}? Its deliveries stop.`)) void run(async () => (await remove(`/v1/webhook_endpoints/${endpoint.id}`), props.onDeleted()));
          }}
        >
          Delete
        </button>
      </div>
    </>
  );
}
