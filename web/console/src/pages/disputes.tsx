// Disputes to decide: every merchant's disputes (GET /v1/disputes with the operator's session), those
// under review first, each with the merchant's evidence; decide won or lost for the merchant.
import { useState } from 'react';
import { downloadFile, get, send, type Dispute, type EvidenceFile, type List } from '../api.ts';
import { Badge, dateOf, Link, Loading, messageOf, Money, MoreButton, NoPermission, Status, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

const STATUSES = [
  ['under_review', 'Under review (evidence in)'],
  ['needs_response', 'Waiting for the merchant'],
  ['won', 'Won by the merchant'],
  ['lost', 'Lost by the merchant'],
  ['', 'All'],
] as const;

function EvidenceFiles(props: { disputeId: string }) {
  const files = useLoad(() => get<List<EvidenceFile>>(`/v1/disputes/${encodeURIComponent(props.disputeId)}/evidence_files`), [props.disputeId]);
  const [error, setError] = useState<string | null>(null);
  if (files.error || !files.data || files.data.data.length === 0) return null;
  return (
    <>
      <ul className="plain" data-testid="evidence-files">
        {files.data.data.map((file) => (
          <li key={file.id}>
            <button
              type="button"
              className="link"
              onClick={() => void downloadFile(`/v1/disputes/${encodeURIComponent(props.disputeId)}/evidence_files/${encodeURIComponent(file.id)}/content`, file.filename).catch((failure: unknown) => setError(messageOf(failure)))}
            >
              {file.filename}
            </button>{' '}
            <span className="small muted">
              {file.content_type} · {(file.size / 1024).toFixed(1)} KiB
            </span>
          </li>
        ))}
      </ul>
      <Status error={error} />
    </>
  );
}

function DisputeCard(props: { dispute: Dispute; onDecided: () => void }) {
  const { can } = useNav();
  const { dispute } = props;
  const { error, busy, run } = useAction();
  const open = dispute.status === 'needs_response' || dispute.status === 'under_review';

  async function decide(outcome: 'won' | 'lost') {
    const consequence = outcome === 'won' ? 'The hold on the merchant is released.' : "The buyer is paid back from the merchant's balance.";
    if (!confirm(`Decide ${dispute.id}: merchant ${outcome}? ${consequence}`)) return;
    await run(async () => {
      await send<Dispute>('POST', `/v1/disputes/${encodeURIComponent(dispute.id)}/decide`, { outcome });
      props.onDecided();
    });
  }

  return (
    <li className="card" data-testid={`dispute-${dispute.id}`}>
      <div className="row">
        <span className="what">
          <Money amount={dispute.amount} currency={dispute.currency} /> · {dispute.reason.replaceAll('_', ' ')}
        </span>
        <Badge status={dispute.status} />
      </div>
      <dl className="details small">
        <dt>Merchant</dt>
        <dd className="mono">
          <Link to={`/console/merchants/${encodeURIComponent(dispute.merchant)}`}>{dispute.merchant}</Link>
        </dd>
        <dt>Payment</dt>
        <dd className="mono">{dispute.payment}</dd>
        <dt>Opened</dt>
        <dd>{dateOf(dispute.created)}</dd>
        <dt>Buyer says</dt>
        <dd className="pre">{dispute.description ?? '—'}</dd>
        <dt>Evidence</dt>
        <dd>
          {dispute.evidence ? (
            <>
              <span className="pre" data-testid="evidence">
                {dispute.evidence.text}
              </span>
              {dispute.evidence.uris.length > 0 ? (
                <ul className="plain">
                  {dispute.evidence.uris.map((uri) => (
                    <li key={uri}>
                      <a href={uri} rel="noreferrer noopener" target="_blank" className="mono">
                        {uri}
                      </a>
                    </li>
                  ))}
                </ul>
              ) : null}
              <span className="muted"> (submitted {dateOf(dispute.evidence_submitted_at)})</span>
            </>
          ) : (
            <span className="muted">none yet</span>
          )}
          <EvidenceFiles disputeId={dispute.id} />
        </dd>
        {dispute.closed_at ? (
          <>
            <dt>Closed</dt>
            <dd>{dateOf(dispute.closed_at)}</dd>
          </>
        ) : null}
      </dl>
      <Status error={error} />
      {open ? (
        can('disputes:decide') ? (
          <div className="buttons">
            <button type="button" onClick={() => void decide('won')} disabled={busy} data-testid="decide-won">
              Merchant won
            </button>
            <button type="button" className="danger" onClick={() => void decide('lost')} disabled={busy} data-testid="decide-lost">
              Merchant lost
            </button>
          </div>
        ) : (
          <NoPermission permission="disputes:decide" />
        )
      ) : null}
    </li>
  );
}

export function DisputesPage() {
  const [status, setStatus] = useState<string>('under_review');
  const [notice, setNotice] = useState<string | null>(null);
  const list = usePagedList<Dispute>('/v1/disputes', { status: status || undefined });
  return (
    <>
      <h1>Disputes</h1>
      <label className="inline">
        Show
        <select value={status} onChange={(event) => setStatus(event.target.value)} data-testid="dispute-status">
          {STATUSES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <Status error={list.error} notice={notice} />
      <Loading loading={list.loading && list.items.length === 0} empty={list.items.length === 0} emptyText="No disputes here." />
      <ul className="rows" data-testid="disputes">
        {list.items.map((dispute) => (
          <DisputeCard
            key={dispute.id}
            dispute={dispute}
            onDecided={() => {
              setNotice(`Dispute ${dispute.id} decided.`);
              list.reload();
            }}
          />
        ))}
      </ul>
      <MoreButton hasMore={list.hasMore} loading={list.loading} onMore={() => void list.more()} />
    </>
  );
}
