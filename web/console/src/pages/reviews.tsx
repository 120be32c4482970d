// The review queue: reviews by status (open first), and one review with the decision behind it (its
// reasons, score, segment and every signal it saw); claim, then approve or reject with a note.
import { useState } from 'react';
import { get, send, type Decision, type Review } from '../api.ts';
import { Badge, dateOf, DetailHeader, Link, Loading, Money, MoreButton, NoPermission, Status, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

const STATUSES = ['open', 'claimed', 'approved', 'rejected', ''] as const;

export function ReviewsPage() {
  const [status, setStatus] = useState<string>('open');
  const list = usePagedList<Review>('/v1/risk/reviews', { status: status || undefined });
  return (
    <>
      <h1>Review queue</h1>
      <label className="inline">
        Status
        <select value={status} onChange={(event) => setStatus(event.target.value)} data-testid="review-status">
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {value === '' ? 'All' : value}
            </option>
          ))}
        </select>
      </label>
      <Status error={list.error} />
      <Loading loading={list.loading && list.items.length === 0} empty={list.items.length === 0} emptyText="No reviews here." />
      <ul className="rows" data-testid="reviews">
        {list.items.map((review) => (
          <li key={review.id}>
            <Link to={`/console/reviews/${encodeURIComponent(review.id)}`} className="rowlink" testId={`review-${review.id}`}>
              <span className="what">
                {review.subject_type} <span className="mono">{review.subject}</span>
              </span>
              <span className="amount">
                <Money amount={review.amount} currency={review.currency} />
              </span>
              <span className="small muted">{review.reasons.map((reason) => reason.code).join(', ') || 'no reason recorded'}</span>
              <span>
                {review.livemode ? <Badge status="live" /> : null} <Badge status={review.status} />
              </span>
            </Link>
          </li>
        ))}
      </ul>
      <MoreButton hasMore={list.hasMore} loading={list.loading} onMore={() => void list.more()} />
    </>
  );
}

function signalText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(3);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function ReviewDetailPage(props: { id: string }) {
  const { can, me } = useNav();
  const review = useLoad(() => get<Review>(`/v1/risk/reviews/${encodeURIComponent(props.id)}`), [props.id]);
  const decisionId = review.data?.risk_decision;
  const decision = useLoad(() => (decisionId ? get<Decision>(`/v1/risk/decisions/${encodeURIComponent(decisionId)}`) : Promise.resolve(null)), [decisionId]);
  const [note, setNote] = useState('');
  const { error, notice, setNotice, busy, run } = useAction();

  async function act(verb: 'claim' | 'approve' | 'reject') {
    setNotice(null);
    await run(async () => {
      const body = verb === 'claim' ? {} : note.trim() ? { note: note.trim() } : {};
      const updated = await send<Review>('POST', `/v1/risk/reviews/${encodeURIComponent(props.id)}/${verb}`, body);
      setNotice(verb === 'claim' ? 'Claimed: only you can decide it now.' : `Review ${updated.status}.`);
      review.reload();
    });
  }

  const data = review.data;
  const decidable = data && (data.status === 'open' || data.status === 'claimed');
  const signals = Object.entries(decision.data?.signals ?? {}).sort(([left], [right]) => left.localeCompare(right));
  return (
    <>
      <DetailHeader back="/console/reviews" backLabel="Review queue" title="Review" error={review.error ?? error} notice={notice} />
      <Loading loading={review.loading && !data} />
      {data ? (
        <>
          <section className="card" data-testid="review">
            <dl className="details">
              <dt>Status</dt>
              <dd data-testid="review-state">
                <Badge status={data.status} />
              </dd>
              <dt>Amount</dt>
              <dd className="amount">
                <Money amount={data.amount} currency={data.currency} />
              </dd>
              <dt>Subject</dt>
              <dd className="mono">
                {data.subject_type} {data.subject}
              </dd>
              <dt>Merchant</dt>
              <dd className="mono">{data.merchant ? <Link to={`/console/merchants/${encodeURIComponent(data.merchant)}`}>{data.merchant}</Link> : '—'}</dd>
              <dt>Buyer</dt>
              <dd className="mono">{data.buyer ?? '—'}</dd>
              <dt>Mode</dt>
              <dd>{data.livemode ? 'live' : 'test'}</dd>
              <dt>Opened</dt>
              <dd>{dateOf(data.created)}</dd>
              <dt>Claimed by</dt>
              <dd className="mono">{data.claimed_by === null ? '—' : data.claimed_by === me.id ? 'you' : data.claimed_by}</dd>
              {data.decided_at ? (
                <>
                  <dt>Decided</dt>
                  <dd>{dateOf(data.decided_at)}</dd>
                  <dt>Note</dt>
                  <dd className="pre">{data.note ?? '—'}</dd>
                </>
              ) : null}
            </dl>
          </section>
          <section className="card" aria-labelledby="reasons-heading">
            <h2 id="reasons-heading">Why it was held</h2>
            <ul className="plain" data-testid="reasons">
              {data.reasons.map((reason) => (
                <li key={reason.code}>
                  <span className="mono">{reason.code}</span>: {reason.message}
                </li>
              ))}
            </ul>
            {decision.data ? (
              <dl className="details">
                <dt>Decision</dt>
                <dd>
                  <Badge status={decision.data.decision} /> on {decision.data.action}
                </dd>
                <dt>Model score</dt>
                <dd>{decision.data.score === null ? 'no model' : decision.data.score.toFixed(4)}</dd>
                <dt>Segment</dt>
                <dd>{decision.data.segment ?? '—'}</dd>
                <dt>Shadow rules matched</dt>
                <dd>{decision.data.shadow.length === 0 ? 'none' : decision.data.shadow.map((match) => `${match.rule} v${match.version} (${match.action})`).join(', ')}</dd>
              </dl>
            ) : null}
          </section>
          {decidable ? (
            <section className="card" aria-labelledby="decide-heading">
              <h2 id="decide-heading">Decide</h2>
              {can('reviews:write') ? (
                <>
                  <p className="small muted">Approve captures the held payment (or releases the payout); reject gives the money back to the buyer and labels it fraud.</p>
                  <label htmlFor="review-note">Note (kept with the decision)</label>
                  <textarea id="review-note" value={note} maxLength={500} onChange={(event) => setNote(event.target.value)} data-testid="review-note" />
                  <div className="buttons">
                    {data.status === 'open' ? (
                      <button type="button" onClick={() => void act('claim')} disabled={busy} data-testid="claim">
                        Claim
                      </button>
                    ) : null}
                    <button type="button" className="primary" onClick={() => void act('approve')} disabled={busy} data-testid="approve">
                      Approve
                    </button>
                    <button type="button" className="danger" onClick={() => void act('reject')} disabled={busy} data-testid="reject">
                      Reject
                    </button>
                  </div>
                </>
              ) : (
                <NoPermission permission="reviews:write" />
              )}
            </section>
          ) : null}
          {signals.length > 0 ? (
            <details className="card">
              <summary>Signals the decision saw ({signals.length})</summary>
              <dl className="details small" data-testid="signals">
                {signals.map(([name, value]) => (
                  <div key={name} className="contents">
                    <dt className="mono">{name}</dt>
                    <dd>{signalText(value)}</dd>
                  </div>
                ))}
              </dl>
            </details>
          ) : null}
        </>
      ) : null}
    </>
  );
}
