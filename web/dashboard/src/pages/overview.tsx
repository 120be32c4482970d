// Overview: the balance per currency, the balance over the last 30 days as a chart (from
// GET /v1/balance/history) and the latest payments.
import { useEffect, useState } from 'react';
import { formatAmount } from '../../../checkout/src/frame/format.ts';
import { TimeSeriesChart } from '../../../staff/charts.tsx';
import { get, type Balance, type BalanceHistory, type List, type Payment } from '../api.ts';
import { Badge, dateOf, Link, Loading, Money, Status, useLoad } from '../ui.tsx';

const DAYS = 30;

export function OverviewPage() {
  const balance = useLoad(() => get<Balance>('/v1/balance'), []);
  const payments = useLoad(() => get<List<Payment>>('/v1/payments', { limit: 5 }), []);
  const currencies = balance.data?.balances.map((entry) => entry.currency) ?? [];
  const [currency, setCurrency] = useState<string | null>(null);
  useEffect(() => {
    if (currency === null && currencies.length > 0) setCurrency(currencies[0]!);
  }, [currencies.join(','), currency]);
  const chosen = currency ?? 'USD';
  const history = useLoad(() => get<BalanceHistory>('/v1/balance/history', { currency: chosen, days: DAYS }), [chosen]);

  return (
    <>
      <h1>Overview</h1>
      <Status error={balance.error ?? payments.error ?? history.error} />
      <section aria-labelledby="balances-heading">
        <h2 id="balances-heading">Balance</h2>
        <Loading loading={balance.loading} empty={currencies.length === 0} emptyText="No balance yet: payments will show here." />
        <ul className="tiles" data-testid="balances">
          {balance.data?.balances.map((entry) => (
            <li key={entry.currency} className="card tile">
              <span className="label">{entry.currency} available</span>
              <span className="amount">
                <Money amount={entry.available} currency={entry.currency} />
              </span>
              <span className="label">
                Pending <Money amount={entry.pending} currency={entry.currency} />
              </span>
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="history-heading" data-testid="balance-chart">
        <div className="row">
          <h2 id="history-heading">Balance over {DAYS} days</h2>
          {currencies.length > 1 && (
            <label className="inline">
              Currency{' '}
              <select value={chosen} onChange={(event) => setCurrency(event.target.value)}>
                {currencies.map((code) => (
                  <option key={code}>{code}</option>
                ))}
              </select>
            </label>
          )}
        </div>
        {history.data && (
          <TimeSeriesChart
            title={`Closing balance per day, ${history.data.currency}`}
            kind="area"
            // Minor units are plotted as they are (safe integers) and only formatted for reading.
            data={history.data.days.map((day) => ({ t: day.date.slice(5), available: day.available, pending: day.pending }))}
            series={[
              { key: 'available', label: 'Available', color: '#1f4fd1' },
              { key: 'pending', label: 'Pending', color: '#a15c00' },
            ]}
            format={(value) => formatAmount(Math.round(value), history.data!.currency)}
          />
        )}
      </section>
      <section className="card" aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent payments</h2>
        <Loading loading={payments.loading} empty={payments.data?.data.length === 0} emptyText="No payments yet." />
        <ul className="rows">
          {payments.data?.data.map((payment) => (
            <li key={payment.id}>
              <Link to={`/dashboard/payments/${payment.id}`} className="rowlink">
                <span className="what">{payment.description ?? payment.id}</span>
                <span className="amount">
                  <Money amount={payment.amount} currency={payment.currency} />
                </span>
                <span className="muted small">{dateOf(payment.created)}</span>
                <Badge status={payment.status} />
              </Link>
            </li>
          ))}
        </ul>
        <Link to="/dashboard/payments">All payments</Link>
      </section>
    </>
  );
}
