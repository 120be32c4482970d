// Payments: the list with filters, and a payment's detail with its refunds and a refund form (for
// roles with refunds:write).
import { useState, type FormEvent } from 'react';
import { parseMajorAmount, toMajorDecimal } from '../../../checkout/src/frame/format.ts';
import { get, newIdempotencyKey, post, type List, type Payment, type Refund } from '../api.ts';
import { AmountAndStatus, Badge, dateOf, DetailHeader, Link, Loading, Money, NoPermission, PagedRows, Status, StatusSelect, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

const STATUSES = ['succeeded', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing', 'canceled', 'failed'];
export const REFUND_REASONS = ['requested_by_customer', 'duplicate', 'fraudulent', 'product_not_received', 'product_unacceptable', 'accidental_purchase', 'other'];

export function PaymentsPage() {
  const [status, setStatus] = useState('');
  const [customer, setCustomer] = useState('');
  const [applied, setApplied] = useState<{ status?: string; customer?: string }>({});
  const list = usePagedList<Payment>('/v1/payments', applied);
  return (
    <>
      <h1>Payments</h1>
      <form
        className="filters card"
        aria-label="Filter payments"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ status: status || undefined, customer: customer.trim() || undefined });
        }}
      >
        <StatusSelect id="payment-status" value={status} onChange={setStatus} statuses={STATUSES} />
        <div>
          <label htmlFor="payment-customer">Customer id</label>
          <input id="payment-customer" value={customer} onChange={(event) => setCustomer(event.target.value)} placeholder="cus_…" />
        </div>
        <div className="actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      <PagedRows list={list} testId="payments" emptyText="No payments match.">
        {(payment) => (
          <li key={payment.id}>
            <Link to={`/dashboard/payments/${payment.id}`} className="rowlink" testId={`payment-${payment.id}`}>
              <span className="what">{payment.description ?? payment.id}</span>
              <span className="amount">
                <Money amount={payment.amount} currency={payment.currency} />
              </span>
              <span className="muted small mono">{payment.id}</span>
              <Badge status={payment.status} />
              <span className="muted small">{dateOf(payment.created)}</span>
              {payment.amount_refunded > 0 ? (
                <span className="muted small">
                  Refunded <Money amount={payment.amount_refunded} currency={payment.currency} />
                </span>
              ) : (
                <span />
              )}
            </Link>
          </li>
        )}
      </PagedRows>
    </>
  );
}

export function PaymentDetailPage(props: { id: string }) {
  const { can } = useNav();
  const payment = useLoad(() => get<Payment>(`/v1/payments/${encodeURIComponent(props.id)}`), [props.id]);
  const refunds = useLoad(() => get<List<Refund>>('/v1/refunds', { payment: props.id, limit: 100 }), [props.id]);
  const reload = () => {
    payment.reload();
    refunds.reload();
  };
  const p = payment.data;
  return (
    <>
      <DetailHeader back="/dashboard/payments" backLabel="Payments" title="Payment" error={payment.error} />
      {p && (
        <>
          <section className="card">
            <dl className="details" data-testid="payment-details">
              <AmountAndStatus amount={p.amount} currency={p.currency} status={p.status} />
              <dt>Id</dt>
              <dd className="mono">{p.id}</dd>
              <dt>Description</dt>
              <dd>{p.description ?? '—'}</dd>
              <dt>Customer</dt>
              <dd className="mono">{p.customer ?? '—'}</dd>
              <dt>Captured</dt>
              <dd>
                <Money amount={p.amount_captured} currency={p.currency} />
              </dd>
              <dt>Refunded</dt>
              <dd data-testid="amount-refunded">
                <Money amount={p.amount_refunded} currency={p.currency} />
              </dd>
              <dt>Platform fee</dt>
              <dd>
                <Money amount={p.application_fee_amount} currency={p.currency} />
              </dd>
              <dt>Risk</dt>
              <dd>{p.risk_decision ?? '—'}</dd>
              <dt>Created</dt>
              <dd>{dateOf(p.created)}</dd>
            </dl>
            {p.line_items.length > 0 && (
              <>
                <h2>Items</h2>
                <ul className="plain">
                  {p.line_items.map((item, index) => (
                    <li key={index}>
                      {item.quantity} × {item.description} ({item.category}) <Money amount={item.unit_amount} currency={p.currency} />
                    </li>
                  ))}
                </ul>
              </>
            )}
          </section>
          <section className="card" aria-labelledby="refunds-heading">
            <h2 id="refunds-heading">Refunds</h2>
            <Loading loading={refunds.loading} empty={refunds.data?.data.length === 0} emptyText="No refunds." />
            <ul className="plain" data-testid="payment-refunds">
              {refunds.data?.data.map((refund) => (
                <li key={refund.id}>
                  <Money amount={refund.amount} currency={refund.currency} /> <Badge status={refund.status} /> {refund.reason.replaceAll('_', ' ')} · {dateOf(refund.created)}
                </li>
              ))}
            </ul>
            {p.status === 'succeeded' && p.amount_captured > p.amount_refunded ? (
              can('refunds:write') ? (
                <RefundForm payment={p} onDone={reload} />
              ) : (
                <NoPermission permission="refunds:write" />
              )
            ) : null}
          </section>
        </>
      )}
    </>
  );
}

function RefundForm(props: { payment: Payment; onDone: () => void }) {
  const { payment } = props;
  const remaining = BigInt(payment.amount_captured) - BigInt(payment.amount_refunded);
  const [open, setOpen] = useState(false);
  const [amount, setAmount] = useState(() => toMajorDecimal(remaining, payment.currency));
  const [reason, setReason] = useState('requested_by_customer');
  const { error, setError, notice, setNotice, busy, run } = useAction();
  // One key per opened form: a double submit or a retry after a lost answer refunds once.
  const [key, setKey] = useState(newIdempotencyKey);

  if (!open) {
    return (
      <>
        <Status notice={notice} />
        <button type="button" className="primary" data-testid="refund-open" onClick={() => setOpen(true)}>
          Refund
        </button>
      </>
    );
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const minor = parseMajorAmount(amount, payment.currency);
    if (minor === null || minor <= 0n) return setError(`Enter an amount like ${toMajorDecimal(remaining, payment.currency)}.`);
    if (minor > remaining) return setError(`At most ${toMajorDecimal(remaining, payment.currency)} remains refundable.`);
    await run(async () => {
      const refund = await post<Refund>('/v1/refunds', { payment: payment.id, amount: Number(minor), reason }, key);
      setNotice(`Refund ${refund.status}: ${toMajorDecimal(refund.amount, refund.currency)} ${refund.currency}.`);
      setOpen(false);
      setKey(newIdempotencyKey());
      props.onDone();
    });
  };
  return (
    <form onSubmit={submit} aria-label="Refund this payment" data-testid="refund-form">
      <label htmlFor="refund-amount">Amount ({payment.currency})</label>
      <input id="refund-amount" inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
      <label htmlFor="refund-reason">Reason</label>
      <select id="refund-reason" value={reason} onChange={(event) => setReason(event.target.value)}>
        {REFUND_REASONS.map((value) => (
          <option key={value} value={value}>
            {value.replaceAll('_', ' ')}
          </option>
        ))}
      </select>
      <Status error={error} />
      <div className="buttons">
        <button type="submit" disabled={busy} data-testid="refund-submit">
          {busy ? 'Refunding…' : 'Refund'}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
