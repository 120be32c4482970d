// Refunds: every refund, newest first, filtered by status; buyers' requests waiting for the merchant
// (pending) can be approved or declined by roles with refunds:write.
import { useState } from 'react';
import { post, type Refund } from '../api.ts';
import { Badge, dateOf, Link, messageOf, Money, PagedRows, StatusFilter, useNav, usePagedList } from '../ui.tsx';

export function RefundsPage() {
  const { can } = useNav();
  const [status, setStatus] = useState('');
  const list = usePagedList<Refund>('/v1/refunds', { status: status || undefined });
  const [error, setError] = useState<string | null>(null);
  const decide = async (refund: Refund, action: 'approve' | 'decline') => {
    setError(null);
    try {
      await post(`/v1/refunds/${refund.id}/${action}`, {});
      list.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      <h1>Refunds</h1>
      <StatusFilter id="refund-status" value={status} onChange={setStatus} statuses={['pending', 'succeeded', 'failed', 'canceled']} />
      <PagedRows list={list} testId="refunds" emptyText="No refunds." error={error}>
        {(refund) => (
          <li key={refund.id} className="row">
            <span className="what">
              <Link to={`/dashboard/payments/${refund.payment}`} className="mono">{refund.payment}</Link>
            </span>
            <span className="amount">
              <Money amount={refund.amount} currency={refund.currency} />
            </span>
            <span className="muted small">
              {refund.reason.replaceAll('_', ' ')} · {refund.initiated_by}
              {refund.automatic ? ' · automatic' : ''}
            </span>
            <Badge status={refund.status} />
            <span className="muted small">{dateOf(refund.created)}</span>
            {refund.status === 'pending' && can('refunds:write') ? (
              <span className="buttons">
                <button type="button" onClick={() => decide(refund, 'approve')}>
                  Approve
                </button>
                <button type="button" onClick={() => decide(refund, 'decline')}>
                  Decline
                </button>
              </span>
            ) : (
              <span />
            )}
          </li>
        )}
      </PagedRows>
    </>
  );
}
